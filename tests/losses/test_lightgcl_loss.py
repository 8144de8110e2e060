"""LightGCL's contrastive losses and the ranking losses against dense float64
references written from the official code's equations."""

import pytest
import torch
import torch.nn.functional as F

from gcl.losses import (
    bpr_loss,
    cross_logsumexp,
    hinge_rank_loss,
    l2_reg_batch_ego,
    l2_reg_batch_norm,
    l2_reg_full,
    lightgcl_code_loss,
    lightgcl_paper_loss,
)

D = torch.float64


def _rand(*shape, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=g, dtype=D) * scale).requires_grad_()


def _code_ref(gu, eu, gi, ei, uids, iids, temp):
    """HKUDS/LightGCL model.py loss_s, literally (dense, no blocks)."""
    neg = torch.log(torch.exp(gu[uids] @ eu.T / temp).sum(1) + 1e-8).mean()
    neg = neg + torch.log(torch.exp(gi[iids] @ ei.T / temp).sum(1) + 1e-8).mean()
    pos = (torch.clamp((gu[uids] * eu[uids]).sum(1) / temp, -5.0, 5.0)).mean() + \
        (torch.clamp((gi[iids] * ei[iids]).sum(1) / temp, -5.0, 5.0)).mean()
    return -pos + neg


def _paper_ref(zu, gu, zi, gi, uids, iids, ws, masks, temp):
    """old_setting/model.py's per-layer loss, literally."""
    loss = 0
    for layer in range(len(zu)):
        mu, mi = masks[layer]
        for z, g, idx, m in ((zu, gu, uids, mu), (zi, gi, iids, mi)):
            gnn = F.normalize(z[layer][idx], p=2, dim=1)
            hyper = F.normalize(g[layer][idx], p=2, dim=1) @ ws[layer]
            pos = torch.exp((gnn * hyper).sum(1) / temp)
            neg = torch.exp(gnn @ hyper.T / temp).sum(1)
            loss = loss + ((-1 * torch.log(pos / (neg + 1e-8) + 1e-8)) * m).sum()
    return loss


def _grads(loss, tensors):
    return torch.autograd.grad(loss, tensors)


@pytest.mark.parametrize("cache_mb", [0.0, 1.0])
@pytest.mark.parametrize("block", [1, 3, 1000])
def test_cross_logsumexp_matches_dense(block, cache_mb):
    # cache_mb=1 keeps the forward's blocks for the backward, 0 recomputes
    a, b = _rand(7, 4, seed=1), _rand(11, 4, seed=2)
    w = torch.arange(7, dtype=D)
    out = cross_logsumexp(a, b, 0.3, block, cache_mb)
    ref = torch.logsumexp(a @ b.T / 0.3, dim=1)
    assert torch.allclose(out, ref, atol=1e-12)
    g = _grads((out * w).sum(), (a, b))
    g_ref = _grads((ref * w).sum(), (a, b))
    for x, y in zip(g, g_ref):
        assert torch.allclose(x, y, atol=1e-12)


@pytest.mark.parametrize("block,cache_mb", [(2, 0.0), (None, 0.0), (2, 1.0)])
def test_code_loss_matches_official_formula(block, cache_mb):
    U, n_i, d = 9, 13, 5
    gu, eu = _rand(U, d, seed=3, scale=0.3), _rand(U, d, seed=4, scale=0.3)
    gi, ei = _rand(n_i, d, seed=5, scale=0.3), _rand(n_i, d, seed=6, scale=0.3)
    uids = torch.tensor([0, 3, 3, 8, 1, 0])  # repeats, as one per interaction
    iids = torch.tensor([2, 2, 12, 5, 7, 0, 1, 2, 9, 9, 4, 3])
    out = lightgcl_code_loss(gu, eu, gi, ei, uids, iids, tau=0.2, block_size=block,
                             cache_mb=cache_mb)
    ref = _code_ref(gu, eu, gi, ei, uids, iids, 0.2)
    assert out.item() == pytest.approx(ref.item(), abs=1e-11)
    for x, y in zip(_grads(out, (gu, eu, gi, ei)), _grads(ref, (gu, eu, gi, ei))):
        assert torch.allclose(x, y, atol=1e-11)


def test_code_loss_clamp_is_on_the_positive_only():
    # positives g_u.e_u / tau far beyond the clamp c = 5
    U, d = 4, 3
    e = _rand(U, d, seed=7, scale=2.0)
    g = e.detach().clone().requires_grad_()
    idx = torch.arange(U)
    out = lightgcl_code_loss(g, e, g, e, idx, idx, tau=0.2)
    ref = _code_ref(g, e, g, e, idx, idx, 0.2)
    assert out.item() == pytest.approx(ref.item(), rel=1e-12)
    assert ((g * e).sum(1) / 0.2).min() > 5
    # the official unshifted exp overflows where the block-wise lse does not
    big = _rand(U, d, seed=7, scale=10.0)
    assert torch.isinf(_code_ref(big, big, big, big, idx, idx, 0.2))
    assert torch.isfinite(lightgcl_code_loss(big, big, big, big, idx, idx, tau=0.2))


