import random

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.community import detect, undirected_pairs


def two_cliques_and_isolated():
    """Two 5-cliques joined by one edge, plus two isolated nodes (10, 11)."""
    a = torch.combinations(torch.arange(5)).t()
    ei = torch.cat([a, a + 5, torch.tensor([[4], [5]])], dim=1)
    return Data(edge_index=to_undirected(ei), num_nodes=12)


def random_graph(n=300, e=1200, seed=0):
    g = torch.Generator().manual_seed(seed)
    return Data(edge_index=to_undirected(torch.randint(0, n, (2, e), generator=g)),
                num_nodes=n)


def test_undirected_pairs_by_hand():
    ei = torch.tensor([[0, 1, 1, 2, 2, 3, 3], [1, 0, 0, 2, 3, 2, 0]])
    # (0,1) three times, a self-loop (2,2), (2,3) both ways, (3,0) one way.
    assert undirected_pairs(ei, 4).tolist() == [[0, 0, 2, 2], [1, 3, 2, 3]]


@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_cliques_found_isolated_alone_contiguous(method):
    c = detect(two_cliques_and_isolated(), method)
    assert c.dtype == torch.long and c.shape == (12,)
    assert sorted(c.unique().tolist()) == list(range(int(c.max()) + 1))
    assert len(set(c[:5].tolist())) == 1 and len(set(c[5:10].tolist())) == 1
    assert c[0] != c[5]
    assert len({int(c[0]), int(c[5]), int(c[10]), int(c[11])}) == 4


@pytest.mark.parametrize("method", ["leiden", "louvain"])
def test_seeded_runs_repeat_and_leave_global_rng(method):
    data = random_graph()
    state = random.getstate()
    a = detect(data, method, seed=3)
    assert random.getstate() == state
    assert torch.equal(a, detect(data, method, seed=3))
    # different seeds may give different (equally valid) partitions
    assert detect(data, method, seed=4).shape == a.shape


def test_directed_entries_are_symmetrised_and_edge_index_input():
    data = random_graph()
    ei = data.edge_index
    one_way = ei[:, ei[0] <= ei[1]]  # self-loops kept
    dup = torch.cat([ei, ei], dim=1)
    ref = detect(data, seed=1)
    assert torch.equal(detect(one_way, seed=1, num_nodes=300), ref)
    assert torch.equal(detect(dup, seed=1, num_nodes=300), ref)


def test_resolution_and_iterations():
    data = random_graph(seed=1)
    k1 = int(detect(data, resolution=1.0).max()) + 1
    k5 = int(detect(data, resolution=5.0).max()) + 1
    assert k5 > k1
    c = detect(data, n_iterations=-1)
    assert c.shape == (300,)
    kl = int(detect(data, "louvain", resolution=5.0).max()) + 1
    assert kl > int(detect(data, "louvain").max()) + 1


def test_errors():
    data = two_cliques_and_isolated()
    with pytest.raises(ValueError, match="unknown community detection"):
        detect(data, "girvan_newman")
    with pytest.raises(ValueError, match="resolution"):
        detect(data, resolution=0.0)
    with pytest.raises(ValueError, match="n_iterations"):
        detect(data, n_iterations=0)
    with pytest.raises(ValueError, match="refers to node 20"):
        detect(torch.tensor([[0, 20], [1, 2]]), num_nodes=5)
    with pytest.raises(ValueError, match=r"\[2, E\]"):
        detect(torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="no nodes"):
        detect(Data(edge_index=torch.zeros(2, 0, dtype=torch.long), num_nodes=0))
    with pytest.raises(TypeError, match="Data"):
        detect([[0, 1], [1, 0]])
