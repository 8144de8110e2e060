"""GCA: adaptive drop probabilities from the paper's equations, the step,
the official random stream, configs, POT over GCA and the command line."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data

import gcl
from gcl.app.cli import main
from gcl.app.config import list_configs, load_config
from gcl.augment import (
    AdaptiveEdgeDrop,
    AdaptiveFeatureMask,
    Compose,
    EdgeDrop,
    FeatureMask,
)
from gcl.methods import GCA, GRACE, METHODS, POT, build_method
from gcl.methods.pot import edge_drop_rates

THRESHOLD = 0.7


def small_graph(num_nodes=24, num_features=10, zero_column=False, seed=0):
    """A connected, non-bipartite undirected graph (a ring with chords and a
    triangle), both directions of every edge listed, and sparse non-negative
    features.
    """
    gen = torch.Generator().manual_seed(seed)
    ring = [(i, (i + 1) % num_nodes) for i in range(num_nodes)]
    chords = [(0, 2), (0, 5), (0, 9), (3, 11), (4, 17), (6, 13), (8, 20),
              (10, 19), (0, 14), (12, 22)]
    und = sorted(set(ring + chords))
    src = [a for a, b in und] + [b for a, b in und]
    dst = [b for a, b in und] + [a for a, b in und]
    edge_index = torch.tensor([src, dst])
    x = torch.rand(num_nodes, num_features, generator=gen)
    x = x * (torch.rand(num_nodes, num_features, generator=gen) < 0.4)
    x[0, :] = 0.5  # every column occurs somewhere
    if zero_column:
        x[:, 3] = 0.0
    return Data(x=x, edge_index=edge_index, num_nodes=num_nodes)


# ---------------------------------------------------------------------------
# Dense references from the paper's equations (GCA, Sec. 3.3), float64, with
# the official code's centralities (pGRACE/utils.py): loops, not the library.

def ref_centrality(data, scheme, iterations):
    n = data.num_nodes
    edges = [tuple(e) for e in data.edge_index.t().tolist()]
    if scheme == "degree":  # neighbours in the undirected graph
        nbrs = [set() for _ in range(n)]
        for u, v in edges:
            nbrs[v].add(u)
            nbrs[u].add(v)
        return np.array([len(s) for s in nbrs], dtype=np.float64)
    if scheme == "pr":  # the code's iteration x <- (1-d) x + d A^T D^-1 x
        out = np.zeros(n)
        for u, _ in edges:
            out[u] += 1
        x = np.ones(n)
        for _ in range(iterations):
            agg = np.zeros(n)
            for u, v in edges:
                agg[v] += x[u] / out[u]
            x = 0.15 * x + 0.85 * agg
        return x
    a = np.zeros((n, n))  # evc: principal eigenvector of A^T
    for u, v in edges:
        a[u, v] = 1.0
    vals, vecs = np.linalg.eig(a.T)
    vec = vecs[:, np.argmax(vals.real)].real
    return vec / (np.sign(vec.sum()) * np.linalg.norm(vec))


def ref_edge_prob(data, scheme, p):
    phi = ref_centrality(data, scheme, 200)
    if scheme == "evc":
        phi = np.maximum(phi, 0) + 1e-8
    s = np.log(phi[data.edge_index[1].numpy()])
    w = (s.max() - s) / (s.max() - s.mean())
    return np.minimum(w / w.mean() * p, THRESHOLD)


def ref_feature_prob(data, scheme, p, weighting="binary"):
    phi = ref_centrality(data, scheme, 10)
    x = data.x.double().numpy()
    b = (x != 0).astype(np.float64) if weighting == "binary" else np.abs(x)
    w = np.log(np.array([sum(b[u, i] * phi[u] for u in range(len(x)))
                         for i in range(x.shape[1])]))
    s = (w.max() - w) / (w.max() - w.mean())
    return np.minimum(s / s.mean() * p, THRESHOLD)


def build(data, **kw):
    cfg = dict(hidden_channels=16, proj_channels=8, activation="prelu",
               drop_edge=(0.3, 0.5), drop_feature=(0.2, 0.4), tau=0.5)
    cfg.update(kw)
    return GCA.from_config(data.num_features, **cfg)


def stages(m):
    return [list(t.augmentors) for t in m.augmentors]


@pytest.mark.parametrize("scheme", ["degree", "pr", "evc"])
def test_drop_probabilities_equal_the_paper_equations(scheme):
    data = small_graph()
    m = build(data, drop_scheme=scheme)
    m.prepare(data)
    for (edge, feature), pe, pf in zip(stages(m), (0.3, 0.5), (0.2, 0.4)):
        assert isinstance(edge, AdaptiveEdgeDrop) and edge.centrality == scheme
        assert isinstance(feature, AdaptiveFeatureMask)
        np.testing.assert_allclose(edge.drop_probabilities().double().numpy(),
                                   ref_edge_prob(data, scheme, pe),
                                   rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(feature.drop_probabilities().double().numpy(),
                                   ref_feature_prob(data, scheme, pf),
                                   rtol=2e-5, atol=1e-6)
    # the first view's probabilities hit the cut-off somewhere, not everywhere
    p = stages(m)[1][0].drop_probabilities()
    assert 0 < int((p == THRESHOLD).sum()) < p.numel()


def test_dense_features_are_weighted_by_their_magnitude():
    data = small_graph()
    data.x = data.x - 0.3  # negative values, as WikiCS's GloVe features
    m = build(data, drop_scheme="pr", feature_weighting="abs")
    m.prepare(data)
    feature = stages(m)[0][1]
    np.testing.assert_allclose(feature.drop_probabilities().double().numpy(),
                               ref_feature_prob(data, "pr", 0.2, "abs"),
                               rtol=2e-5, atol=1e-6)
    binary = build(data, drop_scheme="pr")
    binary.prepare(data)
    assert not torch.allclose(stages(binary)[0][1].drop_probabilities(),
                              feature.drop_probabilities())


def test_zero_columns_cap_or_official():
    data = small_graph(zero_column=True)
    capped = build(data)
    capped.prepare(data)
    p = stages(capped)[0][1].drop_probabilities()
    assert p[3] == THRESHOLD
    rest = [i for i in range(data.num_features) if i != 3]
    sub = Data(x=data.x[:, rest], edge_index=data.edge_index,
               num_nodes=data.num_nodes)
    np.testing.assert_allclose(p[rest].double().numpy(),
                               ref_feature_prob(sub, "degree", 0.2),
                               rtol=2e-5, atol=1e-6)
    # the official code: log 0 makes every weight NaN, and NaN < 0.7 is
    # False, so every column is dropped with probability 0.7
    official = build(data, zero_columns="official")
    official.prepare(data)
    for _, feature in stages(official):
        assert torch.equal(feature.drop_probabilities(),
                           torch.full((data.num_features,), THRESHOLD))
    # edges are not affected
    assert torch.equal(stages(official)[0][0].drop_probabilities(),
                       stages(capped)[0][0].drop_probabilities())
    # without a weightless column the two agree
    clean = small_graph()
    a, b = build(clean), build(clean, zero_columns="official")
    a.prepare(clean)
    b.prepare(clean)
    assert torch.equal(stages(a)[1][1].drop_probabilities(),
                       stages(b)[1][1].drop_probabilities())


def official_views(data, m):
    """The views of CRIPAC-DIG/GCA train.py's train(), drawn in its order
    (written from the code: drop_edge_weighted for view 1 and 2, then
    drop_feature for both, overwritten by drop_feature_weighted_2 for both).
    """
    (e1, f1), (e2, f2) = stages(m)
    keep1 = torch.bernoulli(1.0 - e1.drop_probabilities()).to(torch.bool)
    keep2 = torch.bernoulli(1.0 - e2.drop_probabilities()).to(torch.bool)
    for _ in range(2):  # drop_feature(data.x, p): a uniform mask, unused
        torch.empty((data.x.size(1),), dtype=torch.float32).uniform_(0, 1)
    drop1 = torch.bernoulli(f1.drop_probabilities()).to(torch.bool)
    drop2 = torch.bernoulli(f2.drop_probabilities()).to(torch.bool)
    out = []
    for keep, drop in ((keep1, drop1), (keep2, drop2)):
        x = data.x.clone()
        x[:, drop] = 0.0
        out.append((data.edge_index[:, keep], x))
    return out


def test_views_follow_the_official_random_stream():
    data = small_graph()
    m = build(data, drop_scheme="degree")
    m.prepare(data)
    torch.manual_seed(3)
    (v1, v2), (z1, z2) = m.encode_views(data)
    torch.manual_seed(3)
    ref = official_views(data, m)
    for v, (ei, x) in zip((v1, v2), ref):
        assert torch.equal(v.edge_index, ei) and torch.equal(v.x, x)
    assert torch.equal(z1, m.encode(v1)) and torch.equal(z2, m.encode(v2))
    # official_rng=False: GRACE's order (view 1, view 2): same first edge
    # view, different rest
    m.official_rng = False
    torch.manual_seed(3)
    (w1, w2), _ = m.encode_views(data)
    assert torch.equal(w1.edge_index, v1.edge_index)
    assert not torch.equal(w2.edge_index, v2.edge_index)
    # the input graph is never modified
    assert torch.equal(data.x, small_graph().x)


def dense_info_nce(u, v, tau):
    """GRACE's loss (GCA Eq. 1-2) with dense N x N matrices."""
    u, v = F.normalize(u), F.normalize(v)

    def ell(a, b):
        between = torch.exp(a @ b.t() / tau)
        refl = torch.exp(a @ a.t() / tau)
        return -torch.log(between.diag()
                          / (between.sum(1) + refl.sum(1) - refl.diag()))

    return 0.5 * (ell(u, v) + ell(v, u)).mean()


