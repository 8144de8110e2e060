import pytest
import torch

import gcl
from gcl.augment import EdgeDrop, Identity
from gcl.losses import pot_loss, principle_direction
from gcl.methods import GRACE, GRACEPOT, METHODS, POT, Method
from gcl.methods.pot import edge_drop_rates, node_batch
from gcl.nn import GCNEncoder
from gcl.nn.bounds import compactness_score, edge_drop_bounds


def small_graph():
    import random

    from torch_geometric.datasets import FakeDataset
    random.seed(0)  # FakeDataset draws its size from Python's RNG
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=60, num_channels=8,
                       num_classes=3)[0]


def grace(data, activation="prelu", drop_feature=(0.0, 0.0)):
    return GRACE.from_config(data.num_features, 8, 8, activation=activation,
                             drop_edge=(0.4, 0.3), drop_feature=drop_feature,
                             tau=0.9)


def test_node_batch_is_the_official_get_batch():
    nodes = torch.arange(10)
    # 10 nodes, batch 4: 3 batches; epoch e takes batch e % 3, the last short.
    assert node_batch(nodes, 4, 0).tolist() == [0, 1, 2, 3]
    assert node_batch(nodes, 4, 1).tolist() == [4, 5, 6, 7]
    assert node_batch(nodes, 4, 2).tolist() == [8, 9]
    assert node_batch(nodes, 4, 3).tolist() == [0, 1, 2, 3]
    assert node_batch(nodes, 20, 5).tolist() == list(range(10))


def test_step_equals_composed_parts():
    data = small_graph()
    m = POT(grace(data), kappa=0.4)
    m.set_epoch(1)
    torch.manual_seed(3)
    loss = m(data)
    torch.manual_seed(3)
    base, views, zs = m.base.forward_views(data)
    b1 = edge_drop_bounds(data.edge_index, data.num_nodes, 0.4)
    b2 = edge_drop_bounds(data.edge_index, data.num_nodes, 0.3)
    s1 = compactness_score(m.encoder, data.x, b1, principle_direction(zs[1]),
                           "official", None, views[0].edge_index)
    s2 = compactness_score(m.encoder, data.x, b2, principle_direction(zs[0]),
                           "official", None, views[1].edge_index)
    ref = 0.6 * base + 0.4 * pot_loss([s1, s2])
    assert torch.allclose(loss, ref)


def test_kappa_zero_is_the_base_method_with_the_same_rng():
    data = small_graph()
    g = grace(data)
    torch.manual_seed(5)
    ref = g(data)
    torch.manual_seed(5)
    assert torch.equal(POT(g, kappa=0.0)(data), ref)
    # With an NCE batch, the baseline draws the same batch as GRACE+POT.
    a, b = POT(g, kappa=0.0, nce_batch=20), POT(g, kappa=0.5, nce_batch=20)
    for m in (a, b):
        m.set_epoch(2)
    torch.manual_seed(6)
    nce_a, _ = a.batches(data.num_nodes, data.x.device)
    torch.manual_seed(6)
    nce_b, pot_b = b.batches(data.num_nodes, data.x.device)
    assert torch.equal(nce_a, nce_b) and torch.equal(pot_b, nce_b)
    assert nce_a.numel() == min(20, data.num_nodes - 40)  # batch 2 of 3


def test_batches_restrict_both_terms():
    data = small_graph()
    m = POT(grace(data), kappa=0.5, nce_batch=30, pot_batch=8)
    n_batches = (data.num_nodes - 1) // 30 + 1
    m.set_epoch(n_batches)  # NCE batch 0 (30 nodes); POT batch n % 4 of it
    nce, pot = m.batches(data.num_nodes, data.x.device)
    assert nce.numel() == 30
    assert pot.numel() == len(range(30)[(n_batches % 4) * 8:][:8])
    assert set(pot.tolist()) <= set(nce.tolist())
    assert torch.isfinite(m(data))


