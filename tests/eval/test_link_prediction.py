import math
import random

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from torch_geometric.data import Data

import gcl
from gcl.datasets import load
from gcl.eval import (
    SCORERS,
    link_prediction,
    ogb_link_prediction,
    score_links,
    split_edges,
)
from gcl.eval._link_prediction import _sample_negatives
from gcl.methods import GRACE


@pytest.fixture(scope="module")
def cora():
    torch.set_num_threads(1)
    return load("Cora")


def pairs(edge_index):
    """Undirected edge set {(min, max)}."""
    u, v = edge_index.tolist()
    return {(min(a, b), max(a, b)) for a, b in zip(u, v)}


def directed(edge_index):
    return set(zip(*edge_index.tolist()))


def sk_auc_ap(pos, neg):
    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    s = np.r_[pos, neg]
    return roc_auc_score(y, s), average_precision_score(y, s)


def hand_split(train_pos, val_pos, val_neg, test_pos, test_neg, n):
    t = torch.tensor
    train_pos = t(train_pos).t()
    train = Data(edge_index=torch.cat([train_pos, train_pos.flip(0)], 1),
                 pos_edge_label_index=train_pos, num_nodes=n)
    val = Data(pos_edge_label_index=t(val_pos).t(), neg_edge_label_index=t(val_neg).t(),
               num_nodes=n)
    test = Data(pos_edge_label_index=t(test_pos).t(),
                neg_edge_label_index=t(test_neg).t(), num_nodes=n)
    return train, val, test


# --------------------------------------------------------------------------- #
# split_edges
# --------------------------------------------------------------------------- #


def test_split_sizes_disjoint_undirected(cora):
    full = pairs(cora.edge_index)
    m = len(full)
    assert m == 5278
    train, val, test = split_edges(cora)  # 85 / 5 / 10
    n_val, n_test = int(0.05 * m), int(0.10 * m)
    assert (val.pos_edge_label_index.size(1), test.pos_edge_label_index.size(1)) == (
        n_val, n_test) == (263, 527)
    assert train.pos_edge_label_index.size(1) == m - n_val - n_test == 4488
    assert val.neg_edge_label_index.size(1) == 263
    assert test.neg_edge_label_index.size(1) == 527
    tr, va, te = (pairs(d.pos_edge_label_index) for d in (train, val, test))
    assert len(tr) == 4488 and len(va) == 263 and len(te) == 527  # one row per edge
    assert not (tr & va) and not (tr & te) and not (va & te)
    assert tr | va | te == full
    # The message-passing graph holds exactly the training edges, both directions.
    assert train.edge_index.size(1) == 2 * 4488
    assert directed(train.edge_index) == {(u, v) for u, v in tr} | {
        (v, u) for u, v in tr}
    # Negatives are non-edges of the whole graph; val and test negatives disjoint.
    vn, tn = pairs(val.neg_edge_label_index), pairs(test.neg_edge_label_index)
    assert not (vn & full) and not (tn & full)
    assert not (directed(val.neg_edge_label_index)
                & directed(test.neg_edge_label_index))
    # Node attributes are kept; the input graph is untouched.
    assert torch.equal(train.x, cora.x) and cora.edge_index.size(1) == 10556
    assert "pos_edge_label_index" not in cora


def test_split_seeded_and_rng_untouched(cora):
    torch.manual_seed(123)
    random.seed(7)
    a = split_edges(cora, seed=3)
    after_torch, after_py = torch.rand(1), random.random()
    torch.manual_seed(123)
    random.seed(7)
    expect_torch, expect_py = torch.rand(1), random.random()
    assert torch.equal(after_torch, expect_torch) and after_py == expect_py
    b = split_edges(cora, seed=3)
    c = split_edges(cora, seed=4)
    for x, y in zip(a, b):
        for key in ("edge_index", "pos_edge_label_index"):
            assert torch.equal(x[key], y[key])
    assert torch.equal(a[1].neg_edge_label_index, b[1].neg_edge_label_index)
    assert not torch.equal(a[2].pos_edge_label_index, c[2].pos_edge_label_index)