def test_cross_logsumexp_cache_is_freed_and_one_sided():
    a, b = _rand(6, 3, seed=3), _rand(9, 3, seed=4)
    ref = torch.logsumexp(a @ b.T / 0.7, dim=1).sum()
    g_ref = _grads(ref, (a, b))
    out = cross_logsumexp(a, b, 0.7, 4, cache_mb=1.0).sum()
    first = torch.autograd.grad(out, (a, b), retain_graph=True)
    again = torch.autograd.grad(out, (a, b))  # cache dropped: recomputes
    for x, y, z in zip(first, again, g_ref):
        assert torch.allclose(x, z, atol=1e-12) and torch.allclose(y, z, atol=1e-12)
    (gb,) = _grads(cross_logsumexp(a.detach(), b, 0.7, 4, 1.0).sum(), (b,))
    assert torch.allclose(gb, g_ref[1], atol=1e-12)
    with pytest.raises(ValueError, match="cache_mb"):
        cross_logsumexp(a, b, cache_mb=-1.0)


@pytest.mark.parametrize("cache_mb", [0.0, 1.0])
def test_paper_loss_matches_official_formula(cache_mb):
    U, n_i, d, L = 8, 10, 4, 2
    zu = [_rand(U, d, seed=10 + k) for k in range(L)]
    gu = [_rand(U, d, seed=20 + k) for k in range(L)]
    zi = [_rand(n_i, d, seed=30 + k) for k in range(L)]
    gi = [_rand(n_i, d, seed=40 + k) for k in range(L)]
    ws = [_rand(d, d, seed=50 + k) for k in range(L)]
    uids = torch.tensor([1, 4, 6, 7])
    iids = torch.tensor([0, 2, 3, 5, 9])
    g = torch.Generator().manual_seed(0)
    masks = [((torch.rand(4, generator=g) > 0.5).to(D),
              (torch.rand(5, generator=g) > 0.5).to(D)) for _ in range(L)]
    out = lightgcl_paper_loss(zu, gu, zi, gi, uids, iids, tau=0.5, weights=ws,
                              masks=masks, block_size=3, cache_mb=cache_mb)
    ref = _paper_ref(zu, gu, zi, gi, uids, iids, ws, masks, 0.5)
    assert out.item() == pytest.approx(ref.item(), abs=1e-11)
    params = [*zu, *gu, *zi, *gi, *ws]
    for x, y in zip(_grads(out, params), _grads(ref, params)):
        assert torch.allclose(x, y, atol=1e-10)


def test_paper_loss_masks_drawn_with_keep_prob():
    U, d = 50, 4
    z, g = [_rand(U, d, seed=1)], [_rand(U, d, seed=2)]
    idx = torch.arange(U)
    torch.manual_seed(0)
    full = lightgcl_paper_loss(z, g, z, g, idx, idx, keep_prob=1.0)
    none = lightgcl_paper_loss(z, g, z, g, idx, idx, keep_prob=0.0)
    ones = [(torch.ones(U), torch.ones(U))]
    ref = lightgcl_paper_loss(z, g, z, g, idx, idx, masks=ones)
    assert full.item() == pytest.approx(ref.item(), rel=1e-12)
    assert none.item() == 0.0


def test_ranking_losses_and_regularisers():
    u, p, n = _rand(6, 3, seed=1), _rand(6, 3, seed=2), _rand(6, 3, seed=3)
    ref = -(((u * p).sum(1) - (u * n).sum(1)).sigmoid().log()).mean()
    assert bpr_loss(u, p, n).item() == pytest.approx(ref.item(), rel=1e-12)
    ref_eps = -torch.log(1e-5 + torch.sigmoid((u * p).sum(1) - (u * n).sum(1)))
    assert bpr_loss(u, p, n, eps=1e-5).item() == pytest.approx(
        ref_eps.mean().item(), rel=1e-12)
    # old LightGCL: sum of hinges over the number of users
    hinge = F.relu(1 - (u * p).sum(1) + (u * n).sum(1)).sum() / 256
    assert hinge_rank_loss(u, p, n, normalizer=256).item() == pytest.approx(
        hinge.item(), rel=1e-12)
    ego = 0.5 * (u.norm(2).pow(2) + p.norm(2).pow(2) + n.norm(2).pow(2)) / 6
    assert l2_reg_batch_ego(u, p, n).item() == pytest.approx(ego.item(), rel=1e-12)
    sel = torch.norm(u, p=2) / 6 + torch.norm(p, p=2) / 6
    assert l2_reg_batch_norm(u, p).item() == pytest.approx(sel.item(), rel=1e-12)
    full = u.norm(2).square() + p.norm(2).square()
    assert l2_reg_full([u, p]).item() == pytest.approx(full.item(), rel=1e-12)
    with pytest.raises(ValueError, match=r"\[B, d\]"):
        bpr_loss(u, p[:3], n)
    with pytest.raises(ValueError, match="tau"):
        cross_logsumexp(u, p, tau=0.0)