@pytest.mark.parametrize("scheme", ["degree", "evc"])
def test_step_is_graces_info_nce_on_the_same_views(scheme):
    data = small_graph()
    data.x = data.x.double()
    m = build(data, drop_scheme=scheme).double()
    m.prepare(data)
    torch.manual_seed(5)
    step = m.step(data)
    v1, v2 = step.views
    z1, z2 = m.encoder(v1.x, v1.edge_index), m.encoder(v2.x, v2.edge_index)
    assert torch.equal(step.zs[0], z1) and torch.equal(step.zs[1], z2)
    ref = dense_info_nce(m.projector(z1), m.projector(z2), m.loss.tau)
    assert step.loss.dtype == torch.float64
    assert abs(step.loss.item() - ref.item()) < 1e-12
    grace = GRACE(m.encoder, 8, m.augmentors, tau=m.loss.tau)
    grace.projector = m.projector
    assert torch.allclose(grace.objective(z1, z2, step.views), step.loss,
                          rtol=0, atol=1e-13)
    # a mutation: the inter-view negatives alone differ
    u, v = F.normalize(m.projector(z1)), F.normalize(m.projector(z2))
    between = torch.exp(u @ v.t() / m.loss.tau)
    wrong = -torch.log(between.diag() / between.sum(1)).mean()
    assert abs(wrong.item() - step.loss.item()) > 1e-3


