"""gcl/_sparse.py: the sparse notices are silenced, nothing else is; the
sparse-dense product is exact and, on a GPU in deterministic mode,
repeatable."""

import warnings

import pytest
import torch
from torch_geometric.utils import to_torch_csr_tensor

from gcl._sparse import (
    SPARSE_NOTICES,
    csr_tensor,
    deterministic_sparse_mm,
    quiet_sparse,
    sparse_mm,
)


def test_quiet_sparse_silences_the_two_notices_and_nothing_else():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_sparse():
            for text in ("Sparse CSR tensor support is in beta state. ...",
                         "Sparse invariant checks are implicitly disabled. ..."):
                warnings.warn(text, UserWarning, stacklevel=1)
            to_torch_csr_tensor(torch.tensor([[0, 1], [1, 0]]), size=(2, 2))
            warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in seen] == ["something else"]
    assert len(SPARSE_NOTICES) == 2


def test_csr_tensor_builds_the_matrix_it_is_given():
    crow, col = torch.tensor([0, 2, 3]), torch.tensor([0, 2, 1])
    value = torch.tensor([1.0, 2.0, 3.0])
    a = csr_tensor(crow, col, value, (2, 3))
    assert a.layout == torch.sparse_csr
    assert torch.equal(a.to_dense(), torch.tensor([[1.0, 0, 2], [0, 3, 0]]))


@pytest.mark.parametrize("category", [RuntimeWarning, DeprecationWarning])
def test_other_categories_with_the_same_text_pass(category):
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_sparse():
            warnings.warn("Sparse CSR tensor support is in beta", category,
                          stacklevel=1)
    assert len(seen) == 1


def _random_sparse(rows, cols, nnz, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    row = torch.randint(rows, (nnz,), generator=g)
    col = torch.randint(cols, (nnz,), generator=g)
    value = torch.randn(nnz, generator=g, dtype=dtype)
    # COO with repeated (row, col) pairs and, for rows > nnz, empty rows
    return torch.sparse_coo_tensor(torch.stack([row, col]), value, (rows, cols))


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_deterministic_sparse_mm_is_the_dense_product(layout):
    a = _random_sparse(40, 30, 90, seed=0)  # duplicates and empty rows
    x = torch.randn(30, 5, dtype=torch.float64)
    dense = a.to_dense() @ x
    if layout == "csr":
        with quiet_sparse():
            a = a.coalesce().to_sparse_csr()
    out = deterministic_sparse_mm(a, x)
    assert out.shape == (40, 5) and out.dtype == torch.float64
    assert torch.allclose(out, dense, atol=1e-12, rtol=0)
    empty = a.to_dense().abs().sum(1) == 0
    assert empty.any() and (out[empty] == 0).all()


def test_deterministic_sparse_mm_differentiates_in_x():
    a = _random_sparse(20, 15, 60, seed=1)
    x = torch.randn(15, 4, dtype=torch.float64, requires_grad=True)
    g = torch.randn(20, 4, dtype=torch.float64)
    (deterministic_sparse_mm(a, x) * g).sum().backward()
    assert torch.allclose(x.grad, a.to_dense().t() @ g, atol=1e-12, rtol=0)


def test_deterministic_sparse_mm_names_bad_input():
    with pytest.raises(ValueError, match="sparse CSR or COO"):
        deterministic_sparse_mm(torch.eye(3), torch.ones(3, 2))
    with pytest.raises(ValueError, match=r"\(4, 3\) matrix by a tensor of shape"):
        deterministic_sparse_mm(_random_sparse(4, 3, 5, seed=2), torch.ones(5, 2))


def test_sparse_mm_on_cpu_is_torch_sparse_mm_in_either_mode():
    a = _random_sparse(50, 50, 300, seed=3, dtype=torch.float32).coalesce()
    with quiet_sparse():
        a = a.to_sparse_csr()
    x = torch.randn(50, 8)
    with quiet_sparse():
        ref = torch.sparse.mm(a, x)
    was = torch.are_deterministic_algorithms_enabled()
    try:
        for mode in (False, True):
            torch.use_deterministic_algorithms(mode, warn_only=True)
            assert torch.equal(sparse_mm(a, x), ref)
    finally:
        torch.use_deterministic_algorithms(was)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_sparse_mm_repeats_bit_for_bit_on_cuda_in_deterministic_mode():
    # cuSPARSE's product differed between calls by up to 1.8e-7 on an H200
    # (2026-11-28); in deterministic mode gcl computes it by segments
    a = _random_sparse(20000, 20000, 400000, seed=4, dtype=torch.float32)
    a = a.coalesce().cuda()
    with quiet_sparse():
        a = a.to_sparse_csr()
    x = torch.randn(20000, 256, device="cuda")
    was = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(True, warn_only=True)
        first = sparse_mm(a, x)
        assert all(torch.equal(sparse_mm(a, x), first) for _ in range(5))
    finally:
        torch.use_deterministic_algorithms(was)
    with quiet_sparse():
        assert torch.allclose(first, torch.sparse.mm(a, x), atol=1e-4)


def test_forced_fixed_order_path_serves_spmm_and_sparse_linear(monkeypatch):
    # the callers' autograd functions (kept transposes) on the fixed-order
    # product: same values and gradients as on torch.sparse.mm
    import gcl._sparse as sparse
    from gcl.nn import spmm
    from gcl.nn.sparse_linear import sparse_linear

    a = _random_sparse(30, 30, 120, seed=5).coalesce()
    with quiet_sparse():
        a_csr = a.to_sparse_csr()
    feats = _random_sparse(30, 12, 60, seed=6).coalesce()

    def run():
        x = torch.randn(30, 4, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(7),
                        requires_grad=True)
        w = torch.randn(4, 12, dtype=torch.float64,
                        generator=torch.Generator().manual_seed(8),
                        requires_grad=True)
        out = (spmm(a_csr, x) ** 2).sum() + (sparse_linear(feats, w) ** 2).sum()
        out.backward()
        return out.detach(), x.grad, w.grad

    plain = run()
    monkeypatch.setattr(sparse, "_fixed_order", lambda x: True)
    forced = run()
    for p, f in zip(plain, forced):
        assert torch.allclose(p, f, atol=1e-12, rtol=0)
