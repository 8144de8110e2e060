"""POT around CSGCL and gCooL: the step record, values and configs."""

import math
import warnings

import pytest
import torch

import gcl
import gcl.methods.pot as pot_module
from gcl.app.config import load_config
from gcl.augment import (
    AdaptiveEdgeDrop,
    CommunalEdgeDrop,
    drop_probabilities,
    edge_drop_weights,
)
from gcl.datasets import load
from gcl.losses import pot_loss, principle_direction, team_up_loss
from gcl.methods import CSGCL, GCOOL, GRACE, POT, build_method
from gcl.nn import GCNEncoder
from gcl.nn.bounds import compactness_score, edge_drop_bounds

POT_KEYS = {"base", "kappa", "mode", "pot_batch", "nce_batch"}


def small_graph():
    import random

    from torch_geometric.datasets import FakeDataset
    random.seed(0)  # FakeDataset draws its size from Python's RNG
    torch.manual_seed(0)
    return FakeDataset(num_graphs=1, avg_num_nodes=60, num_channels=8,
                       num_classes=3)[0]


def csgcl(data, degree="in", drop_feature=(0.0, 0.0), t0=0):
    return CSGCL.from_config(data.num_features, 16, 8, activation="prelu",
                             degree=degree, drop_edge=(0.3, 0.5),
                             drop_feature=drop_feature, tau=0.5, t0=t0,
                             gamma_max=1.0, community_seed=1)


def gcool(data, scheme="degree", drop_feature=(0.0, 0.0), degree="in"):
    return GCOOL.from_config(data.num_features, 16, first_hidden=24,
                             proj_channels=8, degree=degree,
                             drop_edge=(0.3, 0.5), drop_feature=drop_feature,
                             drop_scheme=scheme, threshold=0.7, tau=0.5,
                             num_communities=3, stride=10)


def edge_augmentor(aug):
    (drop,) = [a for a in aug.augmentors
               if isinstance(a, (CommunalEdgeDrop, AdaptiveEdgeDrop))]
    return drop


def reference_rates(base):
    """The per-edge drop rates read from the augmentors themselves."""
    out = []
    for aug in base.augmentors:
        drop = edge_augmentor(aug)
        if isinstance(drop, CommunalEdgeDrop):
            out.append(1.0 - drop.keep_prob_.float())
        else:
            out.append(drop.drop_probabilities())
    return out


def record_bounds(monkeypatch):
    calls = []
    original = pot_module.edge_drop_bounds

    def spy(edge_index, num_nodes, rate, degree="in", **kw):
        calls.append((edge_index, num_nodes, rate, degree))
        return original(edge_index, num_nodes, rate, degree=degree, **kw)

    monkeypatch.setattr(pot_module, "edge_drop_bounds", spy)
    return calls


@pytest.mark.parametrize("name", ["csgcl", "gcool"])
def test_step_equals_composed_parts(name):
    data = small_graph()
    base = csgcl(data) if name == "csgcl" else gcool(data)
    m = POT(base, kappa=0.3)
    m.prepare(data)
    m.set_epoch(2)
    if name == "csgcl":
        assert base.gamma == 0.02  # Team-up active
    else:
        assert base.schedule()[0] > 0  # DeCA active
    torch.manual_seed(3)
    loss = m(data)

    torch.manual_seed(3)  # the official order: both edge views, then features
    (e1, f1), (e2, f2) = (a.augmentors for a in base.augmentors)
    g1, g2 = e1(data), e2(data)
    v1, v2 = f1(g1), f2(g2)
    z1 = base.encoder(v1.x, v1.edge_index)
    z2 = base.encoder(v2.x, v2.edge_index)
    if name == "csgcl":
        ref_base = team_up_loss(base.projector(z1), base.projector(z2),
                                base.node_strength_, 0.02, 0.5)
    else:
        torch.manual_seed(3)
        ref_base = base(data)
    torch.manual_seed(3)
    step = base.step(data)
    base_loss, views, zs = step.loss, step.views, step.zs
    assert torch.allclose(base_loss, ref_base)
    assert torch.equal(views[0].edge_index, v1.edge_index)
    assert torch.equal(views[1].edge_index, v2.edge_index)
    assert torch.allclose(zs[0], z1) and torch.allclose(zs[1], z2)

    r1, r2 = reference_rates(base)
    b1 = edge_drop_bounds(data.edge_index, data.num_nodes, r1)
    b2 = edge_drop_bounds(data.edge_index, data.num_nodes, r2)
    s1 = compactness_score(base.encoder, data.x, b1, principle_direction(z2),
                           "official", None, v1.edge_index)
    s2 = compactness_score(base.encoder, data.x, b2, principle_direction(z1),
                           "official", None, v2.edge_index)
    ref = 0.7 * ref_base + 0.3 * pot_loss([s1, s2])
    assert torch.allclose(loss, ref)


