"""gcl.nn.spmm: a sparse-dense product whose backward reuses a kept transpose."""

import pytest
import torch

from gcl.nn import spmm
from gcl.nn.spmm import _TRANSPOSES, keep_transpose, transpose


def _matrix(n, m, layout):
    g = torch.Generator().manual_seed(0)
    dense = torch.rand(n, m, generator=g, dtype=torch.float64)
    dense[dense < 0.6] = 0.0
    return dense, (dense.to_sparse_csr() if layout == "csr" else dense.to_sparse())


@pytest.mark.parametrize("layout", ["csr", "coo"])
def test_spmm_values_and_gradient_match_dense(layout):
    dense, a = _matrix(7, 5, layout)
    x = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(7, 3, dtype=torch.float64)
    out = spmm(a, x)
    (grad,) = torch.autograd.grad((out * w).sum(), x)
    torch.testing.assert_close(out, dense @ x)
    torch.testing.assert_close(grad, dense.t() @ w)


def test_transpose_is_built_once_and_dropped_with_its_matrix():
    dense, a = _matrix(6, 6, "csr")
    first = transpose(a)
    assert transpose(a) is first
    torch.testing.assert_close(first.to_dense(), dense.t())
    x = torch.randn(6, 2, dtype=torch.float64, requires_grad=True)
    spmm(a, x).sum().backward()
    assert transpose(a) is first
    size = len(_TRANSPOSES)
    del a
    assert len(_TRANSPOSES) == size - 1


@pytest.mark.parametrize("layout", ["csr", "coo"])
def test_in_place_change_of_values_rebuilds_the_transpose(layout):
    dense, a = _matrix(5, 4, layout)
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 3, dtype=torch.float64)
    spmm(a, x).sum().backward()  # keeps the transpose of the old values
    a.values().mul_(3.0)
    (grad,) = torch.autograd.grad((spmm(a, x) * w).sum(), x)
    torch.testing.assert_close(grad, 3.0 * dense.t() @ w)


def test_spmm_without_gradient_builds_no_transpose():
    _, a = _matrix(4, 4, "csr")
    out = spmm(a, torch.ones(4, 1, dtype=torch.float64))
    assert out.shape == (4, 1) and a not in _TRANSPOSES


def test_spmm_refuses_a_matrix_that_needs_gradients():
    _, a = _matrix(3, 3, "coo")
    a.requires_grad_(True)
    with pytest.raises(ValueError, match="constant"):
        spmm(a, torch.ones(3, 1, dtype=torch.float64, requires_grad=True))


def test_a_kept_transpose_serves_the_backward_pass():
    dense, a = _matrix(5, 4, "csr")
    a_t = dense.t().to_sparse_csr()
    keep_transpose(a, a_t)
    assert transpose(a) is a_t
    x = torch.randn(4, 2, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 2, dtype=torch.float64)
    (grad,) = torch.autograd.grad((spmm(a, x) * w).sum(), x)
    torch.testing.assert_close(grad, dense.t() @ w)
    with pytest.raises(ValueError, match="transpose of a \\(5, 4\\) matrix"):
        keep_transpose(a, a)  # the wrong shape
    with pytest.raises(ValueError, match="CSR"):
        keep_transpose(a, dense.t().to_sparse())
