import copy

import pytest
import torch
import torch.nn.functional as F
from torch_geometric import seed_everything
from torch_geometric.data import Data
from torch_geometric.datasets import FakeDataset

import gcl
from gcl.augment import AdaptiveEdgeDrop, Compose, EdgeDrop, FeatureMask
from gcl.methods import CSGCL, GCOOL, GRACE, POT, PamC, batch_step
from gcl.methods.two_view import _seed_graph
from gcl.nn import GCNEncoder
from gcl.train import (
    GlobalNegativesLoader,
    TorchNeighborSampler,
    draw_nodes,
    neighbor_loader,
)
from gcl.train.sampling import check_num_neighbors


def graph(n=60, seed=0, sort=True):
    seed_everything(seed)  # FakeDataset draws sizes from Python's random
    d = FakeDataset(1, avg_num_nodes=n, avg_degree=6, num_channels=10,
                    num_classes=3)[0]
    d.x = d.x.double()
    if sort:  # CSC order: a batch of all nodes then keeps the edge order
        perm = torch.argsort(d.edge_index[1], stable=True)
        d.edge_index = d.edge_index[:, perm]
    return d


def full_batch(data):
    loader = neighbor_loader(data, data.num_nodes, [-1, -1], shuffle=False)
    (batch,) = list(loader)
    return batch


def methods(data):
    f = data.num_features
    yield "grace", GRACE.from_config(f, 16, 8, tau=0.5)
    yield "gca", GRACE(GCNEncoder(f, 16), 8, [
        Compose([AdaptiveEdgeDrop(0.3, "degree"), FeatureMask(0.2)]),
        Compose([AdaptiveEdgeDrop(0.4, "pr"), FeatureMask(0.3)])])
    yield "csgcl", CSGCL.from_config(f, 16, 8, t0=0, gamma_max=2.0,
                                     drop_edge=(0.3, 0.2))
    gcool = GCOOL.from_config(f, 16, num_communities=3, stride=50)
    yield "gcool", gcool
    yield "pot", POT(GRACE(GCNEncoder(f, 16), 8,
                           [EdgeDrop(0.3), EdgeDrop(0.2)]), kappa=0.4)


def dense_info_nce(z1, z2, tau, bias=None, intra=True, symmetric=True):
    """GRACE's InfoNCE from its equation, with dense matrices."""
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = u.size(0)
    b = torch.zeros(n, dtype=u.dtype) if bias is None else bias

    def one(a, c):
        inter = a @ c.t() / tau + b[None, :]
        terms = [inter]
        if intra:
            q = a @ a.t() / tau + b[None, :]
            q = q.masked_fill(torch.eye(n, dtype=torch.bool), float("-inf"))
            terms.append(q)
        return torch.logsumexp(torch.cat(terms, 1), 1) - inter.diagonal()

    if not symmetric:
        return one(u, v).mean()
    return 0.5 * (one(u, v).mean() + one(v, u).mean())


def test_torch_sampler_matches_definition():
    data = graph(80, sort=False)
    loader = neighbor_loader(data, 12, [4, 3], backend="torch")
    assert isinstance(loader.node_sampler, TorchNeighborSampler)
    deg = torch.bincount(data.edge_index[1], minlength=data.num_nodes)
    for batch in loader:
        b = batch.batch_size
        # every edge is an edge of the graph, with its id
        assert torch.equal(data.edge_index[:, batch.e_id], batch.n_id[batch.edge_index])
        assert batch.e_id.unique().numel() == batch.e_id.numel()
        # hop 1: min(deg, 4) in-edges per seed; hop 2: min(deg, 3) per new node
        got = torch.bincount(batch.edge_index[1], minlength=batch.num_nodes)
        hop1 = batch.num_sampled_nodes[1]
        assert torch.equal(got[:b], deg[batch.n_id[:b]].clamp(max=4))
        assert torch.equal(got[b:b + hop1], deg[batch.n_id[b:b + hop1]].clamp(max=3))
        assert got[b + hop1:].sum() == 0
        assert torch.equal(batch.x, data.x[batch.n_id])
    # the sampler's index buffer is clean after each batch
    assert (loader.node_sampler._local == -1).all()