@pytest.mark.parametrize("name", ["csgcl", "gcool"])
def test_kappa_zero_is_the_base_method_with_the_same_seed(name):
    data = small_graph()
    make = csgcl if name == "csgcl" else gcool
    base = make(data)
    base.prepare(data)
    base.set_epoch(2)
    torch.manual_seed(5)
    ref = base(data)
    torch.manual_seed(5)
    assert torch.equal(POT(base, kappa=0.0)(data), ref)
    # Whole runs: same seed, same losses, same embeddings.
    a, b = make(data), POT(make(data), kappa=0.0)
    ha = gcl.fit(a, data, epochs=3, lr=0.01, seed=0, progress=False,
                 device="cpu")
    hb = gcl.fit(b, data, epochs=3, lr=0.01, seed=0, progress=False,
                 device="cpu")
    assert ha.loss == hb.loss
    assert torch.equal(a.embed(data), b.embed(data))


@pytest.mark.parametrize("name,degree", [("csgcl", "in"), ("csgcl", "out"),
                                         ("gcool", "in")])
def test_bounds_get_the_augmentors_per_edge_rates(name, degree, monkeypatch):
    data = small_graph()
    base = csgcl(data, degree) if name == "csgcl" else gcool(data, degree=degree)
    calls = record_bounds(monkeypatch)
    m = POT(base, kappa=0.5)
    m.prepare(data)  # prepares the base first: the rates need its fit
    assert len(calls) == 2
    ref = reference_rates(base)
    for (edge_index, n, rate, deg), r in zip(calls, ref):
        assert edge_index is data.edge_index and n == data.num_nodes
        assert deg == degree == m.encoder.degree
        assert isinstance(rate, torch.Tensor) and torch.equal(rate, r)
    assert not torch.equal(ref[0], ref[1])  # two views, two rates

    # Entry e of the rates belongs to column e of data.edge_index.
    src, dst = data.edge_index
    if name == "csgcl":
        s_c = base.community_strength_.double()
        c = base.membership_
        w = torch.where(c[src] == c[dst], s_c[c[src]],
                        -(s_c[c[src]] + s_c[c[dst]]))
        w = (w - w.min()) / (w.max() - w.min())
        keep = (w / w.mean() * (1 - 0.3)).clamp(0.0, 1.0)
        assert torch.allclose(calls[0][2].double(), 1.0 - keep, atol=1e-6)
    else:  # degree centrality of each entry's target, as GCA
        w = edge_drop_weights(data.edge_index, data.num_nodes, "degree")
        assert torch.allclose(calls[0][2], drop_probabilities(w, 0.3, 0.7))

    # Budgets: the expected drops among the edges that count towards each
    # node's degree, capped to keep one edge.
    idx = dst if degree == "in" else src
    loops = src == dst
    d = torch.bincount(idx[~loops], minlength=data.num_nodes)
    for b, r in zip(m.bounds(data), ref):
        expected = torch.bincount(idx[~loops], weights=r[~loops].double(),
                                  minlength=data.num_nodes)
        q = torch.minimum((d - 1).clamp_min(0), torch.round(expected).long())
        assert torch.equal(b.budget, q)
    # Cached: later steps reuse the bounds.
    first = m.bounds(data)
    m.set_epoch(1)
    m(data)
    assert len(calls) == 2 and all(
        x is y for x, y in zip(first, m.bounds(data)))


def test_prepare_runs_the_base_prepare_before_reading_rates(monkeypatch):
    data = small_graph()
    m = POT(csgcl(data), kappa=0.5)
    order = []
    prep, rates = CSGCL.prepare, pot_module.edge_drop_rates
    monkeypatch.setattr(CSGCL, "prepare",
                        lambda self, d: (order.append("prepare"), prep(self, d))[1])
    monkeypatch.setattr(pot_module, "edge_drop_rates",
                        lambda base, d=None: (order.append("rates"),
                                              rates(base, d))[1])
    m.prepare(data)
    assert order == ["prepare", "rates"]
    # gCooL before prepare: the rates do not exist yet, and say so.
    g = POT(gcool(data), kappa=0.5)
    with pytest.raises(RuntimeError, match="prepare"):
        g.bounds(data)
    with pytest.raises(RuntimeError, match="CSGCL.prepare"):
        POT(csgcl(data), kappa=0.5).bounds(data)
    # Rates of another graph are refused.
    g.prepare(data)
    other = data.clone()
    other.edge_index = data.edge_index[:, :-2]
    with pytest.raises(ValueError, match="fitted on a graph with"):
        g.bounds(other)


