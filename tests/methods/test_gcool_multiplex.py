import copy
import math
import os
from itertools import combinations
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

import gcl
from gcl.community import deca_loss
from gcl.losses import info_nce, resc_loss
from gcl.methods import GCOOLMultiplex
from gcl.nn import GCNEncoder


def multiplex(n=50, f=10, seed=0):
    g = torch.Generator().manual_seed(seed)
    rel = {}
    for name, e in (("a", 120), ("b", 300), ("c", 60)):
        ei = to_undirected(torch.randint(0, n, (2, e), generator=g), num_nodes=n)
        rel[name] = ei[:, ei[0] != ei[1]]
    union = torch.unique(torch.cat(list(rel.values()), 1), dim=1)
    return Data(x=torch.rand(n, f, generator=g), edge_index=union, relations=rel,
                y=torch.randint(0, 3, (n,), generator=g))


def build(data, **kw):
    cfg = dict(hidden_channels=8, first_hidden=12, num_communities=3, stride=10,
               tau=0.5)
    cfg.update(kw)
    return GCOOLMultiplex.from_config(data.num_features, ["a", "b", "c"], **cfg)


@pytest.mark.parametrize("shared", [True, False])
def test_step_equals_composed_parts(shared):
    data = multiplex()
    m = build(data, shared_assignment=shared)
    m.prepare(data)
    m.set_epoch(2)  # alpha = 0.5, c = exp(-0.1)
    loss = m(data)
    hs = [m.projector(enc(data.x, data.relations[r]))
          for enc, r in zip(m.encoders, "abc")]
    pairs = list(combinations(range(3), 2))
    node = sum(info_nce(hs[a], hs[b], 0.5, intra_view=False) for a, b in pairs) / 3
    phi = F.normalize(m.centers)
    if shared:
        hbar = F.normalize(torch.stack(hs).mean(0)).detach()
        rs = [torch.softmax(hbar @ phi.t() / 0.5, 1)] * 3
    else:
        rs = [torch.softmax(h.detach() @ phi.t() / 0.5, 1) for h in hs]
    deca = sum(deca_loss(r, data.relations[n]) for r, n in zip(rs, "abc")) / 3
    resc = sum(resc_loss(hs[a], hs[b], rs[a], rs[b], 0.5) for a, b in pairs) / 3
    alpha, coef = 0.5, math.exp(-0.1)
    ref = node + alpha * (coef * deca + (1 - coef) * resc)
    assert torch.allclose(loss, ref, rtol=1e-5, atol=1e-6)
    # Embedding: the mean over relations of the encoder outputs.
    z = m.embed(data)
    ref_z = torch.stack([enc(data.x, data.relations[r])
                         for enc, r in zip(m.encoders, "abc")]).mean(0)
    assert torch.allclose(z, ref_z, atol=1e-6)


def test_cached_adjacency_follows_the_graph():
    data = multiplex()
    m = build(data)
    assert all(c.cached for enc in m.encoders for c in enc.convs)
    plain = GCNEncoder(10, 8, hidden_channels=12, activation="prelu")
    plain.load_state_dict(m.encoders[0].state_dict())
    assert torch.allclose(m.encode(data), m.encode(data))
    first = m.encoders[0]
    assert torch.allclose(m._encode(0, Data(x=data.x, edge_index=data.relations["a"])),
                          plain(data.x, data.relations["a"]), atol=1e-6)
    other = multiplex(seed=1)
    other.x = data.x
    assert torch.allclose(m._encode(0, Data(x=data.x, edge_index=other.relations["a"])),
                          plain(data.x, other.relations["a"]), atol=1e-6)
    assert first is m.encoders[0]
    # With augmentation the graphs change every step: no caching.
    aug = build(data, drop_edge=0.2)
    assert not any(c.cached for enc in aug.encoders for c in enc.convs)
    aug.set_epoch(3)
    assert torch.isfinite(aug(data))


def test_fit_and_schedule():
    data = multiplex()
    m = build(data, stride=10)
    hist = gcl.fit(m, data, epochs=4, lr=0.01, seed=0, progress=False)
    assert all(math.isfinite(v) for v in hist.loss)
    m.set_epoch(1)
    assert set(m.losses(data)) == {"node", "deca", "loss"}
    m.set_epoch(3)
    assert set(m.losses(data)) == {"node", "loss"}


def test_errors():
    data = multiplex()
    m = build(data)
    bad = copy.copy(data)
    del bad.relations
    with pytest.raises(ValueError, match="relations"):
        m(bad)
    bad = copy.copy(data)
    bad.relations = {"a": data.relations["a"], "b": data.relations["b"]}
    with pytest.raises(ValueError, match="no \\['c'\\]"):
        m(bad)
    with pytest.raises(ValueError, match="two distinct"):
        GCOOLMultiplex.from_config(10, ["a"])
    with pytest.raises(ValueError, match="encoders"):
        GCOOLMultiplex(m.encoders[:2], 8, ["a", "b", "c"])
    with pytest.raises(ValueError, match="drop_edge"):
        build(data, drop_edge=[0.1, 0.2])


def test_real_aminer_smoke():
    root = os.environ.get("GCL_DATA")
    if not root or not (Path(root) / "heco" / "aminer").is_dir():
        pytest.skip("set GCL_DATA to shared/data to run the real-data check")
    from gcl.datasets import heco_dir, load_heco_multiplex
    from gcl.eval import labels_per_class, load_heco_splits

    data = load_heco_multiplex("aminer", root=root)
    m = GCOOLMultiplex.from_config(data.num_features, data.metapaths,
                                   hidden_channels=16, first_hidden=32,
                                   num_communities=4)
    hist = gcl.fit(m, data, epochs=2, lr=0.001, seed=0, progress=False)
    assert all(math.isfinite(v) for v in hist.loss)
    res = labels_per_class(m.embed(data), data.y,
                           splits=load_heco_splits(heco_dir("aminer", root), (20,)),
                           runs=1, epochs=20)
    assert 0 <= res.metrics["macro_f1@20"] <= 1
