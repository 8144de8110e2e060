import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.augment import (
    AdaptiveEdgeDrop,
    CommunalEdgeDrop,
    Compose,
    EdgeDrop,
    FeatureMask,
    Identity,
    RandomChoice,
    edge_drop_rate,
    edge_droppers,
)


def two_triangles():
    """Triangles {0,1,2} and {3,4,5} joined by the edge 2-3 (14 entries)."""
    ei = to_undirected(torch.tensor([[0, 0, 1, 3, 3, 4, 2], [1, 2, 2, 4, 5, 5, 3]]))
    return Data(x=torch.rand(6, 4), edge_index=ei, num_nodes=6)


COMM = torch.tensor([0, 0, 0, 1, 1, 1])


def test_uniform_and_per_edge_rates():
    data = two_triangles()
    assert edge_drop_rate(EdgeDrop(0.3)) == 0.3
    assert edge_drop_rate(Compose([FeatureMask(0.2), EdgeDrop(0.4)]), data) == 0.4
    ced = CommunalEdgeDrop(0.2).fit(data, COMM)
    rate = edge_drop_rate(Compose([Compose([ced]), FeatureMask(0.1)]), data)
    assert torch.equal(rate, 1.0 - ced.keep_prob_.float())
    assert rate is ced.drop_probabilities()  # cached
    # The bridge 2-3 (and 3-2) is dropped first; entry order is edge_index's.
    bridge = (COMM[data.edge_index[0]] != COMM[data.edge_index[1]])
    assert bool((rate[bridge] == 1.0).all()) and bool((rate[~bridge] < 1).all())
    ada = AdaptiveEdgeDrop(0.3, threshold=0.7).fit(data)
    assert torch.equal(edge_drop_rate(ada, data), ada.drop_probabilities())


def test_errors():
    data = two_triangles()
    assert edge_droppers(Identity()) == []
    with pytest.raises(TypeError, match="0 edge-dropping"):
        edge_drop_rate(FeatureMask(0.2))
    with pytest.raises(TypeError, match="2 edge-dropping"):
        edge_drop_rate(Compose([EdgeDrop(0.1), EdgeDrop(0.2)]))
    with pytest.raises(TypeError, match="at random"):
        edge_drop_rate(RandomChoice([EdgeDrop(0.1), Identity()]))
    assert edge_droppers(RandomChoice([FeatureMask(0.1), Identity()])) == []
    with pytest.raises(RuntimeError, match="fit"):
        edge_drop_rate(CommunalEdgeDrop(0.2))
    with pytest.raises(RuntimeError, match="fit"):
        edge_drop_rate(AdaptiveEdgeDrop(0.2))
    ced = CommunalEdgeDrop(0.2).fit(data, COMM)
    other = Data(x=data.x, edge_index=data.edge_index[:, :-2], num_nodes=6)
    with pytest.raises(ValueError, match="fitted on a graph with 14"):
        edge_drop_rate(ced, other)