def test_node_batches():
    data = small_graph()
    base = csgcl(data)
    base.prepare(data)
    base.set_epoch(30)
    nodes = torch.tensor([3, 7, 1, 20, 11, 5])
    torch.manual_seed(4)
    step = base.step(data, nodes)
    loss, zs = step.loss, step.zs
    ref = team_up_loss(base.projector(zs[0][nodes]), base.projector(zs[1][nodes]),
                       base.node_strength_[nodes], base.gamma, 0.5)
    assert torch.allclose(loss, ref)
    torch.manual_seed(4)
    full = base.step(data)
    assert torch.equal(zs[0], full.zs[0]) and not torch.allclose(loss, full.loss)
    m = POT(base, kappa=0.4, nce_batch=20, pot_batch=8)
    m.set_epoch(2)
    assert torch.isfinite(m(data))

    g = gcool(data)
    g.prepare(data)
    with pytest.raises(ValueError, match="node batch"):
        g.step(data, nodes)
    with pytest.raises(ValueError, match="nce_batch"):
        POT(g, kappa=0.4, nce_batch=20)(data)
    assert torch.isfinite(POT(g, kappa=0.4, pot_batch=8)(data))


def test_uniform_gcool_views_give_float_rates():
    data = small_graph()
    g = gcool(data, scheme="uniform")
    m = POT(g, kappa=0.5)
    m.prepare(data)
    assert pot_module.edge_drop_rates(g, data) == [0.3, 0.5]
    ref = edge_drop_bounds(data.edge_index, data.num_nodes, 0.3)
    assert torch.equal(m.bounds(data)[0].budget, ref.budget)


def test_feature_masking_warns():
    data = small_graph()
    for base in (csgcl(data, drop_feature=(0.2, 0.0)),
                 gcool(data, drop_feature=(0.0, 0.2))):
        with pytest.warns(UserWarning, match="clean features"):
            POT(base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        POT(csgcl(data))
        POT(gcool(data))


def test_augmentors_of_adaptive_or_communal_edge_drop_in_grace():
    data = small_graph()
    augs = [AdaptiveEdgeDrop(0.3).fit(data),
            CommunalEdgeDrop.from_data(data, 0.4, seed=0)]
    m = POT(GRACE(GCNEncoder(data.num_features, 8), 8, augs), kappa=0.5)
    r1, r2 = pot_module.edge_drop_rates(m.base, data)
    assert torch.equal(r1, augs[0].drop_probabilities())
    assert torch.equal(r2, 1.0 - augs[1].keep_prob_.float())
    assert torch.isfinite(m(data))
    unfitted = GRACE(GCNEncoder(data.num_features, 8), 8,
                     [AdaptiveEdgeDrop(0.3), AdaptiveEdgeDrop(0.3)])
    POT(unfitted)  # the structure is checked now, the rates after fit


@pytest.mark.parametrize("name", ["csgcl", "gcool"])
def test_cora_configs(name):
    cfg = load_config(f"pot_{name}", "Cora")
    own = load_config(name, "Cora")
    assert cfg["method"] == "pot" and cfg["model"]["base"] == name
    # The base's own config, unchanged: kappa = 0 is that experiment.
    assert {k: v for k, v in cfg["model"].items() if k not in POT_KEYS} \
        == own["model"]
    for key in ("seed", "dataset", "train", "data", "eval"):
        assert cfg[key] == own[key], key
    data = load("Cora", **cfg["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # feature masking
        m = build_method(cfg["method"], data.num_features, **cfg["model"])
    assert isinstance(m, POT) and type(m.base) is {"csgcl": CSGCL,
                                                    "gcool": GCOOL}[name]
    assert m.kappa == 0.4 and m.mode == "official"
    hist = gcl.fit(m, data, epochs=3, lr=cfg["train"]["lr"], seed=0,
                   progress=False, device="cpu")
    assert len(hist.loss) == 3 and all(math.isfinite(v) for v in hist.loss)
    assert m.embed(data).shape == (data.num_nodes, 128)


def test_from_config_refuses_keys_of_another_base():
    with pytest.raises(ValueError, match=r"\['cache_mb'\] are not options"):
        build_method("pot", 8, base="gcool", cache_mb=64.0)
    with pytest.raises(ValueError, match="not options"):
        build_method("pot", 8, base="grace", t0=10)
    m = build_method("pot", 8, base="csgcl", hidden_channels=8, proj_channels=4,
                     drop_feature=[0.0, 0.0], kappa=0.2)
    assert isinstance(m.base, CSGCL) and m.kappa == 0.2


def test_node_compactness_reads_the_base_rates():
    from gcl.analysis import node_compactness

    data = small_graph()
    m = POT(csgcl(data), kappa=0.5)
    m.prepare(data)
    s = node_compactness(m, data, view=1)
    ref = node_compactness(m, data, rate=1.0 - edge_augmentor(
        m.base.augmentors[1]).keep_prob_.float())
    assert s.shape == (data.num_nodes,) and torch.equal(s, ref)