def test_fit_prepares_trains_and_repeats():
    data = small_graph()
    runs = []
    for _ in range(2):
        m = build(data, drop_scheme="pr")
        hist = gcl.fit(m, data, epochs=3, lr=0.01, seed=7, progress=False)
        runs.append(hist.loss)
        assert all(math.isfinite(v) for v in hist.loss)
        assert stages(m)[0][0].weights_ is not None
        assert m.embed(data).shape == (data.num_nodes, 16)
    assert runs[0] == runs[1]


def test_schemes_and_options():
    data = small_graph()
    uni = build(data, drop_scheme="uniform")
    assert [type(a) for a in stages(uni)[0]] == [EdgeDrop, FeatureMask]
    bare = build(data, drop_feature=None)
    assert all(isinstance(t, AdaptiveEdgeDrop) for t in bare.augmentors)
    bare.prepare(data)
    torch.manual_seed(0)
    (v1, v2), _ = bare.encode_views(data)
    assert torch.equal(v1.x, data.x) and torch.equal(v2.x, data.x)
    torch.manual_seed(0)  # POT's GCA code: the two edge views, nothing else
    keep1 = torch.bernoulli(1 - bare.augmentors[0].drop_probabilities())
    keep2 = torch.bernoulli(1 - bare.augmentors[1].drop_probabilities())
    assert torch.equal(v2.edge_index, data.edge_index[:, keep2.bool()])
    assert torch.equal(v1.edge_index, data.edge_index[:, keep1.bool()])
    one = build(data, drop_edge=0.2, drop_feature=0.1)
    assert [t.augmentors[0].p for t in one.augmentors] == [0.2, 0.2]
    d = GCA.from_config(data.num_features)  # train.py's default_param
    assert (d.encoder.out_channels, d.projector.fc1.out_features) == (256, 32)
    assert [t.augmentors[0].p for t in d.augmentors] == [0.3, 0.4]
    assert [t.augmentors[1].p for t in d.augmentors] == [0.1, 0.0]
    assert d.loss.tau == 0.4 and "official_rng=True" in repr(d)
    assert METHODS["gca"] is GCA


