import pytest
import torch

from gcl.analysis import node_compactness, plot_compactness
from gcl.losses import principle_direction
from gcl.methods import GRACE, POT
from gcl.nn.bounds import compactness_score, edge_drop_bounds


def small_graph():
    import random

    from torch_geometric.datasets import FakeDataset
    random.seed(0)  # FakeDataset draws its size from Python's RNG
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=50, num_channels=6,
                       num_classes=3)[0]


def grace(data, activation="relu"):
    return GRACE.from_config(data.num_features, 8, 8, activation=activation,
                             drop_edge=(0.4, 0.3), drop_feature=(0.0, 0.0))


def test_node_compactness_is_the_bound_at_the_clean_embeddings():
    data = small_graph()
    g = grace(data).train()
    c = node_compactness(g, data, mode="sound")
    assert c.shape == (data.num_nodes,) and g.training  # mode restored
    z = g.embed(data)
    w = principle_direction(z)
    b = edge_drop_bounds(data.edge_index, data.num_nodes, 0.4)
    with torch.no_grad():
        ref = compactness_score(g.encoder, data.x, b, w, "sound")
    assert torch.allclose(c, ref)
    # The clean graph is an admissible view: the bound lies below its score.
    assert (c <= (w * z).sum(1) + 1e-5).all()
    # Rate of view 2, an explicit rate, the POT wrapper and the official mode.
    assert torch.allclose(node_compactness(g, data, view=1, mode="sound"),
                          node_compactness(g, data, rate=0.3, mode="sound"))
    assert torch.allclose(node_compactness(POT(g, kappa=0.5), data, mode="sound"), c)
    off = node_compactness(g, data)  # default: the official bound
    with torch.no_grad():
        ref_off = compactness_score(g.encoder, data.x, b, w, "official", None,
                                    data.edge_index)
    assert torch.allclose(off, ref_off)


def test_errors_and_plot(tmp_path):
    data = small_graph()
    with pytest.raises(ValueError, match="ELU"):
        node_compactness(grace(data, "elu"), data)
    with pytest.raises(TypeError, match="encoder"):
        node_compactness(torch.nn.Linear(2, 2), data)
    with pytest.raises(ValueError, match="view"):
        node_compactness(grace(data), data, view=2)
    fig = plot_compactness({"GRACE": torch.randn(50), "GRACE+POT": torch.randn(50) + 1},
                           tmp_path / "c.png", title="t")
    assert (tmp_path / "c.png").stat().st_size > 0 and fig is not None
    with pytest.raises(ValueError):
        plot_compactness({})