@pytest.mark.parametrize("mode", ["official", "sound"])
def test_fit_gives_finite_losses_and_gradients(mode):
    data = small_graph()
    m = POT(grace(data), kappa=0.4, mode=mode, pot_batch=25)
    hist = gcl.fit(m, data, epochs=3, lr=1e-3, seed=0, progress=False,
                   device="cpu")
    assert len(hist.loss) == 3 and all(torch.isfinite(torch.tensor(hist.loss)))
    m.train()
    m.set_epoch(1)
    m(data).backward()
    prelu = m.encoder.activation.weight
    assert prelu.grad is not None and torch.isfinite(prelu.grad).all()
    assert m.encoder.convs[0].lin.weight.grad.abs().sum() > 0
    z = m.embed(data)
    assert torch.equal(z, m.base.embed(data))


def test_bounds_are_cached_per_graph_and_rate():
    data = small_graph()
    m = POT(grace(data), kappa=0.4)
    m.prepare(data)
    first = m.bounds(data)
    assert all(a is b for a, b in zip(first, m.bounds(data)))
    other = data.clone()
    other.edge_index = data.edge_index[:, :-2]
    assert m.bounds(other)[0] is not first[0]
    m.base.augmentors[0].augmentors[0].p = 0.1  # a new rate: new bounds
    assert m.bounds(other)[0].budget.sum() < first[0].budget.sum()


def test_edge_drop_rates_and_plug_in_interface():
    data = small_graph()
    assert edge_drop_rates(grace(data)) == [0.4, 0.3]

    class Rated(GRACE):
        def pot_drop_rates(self, data):
            return [torch.full((data.num_edges,), 0.2), 0.5]

    r = Rated(GCNEncoder(data.num_features, 8), 8,
              [Identity(), Identity()])
    m = POT(r, kappa=0.5)  # per-edge rates come from the hook
    assert torch.isfinite(m(data))
    assert m.bounds(data)[0].budget.sum() > 0

    class NoViews(Method):
        encoder = GCNEncoder(4, 2)

    with pytest.raises(TypeError, match="forward_views"):
        POT(NoViews())
    with pytest.raises(TypeError, match="EdgeDrop"):
        POT(GRACE(GCNEncoder(8, 4), 4, [Identity(), Identity()]))
    with pytest.raises(ValueError, match="ELU"):
        POT(grace(data, activation="elu"))
    g3 = GRACE(GCNEncoder(8, 4, num_layers=3), 4,
               [EdgeDrop(0.2), EdgeDrop(0.2)])
    with pytest.raises(ValueError, match="2 GCN layers"):
        POT(g3)
    with pytest.raises(ValueError, match="kappa"):
        POT(grace(data), kappa=1.5)
    with pytest.raises(ValueError, match="mode"):
        POT(grace(data), mode="exact")
    with pytest.warns(UserWarning, match="clean features"):
        POT(grace(data, drop_feature=(0.2, 0.0)))
    weighted = data.clone()
    weighted.edge_weight = torch.ones(data.num_edges)
    with pytest.raises(ValueError, match="edge_weight"):
        POT(grace(data))(weighted)


def test_registry_and_from_config():
    assert METHODS["pot"] is POT and METHODS["grace_pot"] is GRACEPOT
    from gcl.methods import build_method

    cfg = {"method": "pot", "model": {"base": "grace", "kappa": 0.4,
                                      "hidden_channels": 8, "proj_channels": 8,
                                      "drop_edge": [0.4, 0.3],
                                      "drop_feature": [0.0, 0.0]}}
    m = build_method(cfg["method"], 8, **cfg["model"])
    assert isinstance(m, POT) and isinstance(m.base, GRACE) and m.kappa == 0.4
    m2 = build_method("grace_pot", 8, **cfg["model"])
    assert isinstance(m2, POT)  # the alias builds the method it names
    with pytest.raises(ValueError, match="unknown POT base"):
        POT.from_config(8, base="pot")
    with pytest.raises(ValueError, match="grace_pot wraps GRACE"):
        GRACEPOT.from_config(8, base="other")
    assert "kappa=0.4" in repr(m)
