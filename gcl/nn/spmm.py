r"""Sparse-matrix products whose backward pass reuses a kept transpose.

``torch.sparse.mm(a, x)`` with a CSR ``a`` differentiates through
:math:`a^\top g`, and autograd builds that transpose (a sort of all
non-zeros) on every backward pass. For the constant propagation matrices of
the meta-path encoders (millions of non-zeros on HeCo's DBLP) that sort cost
more than the rest of a training step. :func:`spmm` builds the transpose once
per matrix object and reuses it; a caller that builds the transpose more
cheaply alongside the matrix hands it over with :func:`keep_transpose` (the
GCN encoder does, for its edge-dropped views). Both products go through
:func:`gcl._sparse.sparse_mm`, which is repeatable on a GPU in PyTorch's
deterministic mode.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary

from gcl._sparse import csr_tensor, quiet_sparse, sparse_mm

__all__ = ["csr_tensor", "keep_transpose", "spmm", "transpose"]

# ``(version, transpose)`` by the identity of their matrix (dropped with the
# matrix); the version counter catches in-place changes of its values.
_TRANSPOSES = WeakIdKeyDictionary()


class _SpMM(torch.autograd.Function):
    """``a @ x`` for a constant sparse ``a`` whose transpose ``a_t`` is given,
    so the backward pass is ``a_t @ grad`` (no transpose built per step).
    """

    @staticmethod
    def forward(ctx, a, a_t, x):
        ctx.a_t = a_t
        return sparse_mm(a, x)

    @staticmethod
    def backward(ctx, grad):
        return None, None, sparse_mm(ctx.a_t, grad.contiguous())


def transpose(a: Tensor) -> Tensor:
    """The CSR transpose of the sparse matrix ``a``, built on the first call
    for this tensor object and kept while it lives (built again after an
    in-place change of ``a``'s values).
    """
    version, a_t = _TRANSPOSES.get(a, (None, None))
    if a_t is None or version != a._version:
        with quiet_sparse():
            a_t = a.t().to_sparse_csr()
        _TRANSPOSES[a] = (a._version, a_t)
    return a_t


def keep_transpose(a: Tensor, a_t: Tensor) -> None:
    """Keeps ``a_t`` as the transpose of ``a`` for :func:`transpose`, for a
    caller that had it at hand when it built ``a`` (the caller vouches that
    it is the CSR transpose of ``a``'s current values).
    """
    if a_t.layout != torch.sparse_csr or tuple(a_t.shape) != tuple(a.shape)[::-1]:
        raise ValueError(f"the transpose of a {tuple(a.shape)} matrix must be a "
                         f"{tuple(a.shape)[::-1]} CSR matrix, got "
                         f"{tuple(a_t.shape)} {a_t.layout}")
    _TRANSPOSES[a] = (a._version, a_t)


def spmm(a: Tensor, x: Tensor) -> Tensor:
    r""":math:`a x` for a constant sparse (CSR or COO) matrix ``a`` and a
    dense ``x``, differentiable in ``x`` through the kept transpose of ``a``
    (:func:`transpose`). Gradients do not flow into ``a``'s values.
    """
    if not (torch.is_grad_enabled() and x.requires_grad):
        return sparse_mm(a, x)
    if a.requires_grad:
        raise ValueError("spmm treats the sparse matrix as a constant; its "
                         "values must not require gradients")
    with quiet_sparse():
        return _SpMM.apply(a, transpose(a), x)