def test_batch_of_all_nodes_is_the_graph():
    data = graph(sort=False)
    batch = full_batch(data)
    assert torch.equal(batch.n_id, torch.arange(data.num_nodes))
    assert torch.equal(batch.e_id.sort().values, torch.arange(data.num_edges))
    assert torch.equal(data.edge_index[:, batch.e_id], batch.edge_index)


@pytest.mark.parametrize("name", ["grace", "gca", "csgcl", "gcool", "pot"])
def test_full_minibatch_equals_full_batch(name):
    data = graph()
    method = dict(methods(data))[name].double()
    torch.manual_seed(0)
    method.reset_parameters()
    method.prepare(data)
    method.set_epoch(3)  # CSGCL: gamma > 0; gCooL: DeCA and ReSC both on
    batch = full_batch(data)
    assert torch.equal(batch.e_id, torch.arange(data.num_edges))
    torch.manual_seed(1)
    full = method.step(data) if name != "pot" else method.step(data)
    torch.manual_seed(1)
    mini = batch_step(method, batch)
    assert full.loss.dtype == torch.float64
    torch.testing.assert_close(mini.loss, full.loss, rtol=0, atol=1e-12)
    assert full.terms.keys() == mini.terms.keys()
    for key in full.terms:
        torch.testing.assert_close(mini.terms[key], full.terms[key], rtol=0,
                                   atol=1e-12)
    g_full = torch.autograd.grad(full.loss, list(method.parameters()),
                                 allow_unused=True)
    g_mini = torch.autograd.grad(mini.loss, list(method.parameters()),
                                 allow_unused=True)
    for a, b in zip(g_full, g_mini):
        if a is None:
            assert b is None
        else:
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_full_minibatch_follows_the_edge_order():
    # Unsorted graph: the batch holds the edges in CSC order; it equals the
    # full graph with its edges in that order (GRACE and GCA's adaptive views).
    data = graph(sort=False)
    batch = full_batch(data)
    assert not torch.equal(batch.e_id, torch.arange(data.num_edges))
    perm = Data(x=data.x, edge_index=data.edge_index[:, batch.e_id])
    for name in ("grace", "gca"):
        method = dict(methods(data))[name].double()
        method.prepare(data)
        ref = copy.deepcopy(method)
        ref.prepare(perm)
        torch.manual_seed(5)
        mini = batch_step(method, batch).loss
        torch.manual_seed(5)
        full = ref.step(perm).loss
        torch.testing.assert_close(mini, full, rtol=0, atol=1e-12)


def test_batch_loss_against_brute_force():
    data = graph(90, sort=False)
    loader = neighbor_loader(data, 20, [5, 5])
    batch = next(iter(loader))
    b = batch.batch_size
    grace = GRACE.from_config(data.num_features, 16, 8, tau=0.6).double()
    step = grace.batch_step(batch)
    # the record holds every subgraph node; the loss uses the seeds only
    assert step.zs[0].size(0) == batch.num_nodes
    ref = dense_info_nce(grace.projector(step.zs[0][:b]),
                         grace.projector(step.zs[1][:b]), 0.6)
    torch.testing.assert_close(step.loss, ref, rtol=1e-12, atol=1e-12)
    # CSGCL: Team-up with the full graph's strengths S_i of the seeds
    csgcl = CSGCL.from_config(data.num_features, 16, 8, tau=0.5, t0=0,
                              gamma_max=2.0).double()
    csgcl.prepare(data)
    csgcl.set_epoch(150)
    assert csgcl.gamma == 1.5
    step = csgcl.batch_step(batch)
    s = csgcl.node_strength_[batch.n_id[:b]].double()
    ref = dense_info_nce(csgcl.projector(step.zs[0][:b]),
                         csgcl.projector(step.zs[1][:b]), 0.5,
                         bias=csgcl.gamma * s / 0.5)
    torch.testing.assert_close(step.loss, ref, rtol=1e-12, atol=1e-12)


