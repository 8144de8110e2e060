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
from gcl.nn import GCNEncoder
from gcl.train import TorchNeighborSampler, neighbor_loader
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
