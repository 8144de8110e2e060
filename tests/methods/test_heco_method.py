"""HeCo: one step against a dense float64 reference, embeddings, configs, errors."""

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data, HeteroData

import gcl
from gcl.app.config import list_configs, load_config
from gcl.datasets import add_metapaths, heco_positives, sample_neighbors
from gcl.methods import HeCo, TwoViewStep, build_method

# Feature widths of the shipped sets with HeCo's features (load(..., features="heco")).
HECO_WIDTHS = {
    "ACM-HeCo": {"paper": 1902, "author": 7167, "subject": 60},
    "DBLP-HeCo": {"author": 334, "paper": 14328, "conference": 20, "term": 7723},
    "AMiner-HeCo": {"paper": 6564, "author": 13329, "reference": 35890},
    "Freebase-HeCo": {"movie": 3492, "director": 2502, "actor": 33401,
                      "writer": 4459},
}


def toy_hetero(seed=0, n=12, dtype=torch.float64):
    """Papers, authors and subjects with PAP/PSP path counts and positives."""
    g = torch.Generator().manual_seed(seed)
    data = HeteroData()
    data["paper"].x = torch.rand(n, 5, generator=g, dtype=dtype)
    data["author"].x = torch.rand(8, 4, generator=g, dtype=dtype)
    data["subject"].x = torch.eye(3, dtype=dtype)
    pa = torch.stack([torch.arange(n).repeat(2),
                      torch.randint(0, 8, (2 * n,), generator=g)])
    pa = torch.unique(pa, dim=1).contiguous()
    ps = torch.stack([torch.arange(n), torch.arange(n) % 3])
    for (a, b), ei in {("paper", "author"): pa, ("paper", "subject"): ps}.items():
        data[a, "to", b].edge_index = ei
        data[b, "to", a].edge_index = ei.flip(0)
    data = add_metapaths(data, {
        "pap": [("paper", "to", "author"), ("author", "to", "paper")],
        "psp": [("paper", "to", "subject"), ("subject", "to", "paper")]})
    data["paper"].positive_index = heco_positives(
        [data["paper", m, "paper"].edge_index for m in ("pap", "psp")], n, 3)
    data["paper"].y = torch.arange(n) % 3
    data.target_node_type = "paper"
    return data


def make(data, **kw):
    kw = {"hidden_channels": 6, "feat_drop": 0.0, "attn_drop": 0.0, **kw}
    return HeCo(data.num_features, "paper", ["pap", "psp"], ["author", "subject"],
                [2, 1], **kw).double()


def dense_norm(ei, n):
    """D^-1/2 A^T D^-1/2 of the binary graph, with D the row sums."""
    a = torch.zeros(n, n, dtype=torch.float64)
    a[ei[0], ei[1]] = 1.0
    d = a.sum(1).pow(-0.5)
    return d[:, None] * a.t() * d[None, :]


def reference_loss(method, data, idx):
    """HeCo's loss from the paper's equations, densely, with the method's
    weights and the given neighbour samples.
    """
    n = data["paper"].num_nodes
    lins = method.projections.lins
    h = {t: F.elu(data[t].x @ lins[t].weight.t() + lins[t].bias)
         for t in ("paper", "author", "subject")}
    # meta-path view: PReLU(A h W + b) per meta-path, semantic attention
    views = []
    for conv, act, m in zip(method.mp.convs, method.mp.acts, ("pap", "psp")):
        a = dense_norm(data["paper", m, "paper"].edge_index, n)
        views.append(act(a @ (h["paper"] @ conv.lin.weight.t()) + conv.bias))

    def attend(att, zs):
        w = torch.stack([(torch.tanh(att.lin(z)).mean(0) * att.att[0]).sum()
                         for z in zs])
        beta = torch.softmax(w, 0)
        return sum(b * z for b, z in zip(beta, zs))

    z_mp = attend(method.mp.attention, views)
    # schema view: intra-type attention over the sampled neighbours
    types = []
    for intra, t, ix in zip(method.sc.intra, ("author", "subject"), idx):
        nb = h[t][ix]  # [N, k, C]
        c = h["paper"].size(1)
        s = F.leaky_relu((h["paper"] @ intra.att[0, :c])[:, None]
                         + nb @ intra.att[0, c:], 0.01)
        alpha = torch.softmax(s, dim=1)
        types.append(F.elu((alpha[:, :, None] * nb).sum(1)))
    z_sc = attend(method.sc.inter, types)

    def proj(z):
        p = method.projector
        return F.elu(z @ p.fc1.weight.t() + p.fc1.bias) @ p.fc2.weight.t() \
            + p.fc2.bias

    u, v = F.normalize(proj(z_mp), dim=1), F.normalize(proj(z_sc), dim=1)
    tau, lam, eps = method.loss.tau, method.loss.lam, method.loss.eps
    sim = torch.exp(u @ v.t() / tau)
    pos = torch.zeros(n, n, dtype=torch.float64)
    pi = data["paper"].positive_index
    pos[pi[0], pi[1]] = 1.0
    mp2sc = sim / (sim.sum(1, keepdim=True) + eps)
    sc2mp = sim.t() / (sim.t().sum(1, keepdim=True) + eps)
    l_mp = -torch.log((mp2sc * pos).sum(1)).mean()
    l_sc = -torch.log((sc2mp * pos).sum(1)).mean()
    return lam * l_mp + (1 - lam) * l_sc, z_mp