@pytest.mark.parametrize("kw, match", [
    (dict(drop_scheme="random"), "drop_scheme"),
    (dict(zero_columns="nan"), "zero_columns"),
    (dict(drop_edge=(0.1, 0.2, 0.3)), "drop_edge"),
    (dict(drop_feature=(0.1,)), "drop_feature"),
    (dict(drop_edge=(0.1, 1.5)), "probability"),
    (dict(feature_weighting="dense"), "weighting"),
])
def test_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        build(small_graph(), **kw)


def test_unfitted_and_mismatched_graphs_are_refused():
    data = small_graph()
    m = build(data)
    with pytest.raises(RuntimeError, match="fit"):
        m(data)
    m.prepare(data)
    other = small_graph(num_nodes=30)
    with pytest.raises(ValueError, match="fitted"):
        m(other)


# ---------------------------------------------------------------------------
# Configs

# CRIPAC-DIG/GCA param/*.json (commit 0f17497): num_hidden, num_proj_hidden,
# activation, drop_edge_rate_1/2, drop_feature_rate_1/2, tau, num_epochs, lr
OFFICIAL = {
    "Photo": (256, 64, "relu", [0.3, 0.5], [0.1, 0.1], 0.3, 2000, 0.1),
    "Computers": (128, 128, "rrelu_fixed", [0.6, 0.3], [0.2, 0.3], 0.2, 2000,
                  0.01),
    "CS": (256, 256, "rrelu_fixed", [0.3, 0.2], [0.3, 0.4], 0.4, 1000, 0.0005),
    "Physics": (128, 64, "rrelu_fixed", [0.4, 0.1], [0.1, 0.4], 0.5, 1500,
                0.01),
    "WikiCS": (256, 256, "prelu", [0.2, 0.3], [0.1, 0.1], 0.4, 3000, 0.01),
}
# GCA's Table 3: the best of GCA-DE / GCA-PR / GCA-EV on each graph
BEST = {"Photo": ("pr", 92.53), "Computers": ("degree", 87.85),
        "CS": ("degree", 93.10), "Physics": ("evc", 95.73),
        "WikiCS": ("pr", 78.35)}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_configs_hold_the_official_values(name):
    cfg = load_config("gca", name)
    mod = cfg["model"]
    h, p, act, pe, pf, tau, epochs, lr = OFFICIAL[name]
    assert (mod["hidden_channels"], mod["proj_channels"], mod["activation"],
            mod["drop_edge"], mod["drop_feature"], mod["tau"]) == \
        (h, p, act, pe, pf, tau)
    assert cfg["train"] == {"epochs": epochs, "lr": lr, "weight_decay": 1e-5}
    assert cfg["seed"] == 39788 and mod["threshold"] == 0.7
    scheme, value = BEST[name]
    assert mod["drop_scheme"] == scheme and cfg["paper"]["value"] == value
    assert max(cfg["paper"]["variants"].items(), key=lambda kv: kv[1][0]) == \
        (scheme, [value, cfg["paper"]["std"]])
    wiki = name == "WikiCS"
    assert mod["feature_weighting"] == ("abs" if wiki else "binary")
    assert cfg["data"]["normalize"] == ("legacy" if wiki else "pyg")
    assert cfg["eval"]["protocol"] == ("public" if wiki else "linear_probe")
    assert "0f17497" in cfg["source"] and cfg["baseline"] == "grace"
    # the GRACE config runs GCA's code with drop_scheme uniform
    # Physics has all-zero columns: the official NaN weights mask every column
    assert mod.get("zero_columns", "cap") == ("official" if name == "Physics"
                                              else "cap")
    grace = load_config("grace", name)
    extra = {"drop_scheme", "feature_weighting", "threshold", "zero_columns"}
    assert {k: v for k, v in mod.items() if k not in extra} == grace["model"]
    assert (cfg["seed"], cfg["train"]) == (grace["seed"], grace["train"])