def test_gcool_batch_uses_the_seed_views():
    data = graph(90, sort=False)
    batch = next(iter(neighbor_loader(data, 25, [4, 4])))
    m = GCOOL.from_config(data.num_features, 16, num_communities=3,
                          stride=50).double()
    m.prepare(data)
    m.set_epoch(2)
    step = m.batch_step(batch)
    assert set(step.terms) == {"node", "deca", "resc"}
    h1 = m.projector(step.zs[0][:25])
    h2 = m.projector(step.zs[1][:25])
    node = dense_info_nce(h1, h2, m.tau, intra=False, symmetric=False)
    torch.testing.assert_close(step.terms["node"], node, rtol=1e-12, atol=1e-12)


def test_fit_minibatch_trains_and_repeats():
    data = graph(120, sort=False)
    data.x = data.x.float()
    kw = dict(epochs=3, lr=0.01, seed=0, progress=False, batch_size=32,
              num_neighbors=[5, 5])
    m1 = GRACE.from_config(data.num_features, 16, 8)
    h1 = gcl.fit(m1, data, **kw)
    m2 = GRACE.from_config(data.num_features, 16, 8)
    h2 = gcl.fit(m2, data, **kw)
    assert h1.loss == h2.loss and len(h1.loss) == 3
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)
    torch.manual_seed(0)
    m1.reset_parameters()
    assert not torch.equal(m1.encoder.convs[0].lin.weight,
                           m2.encoder.convs[0].lin.weight)  # it trained
    csgcl = CSGCL.from_config(data.num_features, 16, 8, t0=1)
    h = gcl.fit(csgcl, data, **kw)
    assert csgcl.node_strength_.numel() == data.num_nodes
    assert all(torch.isfinite(torch.tensor(h.loss)))
    pot = POT(GRACE(GCNEncoder(data.num_features, 16), 8,
                    [EdgeDrop(0.3), EdgeDrop(0.2)]), kappa=0.4, pot_batch=10)
    h = gcl.fit(pot, data, **kw)
    assert all(torch.isfinite(torch.tensor(h.loss)))


def test_fit_minibatch_bad_input():
    data = graph(40)
    data.x = data.x.float()
    m = GRACE.from_config(data.num_features, 16, 8)
    with pytest.raises(ValueError, match="batch_size"):
        gcl.fit(m, data, 1, batch_size=0, progress=False)
    with pytest.raises(ValueError, match="num_neighbors"):
        gcl.fit(m, data, 1, batch_size=8, num_neighbors=[0, 2], progress=False)
    with pytest.raises(ValueError, match="num_neighbors"):
        check_num_neighbors([])
    with pytest.raises(ValueError, match="mini-batch"):
        gcl.fit(PamC.from_config(data.num_features, num_clusters=3), data, 1,
                batch_size=8, progress=False)
    with pytest.raises(ValueError, match="sampled subgraph"):
        m.batch_step(data)
    with pytest.raises(ValueError, match="distributed=True needs"):
        gcl.fit(m, data, 1, distributed=True, progress=False)


def dense_extra_info_nce(z1, z2, b, tau, bias=None, intra=True, symmetric=True):
    """InfoNCE of anchors i < b against all rows (the rest negatives only)."""
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = u.size(0)
    c = torch.zeros(n, dtype=u.dtype) if bias is None else bias
    eye = torch.zeros(b, n, dtype=torch.bool)
    eye[torch.arange(b), torch.arange(b)] = True

    def one(a, o):
        inter = a[:b] @ o.t() / tau + c[None, :]
        terms = [inter]
        if intra:
            terms.append((a[:b] @ a.t() / tau + c).masked_fill(eye, float("-inf")))
        return (torch.logsumexp(torch.cat(terms, 1), 1) - inter[eye]).mean()

    return 0.5 * (one(u, v) + one(v, u)) if symmetric else one(u, v)