def test_step_equals_dense_reference():
    data = toy_hetero()
    torch.manual_seed(0)
    method = make(data, eps=1e-3)
    method.train()
    torch.manual_seed(5)
    step = method.step(data)
    assert isinstance(step, TwoViewStep)
    torch.manual_seed(5)
    n = data["paper"].num_nodes
    idx = [sample_neighbors(data["paper", "to", t].edge_index, n, k)
           for t, k in (("author", 2), ("subject", 1))]
    ref, z_mp = reference_loss(method, data, idx)
    torch.testing.assert_close(step.loss, ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(step.zs[0], z_mp, rtol=1e-10, atol=1e-10)
    # embed: the meta-path view of the clean graph, detached
    z = method.embed(data)
    assert z.shape == (n, 6) and not z.requires_grad
    torch.testing.assert_close(z, z_mp.detach(), rtol=1e-10, atol=1e-10)
    assert method.training  # embed restores the mode


def test_dropout_only_in_training_and_gradients_flow():
    data = toy_hetero(1)
    torch.manual_seed(0)
    method = make(data, feat_drop=0.5, attn_drop=0.3)
    method.train()
    loss = method(data)
    loss.backward()
    grads = [p.grad for p in method.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    z1, z2 = method.embed(data), method.embed(data)
    torch.testing.assert_close(z1, z2)  # evaluation mode: no dropout


def test_positives_from_metapaths_when_missing():
    data = toy_hetero(2)
    del data["paper"].positive_index
    with pytest.raises(ValueError, match="positive_index"):
        make(data)(data)
    method = make(data, pos_num=3)
    assert torch.isfinite(method(data))


def test_fit_early_stopping_on_loss_restores_best():
    data = toy_hetero(3, dtype=torch.float32)
    method = HeCo(data.num_features, "paper", ["pap", "psp"],
                  ["author", "subject"], [2, 1], hidden_channels=8)
    hist = gcl.fit(method, data, epochs=30, lr=0.05, seed=0, monitor="loss",
                   patience=3, progress=False)
    assert hist.best_epoch is not None
    assert hist.loss[hist.best_epoch - 1] == min(hist.loss)
    if hist.stopped_epoch is not None:
        assert hist.stopped_epoch - hist.best_epoch == 3


def test_wrong_input():
    data = toy_hetero()
    method = make(data)
    homo = Data(x=torch.rand(4, 5, dtype=torch.float64),
                edge_index=torch.tensor([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="HeteroData"):
        method(homo)
    with pytest.raises(ValueError, match="HeteroData"):
        gcl.fit(method, homo, epochs=1, progress=False)
    bad = toy_hetero()
    del bad["paper", "psp", "paper"]
    with pytest.raises(ValueError, match="psp"):
        make(toy_hetero())(bad)
    with pytest.raises(ValueError, match="float32"):
        make(data).float()(data)  # features float64, parameters float32
    with pytest.raises(ValueError, match="sample rate"):
        HeCo(data.num_features, "paper", ["pap"], ["author", "subject"], [2])
    with pytest.raises(ValueError, match="no width"):
        HeCo(data.num_features, "paper", ["pap"], ["venue"], [2])


@pytest.mark.parametrize("dataset", list_configs("heco")["heco"])
def test_configs_build(dataset):
    cfg = load_config("heco", dataset)
    assert cfg["eval"]["protocol"] == "heco"
    assert cfg["train"]["monitor"] == "loss" and cfg["train"]["restore_best"]
    method = build_method(cfg, HECO_WIDTHS[cfg["dataset"]])
    assert isinstance(method, HeCo)
    assert method.loss.eps == 1e-8  # the official denominator constant
    assert len(method.mp.convs) == len(cfg["model"]["metapaths"])