def test_split_symmetrises_directed_input():
    # A path 0-1-...-39 listed once per edge, plus a duplicate and a self-loop.
    n = 40
    u = torch.arange(n - 1)
    ei = torch.stack([u, u + 1])
    ei = torch.cat([ei, torch.tensor([[0, 5], [1, 5]])], 1)
    data = Data(x=torch.randn(n, 3), edge_index=ei, num_nodes=n)
    train, val, test = split_edges(data, val=0.1, test=0.2, seed=0)
    m = n - 1  # the self-loop is dropped, the duplicate merged
    assert val.pos_edge_label_index.size(1) == int(0.1 * m)
    assert test.pos_edge_label_index.size(1) == int(0.2 * m)
    tr = pairs(train.pos_edge_label_index)
    assert len(tr) == m - int(0.1 * m) - int(0.2 * m)
    both = {(a, b) for a, b in tr} | {(b, a) for a, b in tr}
    assert directed(train.edge_index) == both
    assert tr | pairs(val.pos_edge_label_index) | pairs(test.pos_edge_label_index) \
        == pairs(torch.stack([u, u + 1]))


@pytest.mark.parametrize("kw, msg", [
    ({"val": 0.0}, "val must be"), ({"test": 1.0}, "test must be"),
    ({"val": 0.5, "test": 0.5}, "below 1"),
])
def test_split_bad_fractions(cora, kw, msg):
    with pytest.raises(ValueError, match=msg):
        split_edges(cora, **kw)


def test_split_too_few_edges_and_bad_index():
    data = Data(x=torch.randn(4, 2), edge_index=torch.tensor([[0, 1], [1, 2]]))
    with pytest.raises(ValueError, match="too few"):
        split_edges(data)
    bad = Data(x=torch.randn(3, 2), edge_index=torch.tensor([[0, 5], [1, 2]]),
               num_nodes=3)
    with pytest.raises(ValueError, match="refers to node 5"):
        split_edges(bad)


# --------------------------------------------------------------------------- #
# link_prediction: no held-out edge ever reaches the method
# --------------------------------------------------------------------------- #