def negatives_batch(data, b=20, m=15, fanout=(4, 4), seed=0):
    torch.manual_seed(seed)
    loader = GlobalNegativesLoader(neighbor_loader(data, b, list(fanout)), data,
                                   m, list(fanout))
    return next(iter(loader))


def test_global_negatives_loader_joins_two_samples():
    data = graph(90, sort=False)
    torch.manual_seed(0)
    loader = GlobalNegativesLoader(neighbor_loader(data, 20, [3, 3]), data, 12,
                                   [3, 3])
    assert len(loader) == 5
    drawn = []
    for batch in loader:
        s, m = batch.negatives_start, batch.num_negatives
        assert m == 12 and batch.batch_size <= 20
        # one graph: every edge is an edge of data, with its id and rows
        assert torch.equal(data.edge_index[:, batch.e_id],
                           batch.n_id[batch.edge_index])
        assert torch.equal(batch.x, data.x[batch.n_id])
        assert batch.e_id.numel() == batch.edge_index.size(1)
        # disjoint union: no edge joins the seeds' part and the drawn part
        ei = batch.edge_index
        assert torch.equal(ei[0] < s, ei[1] < s)
        nodes = batch.n_id[s:s + m]
        assert nodes.unique().numel() == m
        drawn.append(nodes)
    assert not torch.equal(drawn[0], drawn[1])  # a fresh draw per batch


def test_draw_nodes_is_uniform():
    torch.manual_seed(0)
    for n, m in ((10, 3), (10, 7)):
        counts = torch.zeros(n)
        first = torch.zeros(n)
        for _ in range(3000):
            d = draw_nodes(n, m)
            assert d.unique().numel() == m and 0 <= d.min() and d.max() < n
            counts[d] += 1
            first[d[0]] += 1
        expect = 3000 * m / n
        assert (counts - expect).abs().max() < 0.1 * expect
        assert (first - 300).abs().max() < 0.25 * 300  # random order too
    with pytest.raises(ValueError, match="distinct"):
        draw_nodes(5, 6)


def test_global_negatives_loss_against_brute_force():
    data = graph(90, sort=False)
    batch = negatives_batch(data)
    b, s, m = batch.batch_size, batch.negatives_start, batch.num_negatives
    rows = torch.cat([torch.arange(b), torch.arange(s, s + m)])
    grace = GRACE.from_config(data.num_features, 16, 8, tau=0.6).double()
    step = grace.batch_step(batch)
    assert step.zs[0].size(0) == batch.num_nodes
    h1, h2 = (grace.projector(z[rows]) for z in step.zs)
    ref = dense_extra_info_nce(h1, h2, b, 0.6)
    torch.testing.assert_close(step.loss, ref, rtol=1e-12, atol=1e-12)
    params = list(grace.parameters())
    for a, r in zip(torch.autograd.grad(step.loss, params, retain_graph=True),
                    torch.autograd.grad(ref, params)):
        torch.testing.assert_close(a, r, rtol=1e-9, atol=1e-12)
    # CSGCL: the drawn nodes' samples carry their own strengths S_j
    csgcl = CSGCL.from_config(data.num_features, 16, 8, tau=0.5, t0=0,
                              gamma_max=2.0).double()
    csgcl.prepare(data)
    csgcl.set_epoch(150)
    step = csgcl.batch_step(batch)
    strength = csgcl.node_strength_[batch.n_id[rows]].double()
    h1, h2 = (csgcl.projector(z[rows]) for z in step.zs)
    ref = dense_extra_info_nce(h1, h2, b, 0.5, bias=1.5 * strength / 0.5)
    torch.testing.assert_close(step.loss, ref, rtol=1e-12, atol=1e-12)
    params = list(csgcl.parameters())
    for a, r in zip(torch.autograd.grad(step.loss, params, retain_graph=True),
                    torch.autograd.grad(ref, params)):
        torch.testing.assert_close(a, r, rtol=1e-9, atol=1e-12)


