"""The pair core of gcl.losses._blockwise: pair_dots against a gather."""

import pytest
import torch

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