class SpyGRACE(GRACE):
    """GRACE that records every graph it is shown (forward, encode, embed)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def _record(self, where, data):
        self.seen.append((where, data.edge_index.detach().cpu().clone(),
                          sorted(data.keys())))

    def forward(self, data):
        self._record("forward", data)
        return super().forward(data)

    def encode(self, data):  # also sees every augmented view
        self._record("encode", data)
        return super().encode(data)

    def embed(self, data):
        self._record("embed", data)
        return super().embed(data)


def test_no_validation_or_test_edge_reaches_the_method(cora):
    spies = []

    def factory(graph):
        spies.append(SpyGRACE.from_config(graph.num_features, 8, 8))
        return spies[-1]

    def train_fn(m, g):
        gcl.fit(m, g, epochs=2, lr=1e-3, seed=0, progress=False, device="cpu")

    res = link_prediction(factory, cora, train_fn, seed=5, runs=2)
    assert res.protocol == "link_auc" and list(res.metrics) == ["auc", "ap"]
    assert res.num_runs == 2 and len(spies) == 2
    for r, spy in enumerate(spies):
        train, val, test = split_edges(cora, seed=5 + r)
        held_out = pairs(val.pos_edge_label_index) | pairs(test.pos_edge_label_index)
        held_directed = {(u, v) for u, v in held_out} | {(v, u) for u, v in held_out}
        wheres = {w for w, _, _ in spy.seen}
        assert wheres == {"forward", "encode", "embed"}
        for where, ei, keys in spy.seen:
            assert not (directed(ei) & held_directed), where
            assert not any("label" in k for k in keys), keys
        # The clean graph given to forward/embed is exactly the training graph.
        clean = [ei for w, ei, _ in spy.seen if w in ("forward", "embed")]
        for ei in clean:
            assert directed(ei) == directed(train.edge_index)
        d = res.details["runs"][r]
        assert d["num_val_pos"] == 263 and d["num_test_pos"] == 527
        assert set(d["scorers"]) == set(SCORERS)
        sel = d["scorers"][d["selected"]]
        assert res.per_split[r] == {"auc": sel["test_auc"], "ap": sel["test_ap"]}
        assert sel["val_auc"] == max(s["val_auc"] for s in d["scorers"].values())


def test_link_prediction_instance_is_reset_and_errors(cora):
    method = GRACE.from_config(cora.num_features, 8, 8)
    with torch.no_grad():
        for p in method.parameters():
            p.fill_(0.5)  # "pre-trained" weights must not survive
    seen = []

    def train_fn(m, g):
        seen.append(next(m.parameters()).detach().clone())

    res = link_prediction(method, cora, train_fn, scorers=("cosine", "dot"))
    assert not torch.all(seen[0] == 0.5)
    assert res.details["selected"][0] in ("cosine", "dot")
    with pytest.raises(TypeError, match="score_links"):
        link_prediction(torch.randn(cora.num_nodes, 4), cora, train_fn)
    with pytest.raises(ValueError, match="unknown scorer"):
        link_prediction(method, cora, train_fn, scorers=("cosine", "l2"))
    with pytest.raises(ValueError, match="runs"):
        link_prediction(method, cora, train_fn, runs=0)


# --------------------------------------------------------------------------- #
# score_links: values against sklearn on hand-built cases
# --------------------------------------------------------------------------- #


def test_cosine_perfect_separation_matches_sklearn():
    # Nodes 0..9 point at 0 or 60 degrees; positives join nodes with the same
    # direction (cosine 1), negatives cross (cosine 0.5); norms vary so that
    # "dot" is not perfect.
    n = 10
    group = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1, 0, 1], dtype=torch.float)
    angle = group * math.pi / 3
    norm = torch.tensor([1, 5, 1, 0.2, 3, 1, 2, 1, 0.1, 4])
    z = torch.stack([angle.cos(), angle.sin()], 1) * norm[:, None]
    split = hand_split(train_pos=[[0, 4], [2, 6]],
                       val_pos=[[0, 1], [2, 3]], val_neg=[[0, 2], [1, 3]],
                       test_pos=[[4, 5], [6, 7], [8, 0]],
                       test_neg=[[4, 6], [5, 7], [8, 9]], n=n)
    res = score_links(z, split, scorers=("cosine", "dot"))
    sc = res.details["scorers"]
    assert sc["cosine"]["val_auc"] == 1.0 and sc["cosine"]["test_auc"] == 1.0
    assert sc["cosine"]["test_ap"] == 1.0
    assert res["auc"] == 1.0 and res.details["selected"] == "cosine"
    assert sc["dot"]["test_auc"] < 1.0
    for part, d in (("val", split[1]), ("test", split[2])):
        p, q = d.pos_edge_label_index, d.neg_edge_label_index
        dot_p = (z[p[0]] * z[p[1]]).sum(1).numpy()
        dot_n = (z[q[0]] * z[q[1]]).sum(1).numpy()
        auc, ap = sk_auc_ap(dot_p, dot_n)
        assert sc["dot"][f"{part}_auc"] == pytest.approx(auc, abs=1e-12)
        assert sc["dot"][f"{part}_ap"] == pytest.approx(ap, abs=1e-12)
    assert res.details["num_test_pos"] == 3 and res.details["num_val_neg"] == 2


def test_random_embeddings_give_chance_auc(cora):
    torch.manual_seed(0)
    z = torch.randn(cora.num_nodes, 16)
    res = score_links(z, split_edges(cora), c_grid=(0.1, 1.0))
    for name, row in res.details["scorers"].items():
        for key in ("val_auc", "test_auc"):
            assert abs(row[key] - 0.5) < 0.08, (name, key, row[key])
    assert abs(res["auc"] - 0.5) < 0.08


def test_selection_uses_validation_only():
    # Validation: cosine perfect, dot inverted. Test: the other way round.
    e1, e2 = torch.tensor([1.0, 0.0]), torch.tensor([1.0, 1.0]) / 2 ** 0.5
    rows = {0: e1, 1: e1,                 # val pos: cos 1, dot 1
            2: 10 * e1, 3: 10 * e2,       # val neg: cos .71, dot 70.7
            4: 10 * e1, 5: 10 * e2,       # test pos: cos .71, dot 70.7
            6: e1, 7: e1}                 # test neg: cos 1, dot 1
    z = torch.stack([rows[i] for i in range(8)])
    split = hand_split(train_pos=[[0, 2]], val_pos=[[0, 1]], val_neg=[[2, 3]],
                       test_pos=[[4, 5]], test_neg=[[6, 7]], n=8)
    for order in (("cosine", "dot"), ("dot", "cosine")):
        res = score_links(z, split, scorers=order)
        sc = res.details["scorers"]
        assert sc["cosine"]["val_auc"] == 1.0 and sc["cosine"]["test_auc"] == 0.0
        assert sc["dot"]["val_auc"] == 0.0 and sc["dot"]["test_auc"] == 1.0
        assert res.details["selected"] == "cosine"
        assert res["auc"] == 0.0  # the selected scorer's test value, no peeking
        assert res["ap"] == sc["cosine"]["test_ap"]


def test_hadamard_lr_matches_sklearn_and_picks_c_on_validation():
    # Two communities; edges inside them. Hadamard features separate them.
    g = torch.Generator().manual_seed(0)
    n = 120
    block = torch.arange(n) % 2
    z = torch.randn(n, 6, generator=g) * 0.3
    z[:, 0] += torch.where(block == 0, 1.0, -1.0)
    same = [(i, j) for i in range(n) for j in range(i + 1, n) if block[i] == block[j]]
    perm = torch.randperm(len(same), generator=g).tolist()
    pos = [same[k] for k in perm[:400]]
    cross = [(i, j) for i in range(n) for j in range(i + 1, n) if block[i] != block[j]]
    neg = [cross[k] for k in torch.randperm(len(cross), generator=g)[:100].tolist()]
    split = hand_split(pos[:300], pos[300:350], neg[:50], pos[350:], neg[50:], n)
    grid = (0.001, 1.0)
    res = score_links(z, split, scorers=("hadamard_lr",), c_grid=grid, seed=3)
    row = res.details["scorers"]["hadamard_lr"]
    assert row["test_auc"] > 0.95 and row["num_train_pos"] == 300
    # Re-fit by hand with the same negatives and every C of the grid.
    train_pos = split[0].pos_edge_label_index
    negs = _sample_negatives(split[0].edge_index, n, 300, seed=3)
    x = torch.cat([z[train_pos[0]] * z[train_pos[1]], z[negs[0]] * z[negs[1]]]).double()
    y = np.r_[np.ones(300), np.zeros(negs.size(1))]

    def feats(e):
        return (z[e[0]] * z[e[1]]).double().numpy()

    best = None
    for c in grid:
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
        clf.fit(x.numpy(), y)
        out = {}
        for part, d in (("val", split[1]), ("test", split[2])):
            out[part] = sk_auc_ap(clf.decision_function(feats(d.pos_edge_label_index)),
                                  clf.decision_function(feats(d.neg_edge_label_index)))
        if best is None or out["val"][0] > best[1]["val"][0]:
            best = (c, out)
    assert row["C"] == best[0]
    assert row["val_auc"] == pytest.approx(best[1]["val"][0], abs=1e-9)
    assert row["test_auc"] == pytest.approx(best[1]["test"][0], abs=1e-9)
    assert row["test_ap"] == pytest.approx(best[1]["test"][1], abs=1e-9)


def test_custom_scorer_and_input_errors():
    z = torch.randn(6, 3)
    split = hand_split([[0, 1]], [[1, 2]], [[3, 4]], [[2, 3]], [[4, 5]], 6)

    def neg_l2(z, e):
        return -(z[e[0]] - z[e[1]]).norm(dim=1)

    res = score_links(z, split, scorers={"neg_l2": neg_l2})
    assert res.details["selected"] == "neg_l2"
    res2 = score_links(z, split, scorers=[("neg_l2", neg_l2), "cosine"])
    assert set(res2.details["scorers"]) == {"neg_l2", "cosine"}
    bad = z.clone()
    bad[2, 1] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        score_links(bad, split)
    with pytest.raises(ValueError, match="2-D"):
        score_links(torch.randn(6), split)
    with pytest.raises(ValueError, match="z has 4 rows"):
        score_links(torch.randn(4, 3), split)
    unsized = [Data(**{k: d[k] for k in d.keys() if k != "num_nodes"}) for d in split]
    with pytest.raises(ValueError, match="refers to node 5"):
        score_links(torch.randn(5, 3), unsized)
    with pytest.raises(ValueError, match="twice"):
        score_links(z, split, scorers=("dot", "dot"))
    with pytest.raises(ValueError, match="is missing"):
        score_links(z, (split[0], Data(num_nodes=6), split[2]))


# --------------------------------------------------------------------------- #
# ogb_link_prediction on a hand-built split
# --------------------------------------------------------------------------- #


def manual_hits(pos, neg, k):
    if len(neg) < k:
        return 1.0
    kth = np.sort(neg)[-k]
    return float(np.mean(pos > kth))


def test_ogb_hits_matches_manual_computation():
    g = torch.Generator().manual_seed(1)
    n = 50
    z = torch.randn(n, 4, generator=g)

    def edges(m):
        return torch.randint(0, n, (m, 2), generator=g)

    split_edge = {"train": {"edge": edges(200)},
                  "valid": {"edge": edges(40), "edge_neg": edges(60)},
                  "test": {"edge": edges(30), "edge_neg": edges(70)}}
    res = ogb_link_prediction(z, split_edge, ks=(20, 5), scorers=("dot", "cosine"))
    assert res.protocol == "ogb_hits" and list(res.metrics) == ["hits@20", "hits@5"]
    sc = res.details["scorers"]
    for name, fn in (("dot", lambda a, b: (a * b).sum(1)),
                     ("cosine", lambda a, b: torch.cosine_similarity(a, b, dim=1))):
        for part, key in (("val", "valid"), ("test", "test")):
            p, q = split_edge[key]["edge"], split_edge[key]["edge_neg"]
            sp = fn(z[p[:, 0]], z[p[:, 1]]).numpy()
            sn = fn(z[q[:, 0]], z[q[:, 1]]).numpy()
            for k in (20, 5):
                assert sc[name][f"{part}_hits@{k}"] == pytest.approx(
                    manual_hits(sp, sn, k), abs=1e-12)
    sel = res.details["selected"]
    assert sc[sel]["val_hits@20"] == max(r["val_hits@20"] for r in sc.values())
    assert res["hits@20"] == sc[sel]["test_hits@20"]
    # Fewer negatives than K: OGB counts every positive as a hit.
    small = dict(split_edge, test={"edge": edges(5), "edge_neg": edges(3)})
    assert ogb_link_prediction(z, small, scorers=("dot",))["hits@20"] == 1.0


def test_ogb_hits_lr_and_errors():
    g = torch.Generator().manual_seed(2)
    n = 60
    z = torch.randn(n, 4, generator=g)
    split_edge = {"train": {"edge": torch.randint(0, n, (300, 2), generator=g)},
                  "valid": {"edge": torch.randint(0, n, (40, 2), generator=g),
                            "edge_neg": torch.randint(0, n, (40, 2), generator=g)},
                  "test": {"edge": torch.randint(0, n, (40, 2), generator=g),
                           "edge_neg": torch.randint(0, n, (40, 2), generator=g)}}
    res = ogb_link_prediction(z, split_edge, max_train_edges=100, c_grid=(1.0,))
    row = res.details["scorers"]["hadamard_lr"]
    assert row["num_train_pos"] == 100 and row["C"] == 1.0
    assert 0.0 <= res["hits@20"] <= 1.0
    with pytest.raises(ValueError, match="not Hits@K"):
        ogb_link_prediction(z, split_edge, name="ogbl-citation2")
    with pytest.raises(ValueError, match="edge_neg"):
        ogb_link_prediction(z, {"train": split_edge["train"],
                                "valid": {"edge": split_edge["valid"]["edge"]},
                                "test": split_edge["test"]})
    with pytest.raises(ValueError, match="ks"):
        ogb_link_prediction(z, split_edge, ks=(0,))


def test_split_rejects_sparse_structure(cora):
    data = cora.clone()
    data.adj = torch.sparse_coo_tensor(cora.edge_index, torch.ones(10556), (2708, 2708),
                                       check_invariants=True)
    with pytest.raises(ValueError, match="data.adj is a sparse matrix"):
        split_edges(data)
