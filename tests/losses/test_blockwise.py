"""The cores of gcl.losses._blockwise: pair_dots against a gather, the
row and column log-sum-exps against the dense computation."""

import pytest
import torch
import torch.nn.functional as F

from gcl.losses._blockwise import pair_dots, pair_pattern


def _gather(a, b, index):
    return (a[index[0]] * b[index[1]]).sum(dim=1)


@pytest.mark.parametrize("sort_rows", [True, False])
def test_pair_dots_equal_a_gather_with_gradients(sort_rows):
    g = torch.Generator().manual_seed(0)
    n, m, d, p = 13, 9, 5, 60
    index = torch.stack([torch.randint(0, n, (p,), generator=g),
                         torch.randint(0, m, (p,), generator=g)])
    index[:, 1] = index[:, 0]  # a repeated pair
    if sort_rows:
        index = index[:, torch.argsort(index[0], stable=True)]
    a = torch.randn(n, d, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(m, d, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(p, generator=g, dtype=torch.float64)

    pattern = pair_pattern(index, n, m)
    assert (pattern.order is None) == sort_rows
    out = pair_dots(a, b, pattern)
    ga, gb = torch.autograd.grad((out * w).sum(), (a, b))

    ref = _gather(a, b, index)
    ra, rb = torch.autograd.grad((ref * w).sum(), (a, b))
    torch.testing.assert_close(out, ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(ga, ra, rtol=0, atol=1e-12)
    torch.testing.assert_close(gb, rb, rtol=0, atol=1e-12)


def test_pair_dots_same_tensor_both_sides_and_no_grad():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(7, 3, generator=g, dtype=torch.float64, requires_grad=True)
    index = torch.tensor([[0, 0, 3, 6, 6], [1, 0, 6, 2, 6]])
    pattern = pair_pattern(index, 7, 7)
    out = pair_dots(a, a, pattern)
    (grad,) = torch.autograd.grad(out.sum(), a)
    ref = _gather(a, a, index)
    (rgrad,) = torch.autograd.grad(ref.sum(), a)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(grad, rgrad)
    with torch.no_grad():
        torch.testing.assert_close(pair_dots(a, a, pattern), ref.detach())


def test_pair_pattern_rows_without_pairs():
    index = torch.tensor([[4, 1, 1], [0, 2, 0]])
    pattern = pair_pattern(index, 6, 3)
    assert pattern.crow.tolist() == [0, 0, 2, 2, 2, 3, 3]
    assert pattern.crow_t.tolist() == [0, 2, 2, 3]
    a = torch.arange(12.0).view(6, 2)
    b = torch.arange(6.0).view(3, 2)
    torch.testing.assert_close(pair_dots(a, b, pattern), _gather(a, b, index))


def _cross_reference(u, v, tau, g_row, g_col):
    """Row and column log-sum-exps of u v^T / tau, densely, and the
    gradients of sum(g_row * lse_row) + sum(g_col * lse_col)."""
    s = u @ v.t() / tau
    lr, lc = torch.logsumexp(s, dim=1), torch.logsumexp(s, dim=0)
    grads = torch.autograd.grad((g_row * lr).sum() + (g_col * lc).sum(), (u, v))
    return lr, lc, grads


@pytest.mark.parametrize("tau,scale", [
    (0.5, 1.0),  # normalised rows, range 2c = 4: one exp per block
    (0.7, 3.0),  # unnormalised rows, 2c = 25.7: still the bounded path
    (0.02, 1.0),  # 2c = 100: each block shifted by its maxima
    (1.0, 6.0),  # 2c = 72 from the norms alone: the shifted path
])
@pytest.mark.parametrize("block", [1, 4, 13])
def test_cross_lse_both_paths_match_the_dense_computation(tau, scale, block):
    from gcl.losses._blockwise import _FIXED_SHIFT_RANGE, _cross_lse

    g = torch.Generator().manual_seed(3)
    u = F.normalize(torch.randn(13, 5, generator=g, dtype=torch.float64), dim=1)
    v = F.normalize(torch.randn(9, 5, generator=g, dtype=torch.float64), dim=1)
    u = (u * scale).requires_grad_()
    v = (v * scale).requires_grad_()
    fixed = 2 * scale * scale / tau < _FIXED_SHIFT_RANGE
    assert fixed == (tau >= 0.5 and scale < 5)
    g_row = torch.rand(13, generator=g, dtype=torch.float64) - 0.3
    g_col = torch.rand(9, generator=g, dtype=torch.float64) - 0.3
    lr, lc, (gu, gv) = _cross_reference(u, v, tau, g_row, g_col)
    out_r, out_c = _cross_lse(u, v, tau, block)
    assert torch.allclose(out_r, lr, atol=1e-12, rtol=1e-12)
    assert torch.allclose(out_c, lc, atol=1e-12, rtol=1e-12)
    du, dv = torch.autograd.grad((g_row * out_r).sum() + (g_col * out_c).sum(),
                                 (u, v))
    assert torch.allclose(du, gu, atol=1e-10, rtol=1e-10)
    assert torch.allclose(dv, gv, atol=1e-10, rtol=1e-10)


def test_cross_lse_gradcheck_both_paths():
    from gcl.losses._blockwise import _cross_lse

    g = torch.Generator().manual_seed(4)
    for tau in (0.8, 0.02):
        u = F.normalize(torch.randn(6, 3, generator=g, dtype=torch.float64), dim=1)
        v = F.normalize(torch.randn(5, 3, generator=g, dtype=torch.float64), dim=1)
        assert torch.autograd.gradcheck(
            lambda a, b, t=tau: _cross_lse(a, b, t, 4),
            (u.requires_grad_(), v.requires_grad_()))
