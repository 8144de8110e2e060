"""LightGCN, SimGCL and LightGCL: composition, training through fit, configs."""

import pytest
import torch

import gcl
from gcl.app import load_config
from gcl.datasets import InteractionData
from gcl.eval import ranking_split
from gcl.losses import bpr_loss, l2_reg_batch_ego, lightgcl_code_loss
from gcl.methods import RECOMMENDERS, LightGCL, LightGCN, SimGCL, build_method


def toy(users=40, items=60, m=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    # two taste groups so that there is something to learn
    u = torch.randint(users, (m,), generator=g)
    shift = (u % 2) * (items // 2)
    i = shift + torch.randint(items // 2, (m,), generator=g)
    key = torch.unique(u * items + i)
    pairs = torch.stack([key // items, key % items])
    perm = torch.randperm(pairs.size(1), generator=g)
    test = pairs[:, perm[:80]]
    train = pairs[:, perm[80:]]
    return InteractionData(users, items, train, test).split_validation(0.1, seed=0)


@pytest.mark.parametrize("name", RECOMMENDERS)
def test_fit_is_seeded_and_learns(name):
    data = toy()
    # SimGCL's uniformity term (lambda 0.5) dominates BPR on a 40 x 60 toy
    kw = {"lightgcl": {"setting": "paper"}, "simgcl": {"cl_rate": 0.02}}.get(name, {})
    m = build_method(name, None, num_users=40, num_items=60, batch_size=64, **kw)
    h1 = gcl.fit(m, data, epochs=8, lr=1e-2, seed=0, progress=False)
    u1, i1 = m.embed(data)
    h2 = gcl.fit(m, data, epochs=8, lr=1e-2, seed=0, progress=False)
    u2, _ = m.embed(data)
    assert h1.loss == h2.loss and torch.equal(u1, u2)
    assert h1.loss[-1] < h1.loss[0]
    assert u1.shape == (40, m.embedding_dim) and i1.shape == (60, m.embedding_dim)
    res = ranking_split(u1, i1, data, "test", ks=(10,))
    # random ranking: about 10 / 48 unmasked items; the taste groups allow ~0.45
    assert res.metrics["recall@10"] > 0.3


def test_lightgcn_loss_is_bpr_plus_ego_l2():
    data = toy()
    m = LightGCN(40, 60, embedding_dim=8, num_layers=2, reg=1e-2).double()
    m.prepare(data)
    batch = (torch.tensor([0, 3, 5]), torch.tensor([1, 2, 3]), torch.tensor([7, 8, 9]))
    r = data.biadjacency().to_dense().double()
    embs_u, embs_i = [m.user_emb], [m.item_emb]
    for _ in range(2):
        embs_u, embs_i = embs_u + [r @ embs_i[-1]], embs_i + [r.t() @ embs_u[-1]]
    eu, ei = torch.stack(embs_u).mean(0), torch.stack(embs_i).mean(0)
    u, p, n = batch
    ref = bpr_loss(eu[u], ei[p], ei[n]) + 1e-2 * l2_reg_batch_ego(
        m.user_emb[u], m.item_emb[p], m.item_emb[n])
    assert m(data, batch).item() == pytest.approx(ref.item(), rel=1e-12)


def test_lightgcl_code_forward_composes_the_official_equations():
    data = toy()
    torch.manual_seed(0)
    m = LightGCL(40, 60, "code", embedding_dim=8, lambda2=1e-3).double()
    m.prepare(data)
    r = data.biadjacency().to_dense().double()
    s_ = m.svd.s_.double()
    us, vs = m.svd.u_.double() * s_, m.svd.v_.double() * s_
    ut, vt = m.svd.u_.double().t(), m.svd.v_.double().t()
    e_u, e_i, g_u, g_i = [m.user_emb], [m.item_emb], [m.user_emb], [m.item_emb]
    for _ in range(2):  # model.py's training phase, dense
        g_u.append(us @ (vt @ e_i[-1]))
        g_i.append(vs @ (ut @ e_u[-1]))
        e_u, e_i = e_u + [r @ e_i[-1]], e_i + [r.t() @ e_u[-1]]
    eu, ei, gu, gi = (sum(x) for x in (e_u, e_i, g_u, g_i))
    users, pos, neg = torch.tensor([0, 0, 7]), torch.tensor([1, 4, 9]), torch.tensor(
        [2, 3, 5])
    loss_s = lightgcl_code_loss(gu, eu, gi, ei, users, torch.cat([pos, neg]), tau=0.2)
    ref = (bpr_loss(eu[users], ei[pos], ei[neg]) + 0.2 * loss_s
           + 1e-3 * (m.user_emb.square().sum() + m.item_emb.square().sum()))
    assert m(data, (users, pos, neg)).item() == pytest.approx(ref.item(), rel=1e-12)


def test_lightgcl_paper_lr_decay_is_the_official_one():
    class Probe(torch.optim.SGD):  # records the rate of every step
        rates: list = []

        def step(self, closure=None):
            self.rates.append(self.param_groups[0]["lr"])
            return super().step(closure)

    # old_setting/main.py: learning_rate_decay before every epoch, epoch 0 too
    group, official = {"lr": 1e-3}, []
    for _ in range(60):
        lr = group["lr"] * 0.98
        if lr > 0.0005:
            group["lr"] = lr
        official.append(group["lr"])
    paper = LightGCL(40, 60, "paper", batch_size=64)
    assert [paper.learning_rate(e, 1e-3) for e in range(1, 61)] == official
    assert official[33] == official[-1] > 5e-4 > official[-1] * 0.98
    assert LightGCL(40, 60).learning_rate(5, 1e-3) is None  # code: no decay
    data = toy()
    opt = Probe(paper.parameters(), lr=1e-3)
    gcl.fit(paper, data, epochs=3, optimizer=opt, seed=0, progress=False)
    per_epoch = -(-40 // 64)  # one batch of users per epoch
    assert opt.rates[::per_epoch] == official[:3]
    assert opt.param_groups[0]["initial_lr"] == 1e-3


def test_settings_and_configs():
    paper = LightGCL(10, 12, "paper")
    assert paper.embedding_dim == 32 and paper.svd.adjacency == "raw"
    assert paper.propagation.residual and paper.propagation.edge_dropout == 0.25
    assert paper.sampler.mode == "user_batch" and len(paper.weights) == 2
    code = LightGCL(10, 12)
    assert code.embedding_dim == 64 and code.svd.adjacency == "normalized"
    assert code.sampler.batch_size == 4096 and len(code.weights) == 0
    for method, folder in (("lightgcn", "lightgcn"), ("simgcl", "simgcl"),
                           ("lightgcl", "lightgcl"), ("lightgcl", "lightgcl_paper")):
        for ds in ("Gowalla", "LastFM"):
            cfg = load_config(folder, ds)
            assert cfg["method"] == method
            m = build_method(cfg["method"], None, num_users=10, num_items=12,
                             **cfg["model"])
            assert isinstance(m, (LightGCN, SimGCL, LightGCL))
    assert load_config("lightgcn", "Gowalla")["paper"]["value"] == 18.30


def test_input_errors():
    data = toy()
    m = LightGCN(41, 60)
    with pytest.raises(ValueError, match="41 x 60"):
        gcl.fit(m, data, epochs=1, progress=False)
    with pytest.raises(ValueError, match="InteractionData"):
        m.embed(torch.zeros(3))
    with pytest.raises(ValueError, match="setting"):
        LightGCL(3, 3, "both")
    with pytest.raises(ValueError, match="not options"):
        build_method("simgcl", None, num_users=3, num_items=3, drop_edge=0.1)


def test_simgcl_forward_composes_selfrec_equations():
    # SELFRec's SimGCL.train step, dense: noise sign(e) * normalize(U(0,1)) * eps
    # added after every layer and propagated, layer 0 left out of the mean,
    # BPR with 1e-5 in the log, reg * (|E_u|_F / B + |E_i+|_F / B) unsquared on
    # the clean batch rows, one-directional InfoNCE on the distinct batch users
    # and positive items
    data = toy()
    torch.manual_seed(0)
    m = SimGCL(40, 60, embedding_dim=8, cl_rate=0.5, eps=0.1, tau=0.2,
               reg=1e-2).double()
    m.prepare(data)
    r = data.biadjacency().to_dense().double()

    def dense(noisy):
        eu, ei, us, its = m.user_emb, m.item_emb, [], []
        for _ in range(2):
            eu, ei = r @ ei, r.t() @ eu
            if noisy:  # gcl's draw order: users, then items, per layer
                eu = eu + eu.sign() * torch.nn.functional.normalize(
                    torch.rand_like(eu), dim=-1) * 0.1
                ei = ei + ei.sign() * torch.nn.functional.normalize(
                    torch.rand_like(ei), dim=-1) * 0.1
            us, its = us + [eu], its + [ei]
        return sum(us) / 2, sum(its) / 2

    def nce(a, b):
        a, b = (torch.nn.functional.normalize(x, dim=1) for x in (a, b))
        return -torch.diag(torch.log_softmax(a @ b.t() / 0.2, dim=1)).mean()

    users, pos, neg = (torch.tensor([0, 0, 7, 3]), torch.tensor([1, 4, 9, 4]),
                       torch.tensor([2, 3, 5, 6]))
    torch.manual_seed(1)
    loss = m(data, (users, pos, neg))
    g_ours = torch.autograd.grad(loss, [m.user_emb, m.item_emb])
    torch.manual_seed(1)
    eu, ei = dense(False)
    (u1, i1), (u2, i2) = dense(True), dense(True)
    uu, ii = torch.tensor([0, 3, 7]), torch.tensor([1, 4, 9])
    diff = (eu[users] * (ei[pos] - ei[neg])).sum(-1)
    ref = (-torch.log(torch.sigmoid(diff) + 1e-5).mean()
           + 1e-2 * (eu[users].norm() / 4 + ei[pos].norm() / 4)
           + 0.5 * (nce(u1[uu], u2[uu]) + nce(i1[ii], i2[ii])))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-12)
    g_ref = torch.autograd.grad(ref, [m.user_emb, m.item_emb])
    for a, b in zip(g_ours, g_ref):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
    # the ranking embeddings are the clean ones (no noise in evaluation mode)
    eu_eval, ei_eval = m.embed(data)
    assert torch.allclose(eu_eval, eu.detach(), atol=1e-14)
    assert torch.allclose(ei_eval, ei.detach(), atol=1e-14)
