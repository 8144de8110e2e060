"""MEOW: the views and one step against a dense float64 reference, the static
masks, the contexts, re-clustering through set_epoch, configs and errors.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data, HeteroData

import gcl
from gcl.app.config import list_configs, load_config
from gcl.datasets import add_metapaths, pathsim_topk
from gcl.losses import kmeans_prototypes
from gcl.methods import MEOW, TwoViewStep, build_method

pytest.importorskip("faiss")

PATHS = {"pap": ["paper", "author", "paper"],
         "pspap": ["paper", "subject", "paper", "author", "paper"]}

# Feature widths of the shipped sets as the MEOW configs load them.
MEOW_WIDTHS = {
    "ACM-HeCo": {"paper": 1902, "author": 1902, "subject": 60},
    "DBLP-HeCo": {"author": 334, "paper": 4231, "conference": 20, "term": 50},
    "AMiner-HeCo": {"paper": 6564, "author": 13329, "reference": 35890},
    "IMDB-MEOW": {"movie": 5927, "actor": 5432, "director": 2083,
                  "keyword": 7313},
    "Freebase-HeCo": {"movie": 3492, "director": 2502, "actor": 33401,
                      "writer": 4459},
}


def toy_hetero(seed=0, n=16, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    x = torch.rand(n, 6, generator=g, dtype=dtype)
    data["paper"].x = x * (torch.rand(n, 6, generator=g) < 0.6)  # sparse-ish
    data["author"].x = torch.rand(9, 4, generator=g, dtype=dtype)
    data["subject"].x = torch.eye(3, dtype=dtype)
    pa = torch.stack([torch.arange(n).repeat(3),
                      torch.randint(0, 9, (3 * n,), generator=g)])
    pa = torch.unique(pa, dim=1).contiguous()
    ps = torch.stack([torch.arange(n), torch.arange(n) % 3])
    for (a, b), ei in {("paper", "author"): pa, ("paper", "subject"): ps}.items():
        data[a, "to", b].edge_index = ei
        data[b, "to", a].edge_index = ei.flip(0).contiguous()
    data = add_metapaths(data, {
        "pap": [("paper", "to", "author"), ("author", "to", "paper")],
        "pspap": [("paper", "to", "subject"), ("subject", "to", "paper"),
                  ("paper", "to", "author"), ("author", "to", "paper")]})
    data["paper"].y = torch.arange(n) % 3
    data.target_node_type = "paper"
    return data


def make(data, **kw):
    kw = {"hidden_channels": 5, "embed_channels": 4, "dropout": 0.0,
          "feat_mask": 0.3, "adj_mask": [0.3, 0.5], "num_clusters": [2, 3],
          "tau": 0.5, "lam_proto": 0.7, **kw}
    return MEOW(data.num_features, "paper", PATHS, [4, 6], **kw).double()


def dense(ei, w, n, m=None):
    a = torch.zeros(n, m or n, dtype=torch.float64)
    a.index_put_((ei[0], ei[1]), w.double(), accumulate=True)
    return a


def sym_norm(a):
    """D^-1/2 A^T D^-1/2 with D the row sums (MEOW's normalize_adj)."""
    d = a.sum(1).pow(-0.5)
    d[torch.isinf(d)] = 0
    return d[:, None] * a.t() * d[None, :]


def incidence(data, rels, n):
    """Binary incidence of a relation chain, by dense products."""
    out = None
    for r in rels:
        ei = data[r].edge_index
        a = dense(ei, torch.ones(ei.size(1)), data[r[0]].num_nodes,
                  data[r[-1]].num_nodes)
        out = a if out is None else out @ a
    return (out > 0).double()


def hand_views(method, data):
    """MEOW's views from the paper's equations, densely (dropout 0)."""
    n = data["paper"].num_nodes
    g = method.graph_
    lins = method.projections.lins
    proj = {t: (lambda x, t=t: F.elu(x @ lins[t].weight.t() + lins[t].bias))
            for t in lins}
    h = {t: proj[t](data[t].x) for t in ("paper", "author", "subject")}
    x_mask = g["x_mask"]["paper"]
    h_mask = proj["paper"](x_mask.to_dense() if x_mask.is_sparse else x_mask)
    enc = method.encoder

    def gcn(x, a):
        hid = enc.act(a @ (x @ enc.lin1.weight.t()))
        z = a @ (hid @ enc.lin2.weight.t())
        return (z - z.mean()) / torch.sqrt(z.var(unbiased=False) + 1e-5)

    adjs, fine = [], []
    rels = {"pap": [("paper", "to", "author")],
            "pspap": [("paper", "to", "subject"), ("subject", "to", "paper"),
                      ("paper", "to", "author")]}
    for (name, types), k, dense_mask in zip(PATHS.items(), [4, 6], g["masked"]):
        store = data["paper", name, "paper"]
        ei, w = pathsim_topk(store.edge_index, store.edge_weight, k, n)
        a = sym_norm(dense(ei, w, n))
        adjs.append(a)
        ctx = 0
        for j in range(1, len(types) - 1):
            inc = incidence(data, rels[name][:j], n)
            mean = inc @ h[types[j]] / inc.sum(1, keepdim=True).clamp_min(1)
            ctx = ctx + mean @ method.agg[f"{name}_{j}"].weight.t()
        fine.append(F.normalize(gcn(F.elu(h["paper"] + ctx), a), dim=1))
        fine.append(F.normalize(gcn(F.elu(h_mask + ctx), dense_mask.to_dense()),
                                dim=1))
    att = method.attention
    w = torch.stack([(torch.tanh(att.lin(z)).mean(0) * att.att[0]).sum()
                     for z in fine])
    beta = torch.softmax(w, 0)
    z_f = sum(b * z for b, z in zip(beta, fine))
    z_c = gcn(h["paper"], sum(adjs) / len(adjs))
    return z_c, z_f


def hand_project(method, z):
    p = method.projector
    return F.normalize(torch.tanh(z @ p.lin.weight.t() + p.lin.bias), dim=1)


def test_static_masks_and_contexts():
    data = toy_hetero()
    method = make(data)
    torch.manual_seed(0)
    method.prepare(data)
    g = method.graph_
    x, xm = data["paper"].x, g["x_mask"]["paper"]
    nz = x != 0
    changed = nz & (xm == 0)
    assert int(changed.sum()) == int(0.3 * int(nz.sum()))
    assert torch.equal(xm[~changed], x[~changed])
    n = data["paper"].num_nodes
    for name, k, rate, am in zip(PATHS, [4, 6], [0.3, 0.5], g["masked"]):
        store = data["paper", name, "paper"]
        ei, _ = pathsim_topk(store.edge_index, store.edge_weight, k, n)
        off = int((ei[0] != ei[1]).sum())
        a = am.to_dense()
        support = (a != 0)
        assert bool(support.diagonal().all())  # identity added
        kept = int(support.sum()) - n
        assert kept == off - int(rate * off)
        # kept entries are top-k entries, weight 1 before normalisation
        top = dense(ei, torch.ones(ei.size(1)), n) > 0
        assert bool((top.t() | torch.eye(n, dtype=torch.bool))[support].all())
        binary = support.t().double()
        torch.testing.assert_close(a, sym_norm(binary))
    # contexts: prefixes of PSPAP are P->S, P->S->P, P->S->P->A, row means
    ctx = g["contexts"][1]
    assert [c.shape[1] for c in ctx] == [3, n, 9]
    inc = incidence(data, [("paper", "to", "subject"), ("subject", "to", "paper"),
                           ("paper", "to", "author")], n)
    torch.testing.assert_close(ctx[2].to_dense(),
                               inc / inc.sum(1, keepdim=True).clamp_min(1))


def test_numpy_ties_give_the_official_topk_graphs(portable_argsort):
    import numpy as np

    data = toy_hetero()
    method = make(data, ties="numpy")
    method.prepare(data)
    n = data["paper"].num_nodes
    for name, k, adj in zip(PATHS, [4, 6], method.graph_["adjs"]):
        st = data["paper", name, "paper"]
        a = dense(st.edge_index, st.edge_weight, n).numpy()
        # the official pathsim(): PathSim rows, np.argsort, reversed, first k
        sim = np.where(a > 0, 2 * a / (a.diagonal()[:, None] + a.diagonal()), 0.0)
        cols = portable_argsort(sim)[:, ::-1][:, :k]  # the authors' numpy
        top = np.zeros_like(a)
        top[np.arange(n)[:, None], cols] = a[np.arange(n)[:, None], cols]
        torch.testing.assert_close(adj.to_dense(), sym_norm(torch.from_numpy(top)),
                                   rtol=0, atol=1e-15)
        low, _ = pathsim_topk(st.edge_index, st.edge_weight, k, n)  # differs here
        assert not torch.equal(dense(low, torch.ones(low.size(1)), n) > 0,
                               torch.from_numpy(top > 0))
    assert load_config("meow", "ACM-HeCo")["model"]["ties"] == "numpy"


def test_step_equals_dense_reference():
    data = toy_hetero(1)
    torch.manual_seed(0)
    method = make(data)
    method.train()
    method.set_epoch(1)
    step = method.step(data)
    assert isinstance(step, TwoViewStep) and set(step.terms) == {"info", "proto"}
    z_c, z_f = hand_views(method, data)
    torch.testing.assert_close(step.zs[0], z_c, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(step.zs[1], z_f, rtol=1e-9, atol=1e-10)
    p_c, p_f = hand_project(method, z_c), hand_project(method, z_f)
    protos = method.prototypes_
    fresh = kmeans_prototypes(p_f.detach(), [2, 3], 0.5)
    for a, b in zip(protos.labels, fresh.labels):
        assert torch.equal(a, b)
    lab = torch.stack(protos.labels)
    w = (lab[:, :, None] != lab[:, None, :]).sum(0).double()
    s = torch.exp(p_c @ p_f.t() / 0.5)
    info = -torch.log(s.diagonal() / (w * s).sum(1)).mean()
    proto = 0
    for lab_k, mu, phi in zip(protos.labels, protos.centroids, protos.density):
        logits = p_c @ mu.t() / phi
        proto = proto - torch.log_softmax(logits, 1)[torch.arange(16), lab_k].mean()
    proto = proto / 2
    torch.testing.assert_close(step.terms["info"], info, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(step.terms["proto"], proto, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(step.loss, info + 0.7 * proto, rtol=1e-9,
                               atol=1e-10)
    # the official ProtoNCE value: + mean_k log(N / K_k), gradients unchanged
    method.proto_log_offset = True
    off = method.objective(*step.zs, data)
    torch.testing.assert_close(
        off["proto"], proto + (math.log(16 / 2) + math.log(16 / 3)) / 2)
    # embed: the fused fine view of the clean graph
    z = method.embed(data)
    assert z.shape == (16, 4) and not z.requires_grad
    torch.testing.assert_close(z, z_f.detach(), rtol=1e-9, atol=1e-10)


def test_set_epoch_reclusters():
    data = toy_hetero(2)
    torch.manual_seed(0)
    method = make(data, recluster_every=2)
    method.train()
    method.set_epoch(1)
    method(data)
    first = method.prototypes_
    assert method.clustered_epoch_ == 1
    method(data)  # same epoch: the clusters are kept
    assert method.prototypes_ is first
    method.set_epoch(2)  # not a re-clustering epoch with recluster_every=2
    method(data)
    assert method.prototypes_ is first
    method.set_epoch(3)
    method(data)
    assert method.prototypes_ is not first and method.clustered_epoch_ == 3


def test_fit_trains_and_masks_follow_the_seed():
    data = toy_hetero(3, dtype=torch.float32)
    kw = dict(hidden_channels=8, embed_channels=8, num_clusters=[2, 3],
              dropout=0.2, adj_mask=0.3)

    def run():
        method = MEOW(data.num_features, "paper", PATHS, [4, 6], **kw)
        hist = gcl.fit(method, data, epochs=4, lr=0.01, seed=1, monitor="loss",
                       patience=10, restore_best=False, progress=False)
        return method, hist

    (m1, h1), (m2, h2) = run(), run()
    assert h1.loss == h2.loss  # seeded: masks, dropout and clusters repeat
    assert torch.equal(m1.graph_["x_mask"]["paper"], m2.graph_["x_mask"]["paper"])
    assert all(math.isfinite(v) for v in h1.loss)


def test_per_metapath_target_and_binary_paths():
    data = toy_hetero(4)
    method = make(data, metapath_target_projections=True, binary_metapaths=True)
    # one target projection per meta-path; "paper" stays for PSPAP's context
    assert set(method.projections.lins) == {"paper__pap", "paper__pspap",
                                            "paper", "author", "subject"}
    torch.manual_seed(0)
    loss = method(data)
    assert torch.isfinite(loss)
    n = data["paper"].num_nodes
    store = data["paper", "pap", "paper"]
    ei, w = pathsim_topk(store.edge_index, torch.ones(store.edge_index.size(1)),
                         4, n)
    torch.testing.assert_close(method.graph_["adjs"][0].to_dense(),
                               sym_norm(dense(ei, w, n)))


def test_per_metapath_target_features_feed_their_projection():
    """``x_<path>`` (metapath2vec's per-meta-path features) is the input of
    that path's target projection; paths without one read ``x``.
    """
    data = toy_hetero(5)
    n = data["paper"].num_nodes
    data["paper"].x_pap = torch.rand(n, 6, dtype=torch.float64)
    method = make(data, metapath_target_projections=True, feat_mask=0.0)
    assert torch.equal(method._features(data, "paper__pap"), data["paper"].x_pap)
    assert torch.equal(method._features(data, "paper__pspap"), data["paper"].x)
    assert torch.equal(method._features(data, "author"), data["author"].x)
    method.eval()
    coarse, _, _ = method._inputs(data)
    lins = method.projections.lins
    expected = (F.elu(lins["paper__pap"](data["paper"].x_pap))
                + F.elu(lins["paper__pspap"](data["paper"].x))) / 2
    torch.testing.assert_close(coarse, expected)
    # with feat_mask 0 the masked twins are the same features
    torch.testing.assert_close(method.graph_["x_mask"]["paper__pap"],
                               data["paper"].x_pap)
    data["paper"].x_pap = torch.rand(n, 5, dtype=torch.float64)
    with pytest.raises(ValueError, match="x_pap has 5 features"):
        make(data, metapath_target_projections=True)(data)


def test_wrong_input():
    data = toy_hetero()
    method = make(data)
    homo = Data(x=torch.rand(4, 6, dtype=torch.float64),
                edge_index=torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="HeteroData"):
        method(homo)
    bad = toy_hetero()
    del bad["paper", "pap", "paper"]
    with pytest.raises(ValueError, match="pap"):
        make(toy_hetero())(bad)
    with pytest.raises(ValueError, match="node types"):
        MEOW(data.num_features, "paper", ["pap"], [4], num_clusters=[2])
    with pytest.raises(ValueError, match="no width"):
        MEOW({"paper": 6}, "paper", PATHS, [4, 6], num_clusters=[2])
    with pytest.raises(ValueError, match="nei_max"):
        MEOW(data.num_features, "paper", PATHS, [4], num_clusters=[2])
    with pytest.raises(ValueError, match="num_clusters"):
        make(data, num_clusters=[40])(data)


@pytest.mark.parametrize("dataset", list_configs("meow")["meow"])
def test_configs_build(dataset):
    cfg = load_config("meow", dataset)
    assert cfg["eval"]["protocol"] == "heco"
    assert cfg["train"]["monitor"] == "loss"
    assert cfg["train"]["restore_best"] is False
    method = build_method(cfg, MEOW_WIDTHS[cfg["dataset"]])
    assert isinstance(method, MEOW)
    assert len(method.nei_max) == len(cfg["model"]["metapaths"])
    n_agg = sum(len(t) - 2 for t in cfg["model"]["metapaths"].values())
    assert len(method.agg) == n_agg  # DBLP: 7, as the official agg_num
