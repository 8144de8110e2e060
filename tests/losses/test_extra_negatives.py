import pytest
import torch
import torch.nn.functional as F

from gcl.losses import (
    extra_negatives,
    info_nce,
    info_nce_per_node,
    num_extra_negatives,
    team_up_loss,
)


def dense_extra(z1, z2, b, tau, bias=None, intra=True, symmetric=True):
    """The formula: anchors i < b against all B + M rows, by dense matrices."""
    u, v = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = u.size(0)
    c = torch.zeros(n, dtype=u.dtype) if bias is None else bias

    def one(a, o):
        inter = a[:b] @ o.t() / tau + c[None, :]
        terms = [inter]
        if intra:
            q = a[:b] @ a.t() / tau + c[None, :]
            self_pair = torch.zeros(b, n, dtype=torch.bool)
            self_pair[torch.arange(b), torch.arange(b)] = True
            terms.append(q.masked_fill(self_pair, float("-inf")))
        pos = inter[torch.arange(b), torch.arange(b)]
        return (torch.logsumexp(torch.cat(terms, 1), 1) - pos).mean()

    if not symmetric:
        return one(u, v)
    return 0.5 * (one(u, v) + one(v, u))


def inputs(n=11, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    z1 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    z2 = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    bias = torch.rand(n, generator=g, dtype=torch.float64) * 3.0
    return z1, z2, bias


@pytest.mark.parametrize("intra,symmetric", [(True, True), (False, False),
                                              (True, False), (False, True)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_extra_rows_are_negatives_only(intra, symmetric, with_bias):
    z1, z2, bias = inputs()
    b, m = 7, 4
    bias = bias if with_bias else None
    with extra_negatives(m):
        assert num_extra_negatives() == m
        got = info_nce(z1, z2, 0.6, intra, symmetric, bias, block_size=3)
    assert num_extra_negatives() == 0
    ref = dense_extra(z1, z2, b, 0.6, bias, intra, symmetric)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    g_got = torch.autograd.grad(got, [z1, z2])
    g_ref = torch.autograd.grad(ref, [z1, z2])
    for a, r in zip(g_got, g_ref):
        torch.testing.assert_close(a, r, rtol=1e-10, atol=1e-12)
    # the extra rows get gradients as negatives (never as anchors)
    assert g_got[1][b:].abs().sum() > 0


def test_team_up_bias_reaches_the_extra_rows():
    z1, z2, strength = inputs(9, 4, seed=3)
    b, m, gamma, tau = 5, 4, 1.5, 0.5
    with extra_negatives(m):
        got = team_up_loss(z1, z2, strength, gamma, tau)
        per1, per2 = info_nce_per_node(z1, z2, tau, bias=strength * gamma / tau)
    assert per1.shape == (b,) and per2.shape == (b,)
    ref = dense_extra(z1, z2, b, tau, strength * gamma / tau)
    torch.testing.assert_close(got, ref, rtol=1e-12, atol=1e-12)
    for a, r in zip(torch.autograd.grad(got, [z1, z2]),
                    torch.autograd.grad(ref, [z1, z2])):
        torch.testing.assert_close(a, r, rtol=1e-10, atol=1e-12)
    # the extras' strengths matter: changing one changes the loss
    s2 = strength.clone()
    s2[-1] += 2.0
    with extra_negatives(m):
        assert not torch.isclose(team_up_loss(z1, z2, s2, gamma, tau), got)


def test_no_extra_rows_is_the_plain_loss():
    z1, z2, bias = inputs()
    plain = info_nce(z1, z2, 0.5, bias=bias)
    with extra_negatives(0):
        same = info_nce(z1, z2, 0.5, bias=bias)
    assert torch.equal(plain, same)


def test_bad_extra_rows():
    z1, z2, _ = inputs(4)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="extra_negatives"):
            with extra_negatives(bad):
                pass
    with extra_negatives(4), pytest.raises(ValueError, match="anchor row"):
        info_nce(z1, z2)