def test_global_negatives_gcool_and_pot_terms():
    data = graph(90, sort=False)
    batch = negatives_batch(data, b=25, m=10)
    b, s, m = batch.batch_size, batch.negatives_start, batch.num_negatives
    rows = torch.cat([torch.arange(b), torch.arange(s, s + m)])
    g = GCOOL.from_config(data.num_features, 16, num_communities=3,
                          stride=50).double()
    g.prepare(data)
    g.set_epoch(2)
    step = g.batch_step(batch)
    assert set(step.terms) == {"node", "deca", "resc"}
    h1, h2 = (g.projector(z[rows]) for z in step.zs)
    node = dense_extra_info_nce(h1, h2, b, g.tau, intra=False, symmetric=False)
    torch.testing.assert_close(step.terms["node"], node, rtol=1e-12, atol=1e-12)
    # DeCA and ReSC stay on the seeds (and the seeds' views)
    seeds = g.objective(step.zs[0][:b], step.zs[1][:b],
                        tuple(_seed_graph(v, b) for v in step.views))
    for key in ("deca", "resc"):
        torch.testing.assert_close(step.terms[key], seeds[key], rtol=0,
                                   atol=1e-12)
    # POT around GRACE: the base term has the extras, POT's own the seeds
    pot = POT(GRACE(GCNEncoder(data.num_features, 16), 8,
                    [EdgeDrop(0.3), EdgeDrop(0.2)], tau=0.5), kappa=0.4).double()
    pot.prepare(data)
    step = batch_step(pot, batch)
    base = pot.base
    h1, h2 = (base.projector(z[rows]) for z in step.zs)
    torch.testing.assert_close(step.terms["base"],
                               dense_extra_info_nce(h1, h2, b, 0.5),
                               rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(step.loss, 0.6 * step.terms["base"]
                               + 0.4 * step.terms["pot"], rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", ["grace", "gcool", "csgcl"])
def test_fit_with_global_negatives(name):
    data = graph(100, sort=False)
    data.x = data.x.float()
    kw = dict(epochs=2, lr=0.01, seed=0, progress=False, batch_size=32,
              num_neighbors=[4, 4], num_negatives=20)
    make = {"grace": lambda: GRACE.from_config(data.num_features, 16, 8),
            "gcool": lambda: GCOOL.from_config(data.num_features, 16,
                                                num_communities=3, stride=50),
            "csgcl": lambda: CSGCL.from_config(data.num_features, 16, 8, t0=0)}
    m1, m2 = make[name](), make[name]()
    h1 = gcl.fit(m1, data, **kw)
    h2 = gcl.fit(m2, data, **kw)
    assert len(h1.loss) == 2 and all(torch.isfinite(torch.tensor(h1.loss)))
    assert h1.loss == h2.loss  # seeded: the same draws
    h3 = gcl.fit(make[name](), data, **{**kw, "num_negatives": None})
    assert h3.loss != h1.loss


def test_num_negatives_none_is_unchanged():
    data = graph(100, sort=False)
    data.x = data.x.float()
    kw = dict(epochs=2, lr=0.01, seed=0, progress=False, batch_size=32,
              num_neighbors=[4, 4])
    m1 = GRACE.from_config(data.num_features, 16, 8)
    m2 = GRACE.from_config(data.num_features, 16, 8)
    h1 = gcl.fit(m1, data, **kw)
    h2 = gcl.fit(m2, data, num_negatives=None, **kw)
    assert h1.loss == h2.loss
    for a, b in zip(m1.parameters(), m2.parameters()):
        assert torch.equal(a, b)


def test_num_negatives_bad_values():
    data = graph(40)
    data.x = data.x.float()
    m = GRACE.from_config(data.num_features, 16, 8)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="num_negatives must be a positive"):
            gcl.fit(m, data, 1, batch_size=8, num_negatives=bad, progress=False)
    with pytest.raises(ValueError, match="set batch_size"):
        gcl.fit(m, data, 1, num_negatives=5, progress=False)
    with pytest.raises(ValueError, match="exceeds"):
        gcl.fit(m, data, 1, batch_size=8, num_negatives=data.num_nodes + 1,
                progress=False)
