"""LightGCN propagation against PyG's LightGCN and a dense reference."""

import pytest
import torch
from torch_geometric.nn.models import LightGCN as PyGLightGCN

from gcl.datasets import InteractionData
from gcl.nn import BipartiteAdjacency, LightGCNPropagation

D = torch.float64


def toy(seed=0, users=7, items=9, m=25):
    g = torch.Generator().manual_seed(seed)
    keys = torch.randperm(users * items, generator=g)[:m]
    return InteractionData(users, items, torch.stack([keys // items, keys % items]))


def dense_ref(data, eu, ei, num_layers, combine, act=None, residual=False):
    n_u = data.num_users
    r = data.biadjacency().to_dense().to(D)
    users, items = [eu], [ei]
    for _ in range(num_layers):
        zu, zi = r @ items[-1], r.t() @ users[-1]
        if act is not None:
            zu, zi = act(zu), act(zi)
        users.append(zu + users[-1] if residual else zu)
        items.append(zi + items[-1] if residual else zi)
    pick = {"mean": slice(0, None), "sum": slice(0, None),
            "mean_no_input": slice(1, None), "last": slice(-1, None)}[combine]
    out = []
    for embs in (users, items):
        embs = embs[pick]
        total = torch.stack(embs).sum(0)
        out.append(total if combine == "sum" else total / len(embs))
    assert out[0].shape[0] == n_u
    return out


def test_matches_pyg_lightgcn():
    data = toy()
    g = torch.Generator().manual_seed(1)
    eu, ei = torch.randn(7, 4, generator=g, dtype=D), torch.randn(9, 4, generator=g,
                                                                   dtype=D)
    adj = BipartiteAdjacency(data.biadjacency()).to(dtype=D)
    ou, oi = LightGCNPropagation(3, "mean")(eu, ei, adj)
    ref = PyGLightGCN(16, 4, 3).double()
    with torch.no_grad():
        ref.embedding.weight.copy_(torch.cat([eu, ei]))
    out = ref.get_embedding(data.edge_index())
    assert torch.allclose(torch.cat([ou, oi]), out, atol=1e-6)  # PyG: fp32 norm


@pytest.mark.parametrize("combine", ["mean", "sum", "mean_no_input", "last"])
@pytest.mark.parametrize("variant", ["lightgcn", "old_lightgcl"])
def test_values_and_gradients_match_dense(combine, variant):
    data = toy(seed=2)
    g = torch.Generator().manual_seed(3)
    eu = torch.randn(7, 5, generator=g, dtype=D, requires_grad=True)
    ei = torch.randn(9, 5, generator=g, dtype=D, requires_grad=True)
    kw = ({} if variant == "lightgcn" else
          dict(activation="leaky_relu", negative_slope=0.5, residual=True))
    act = None if variant == "lightgcn" else torch.nn.LeakyReLU(0.5)
    prop = LightGCNPropagation(2, combine, **kw)
    adj = BipartiteAdjacency(data.biadjacency()).to(dtype=D)
    ou, oi = prop(eu, ei, adj)
    ru, ri = dense_ref(data, eu, ei, 2, combine, act, variant != "lightgcn")
    assert torch.allclose(ou, ru, atol=1e-12) and torch.allclose(oi, ri, atol=1e-12)
    w1, w2 = torch.randn_like(ou), torch.randn_like(oi)
    g1 = torch.autograd.grad((ou * w1).sum() + (oi * w2).sum(), (eu, ei))
    g2 = torch.autograd.grad((ru * w1).sum() + (ri * w2).sum(), (eu, ei))
    for a, b in zip(g1, g2):
        assert torch.allclose(a, b, atol=1e-12)


def test_edge_dropout_rescales_and_is_off_in_eval():
    data = toy(seed=4, users=30, items=40, m=400)
    adj = BipartiteAdjacency(data.biadjacency(None)).to(dtype=D)
    torch.manual_seed(0)
    dropped = adj.dropout(0.25)
    vals = dropped.value
    assert set(torch.unique(vals).tolist()) <= {0.0, 1 / 0.75}
    assert 0.15 < float((vals == 0).double().mean()) < 0.35
    prop = LightGCNPropagation(1, "last", edge_dropout=0.25).eval()
    ones = torch.ones(30, 2, dtype=D), torch.ones(40, 2, dtype=D)
    ou, _ = prop(*ones, adj)
    assert torch.allclose(ou[:, 0], data.biadjacency(None).to_dense().sum(1).to(D))


def test_layer_hook_and_errors():
    data = toy()
    adj = BipartiteAdjacency(data.biadjacency()).to(dtype=D)
    eu, ei = torch.zeros(7, 2, dtype=D), torch.zeros(9, 2, dtype=D)
    calls = []

    def hook(layer, u, i):
        calls.append(layer)
        return u + 1, i + 1

    ou, oi = LightGCNPropagation(2, "last")(eu, ei, adj, hook=hook)
    assert calls == [1, 2]
    r = data.biadjacency().to_dense().to(D)
    assert torch.allclose(ou[:, 0], r.sum(1) + 1)  # layer 2 sees the shifted layer 1
    with pytest.raises(ValueError, match="adjacency"):
        LightGCNPropagation(1)(eu[:5], ei, adj)
    with pytest.raises(ValueError, match="combine"):
        LightGCNPropagation(1, "max")
    with pytest.raises(ValueError, match="BipartiteAdjacency"):
        LightGCNPropagation(1)(eu, ei, data.biadjacency())