def test_every_config_builds_and_cora_differs_from_grace_in_the_views_only():
    assert set(list_configs("gca")["gca"]) == {
        "CS", "CiteSeer", "Computers", "Cora", "Photo", "Physics", "WikiCS"}
    for name in list_configs("gca")["gca"]:
        cfg = load_config("gca", name)
        m = build_method(cfg, 32)
        assert isinstance(m, GCA) and len(m.augmentors) == 2
        assert all(isinstance(t, Compose) for t in m.augmentors)
    for name in ("Cora", "CiteSeer"):
        ours, grace = load_config("gca", name), load_config("grace", name)
        extra = {"drop_scheme", "feature_weighting", "threshold", "zero_columns"}
        assert {k: v for k, v in ours["model"].items() if k not in extra} == \
            grace["model"]
        assert ours["model"]["drop_scheme"] == "degree"
        for key in ("seed", "train", "data"):
            assert ours[key] == grace[key]
        assert ours["eval"]["protocol"] == "linear_probe"
        assert ours["paper"]["value"] is None


# POT-GCL GCA/param/*.json (commit ad4910b): lr, num_hidden, num_proj_hidden,
# activation, drop_edge_rate_1/2, tau, num_epochs
POT_OFFICIAL = {
    "Cora": (0.0005, 128, 128, "relu", [0.3, 0.1], 0.9, 700, None),
    "CiteSeer": (0.001, 256, 256, "prelu", [0.2, 0.2], 0.9, 1000, None),
    "PubMed": (0.01, 256, 256, "relu", [0.4, 0.1], 0.3, 3000, 4096),
    "Photo": (0.0005, 256, 64, "relu", [0.3, 0.5], 0.3, 2000, None),
    "Computers": (0.01, 128, 128, "prelu", [0.6, 0.3], 0.2, 2000, 2048),
    "WikiCS": (0.01, 256, 256, "prelu", [0.2, 0.3], 0.4, 3000, 2048),
}


@pytest.mark.parametrize("name", sorted(POT_OFFICIAL))
def test_pot_gca_configs_build_pot_over_gca(name):
    cfg = load_config("pot_gca", name)
    mod = cfg["model"]
    lr, h, p, act, pe, tau, epochs, nce = POT_OFFICIAL[name]
    assert (cfg["train"]["lr"], mod["hidden_channels"], mod["proj_channels"],
            mod["activation"], mod["drop_edge"], mod["tau"],
            cfg["train"]["epochs"], mod["nce_batch"]) == \
        (lr, h, p, act, pe, tau, epochs, nce)
    assert (mod["base"], mod["kappa"], mod["drop_scheme"], cfg["seed"]) == \
        ("gca", 0.3, "degree", 12345)
    assert mod["drop_feature"] is None and cfg["eval"]["protocol"] == "pot"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no feature masking: no POT warning
        m = build_method(cfg, 16)
    assert isinstance(m, POT) and isinstance(m.base, GCA) and m.kappa == 0.3
    assert all(isinstance(t, AdaptiveEdgeDrop) for t in m.base.augmentors)


def test_pot_over_gca_steps_with_gcas_edge_rates():
    data = small_graph()
    cfg = dict(hidden_channels=16, proj_channels=8, activation="relu",
               drop_edge=[0.3, 0.5], drop_feature=None, drop_scheme="degree",
               tau=0.5)
    m = build_method("pot", data.num_features, base="gca", kappa=0.3, **cfg)
    m.prepare(data)
    rates = edge_drop_rates(m.base, data)
    for rate, t in zip(rates, m.base.augmentors):
        assert torch.equal(rate, t.drop_probabilities())
    torch.manual_seed(2)
    step = m.step(data)
    assert math.isclose(step.loss.item(),
                        0.7 * step.terms["base"].item()
                        + 0.3 * step.terms["pot"].item(), rel_tol=1e-6)
    torch.manual_seed(2)  # the base term is GCA's step on the same views
    base = m.base.step(data)
    assert torch.equal(base.loss, step.terms["base"])
    loss = step.loss
    loss.backward()
    assert all(p.grad is not None for p in m.base.encoder.parameters())
    hist = gcl.fit(m, data, epochs=2, lr=0.01, seed=0, progress=False)
    assert all(math.isfinite(v) for v in hist.loss)


# ---------------------------------------------------------------------------
# Command line

def test_cli_trains_gca_on_cora(capsys):
    assert main(["train", "gca", "--dataset", "Cora", "--epochs", "2",
                 "--set", "model.hidden_channels=16", "--set",
                 "model.proj_channels=16", "--set", "eval.runs=1", "--set",
                 "eval.epochs=100", "--no-save", "--quiet",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("gca on Cora (seed 39788, 2 epochs")
    assert "linear_probe: accuracy" in out
