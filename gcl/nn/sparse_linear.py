r"""Linear maps of sparse feature matrices: :math:`X W^\top` with a fast
backward.

Bag-of-words features (Cora, CiteSeer, Coauthor CS and Physics: about 1 %
non-zero) are kept sparse (``data.sparse_features``). A linear layer then
computes :math:`X W^\top` and, in the backward pass, the weight gradient
:math:`\nabla_W = G^\top X = (X^\top G)^\top`. :func:`torch.nn.functional.
linear` on a sparse COO input and the autograd of :func:`torch.sparse.mm`
take slow general paths for both; here the forward is one CSR product and
the backward one CSR product with :math:`X^\top`, built in CSR form by one
stable sort of the column indices (no :meth:`~torch.Tensor.coalesce`). The
values are the same products, summed in a different order.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.nn.dense.linear import Linear

from gcl._sparse import as_csr, csr_tensor, sparse_mm

__all__ = ["SparseInputLinear", "sparse_linear"]


def _transpose_csr(x: Tensor) -> Tensor:
    r""":math:`X^\top` in CSR form: entries ordered by column (stable, so
    rows stay sorted within a column).
    """
    crow, col, value = x.crow_indices(), x.col_indices(), x.values()
    row = torch.repeat_interleave(
        torch.arange(x.size(0), device=col.device), crow.diff())
    col_sorted, perm = torch.sort(col, stable=True)
    crow_t = torch._convert_indices_from_coo_to_csr(col_sorted, x.size(1))
    return csr_tensor(crow_t, row[perm], value[perm], (x.size(1), x.size(0)))


class _SparseLinear(torch.autograd.Function):
    """``x @ weight.T`` for a constant sparse CSR ``x``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor) -> Tensor:
        ctx.x = x
        return sparse_mm(x, weight.t())

    @staticmethod
    def backward(ctx, grad: Tensor):
        if not ctx.needs_input_grad[1]:
            return None, None
        x_t = _transpose_csr(ctx.x)
        return None, sparse_mm(x_t, grad.contiguous()).t()


def sparse_linear(x: Tensor, weight: Tensor,
                  bias: Optional[Tensor] = None) -> Tensor:
    r""":math:`X W^\top + b` for sparse features :math:`X` (``[N, F]``, COO
    or CSR, no gradient), differentiable in ``weight`` (``[out, F]``) and
    ``bias``.

    The same values as :func:`torch.nn.functional.linear` on the dense
    :math:`X`, up to the order of the floating-point sums.

    Raises:
        ValueError: If ``x`` is dense, requires a gradient, or its width is
            not ``weight.size(1)``.
    """
    if x.requires_grad:
        raise ValueError("sparse_linear treats the sparse features as "
                         "constants; x must not require a gradient")
    if x.dim() != 2 or x.size(1) != weight.size(1):
        raise ValueError(f"x must have shape [N, {weight.size(1)}], got "
                         f"{tuple(x.shape)}")
    out = _SparseLinear.apply(
        as_csr(x, "sparse_linear expects sparse COO or CSR features")
        .to(weight.dtype), weight)
    return out if bias is None else out + bias


class SparseInputLinear(Linear):
    r"""PyG's :class:`~torch_geometric.nn.dense.Linear` that sends sparse
    inputs through :func:`sparse_linear` (dense inputs as before). Same
    parameters and state-dict keys, so it replaces a ``Linear`` in place,
    e.g. the first ``lin`` of a :class:`~torch_geometric.nn.conv.GCNConv`
    (:class:`gcl.nn.GCNEncoder` does this).
    """

    def forward(self, x: Tensor) -> Tensor:
        r""":math:`x W^\top + b`; sparse ``x`` through :func:`sparse_linear`."""
        if x.layout != torch.strided and not x.requires_grad:
            return sparse_linear(x, self.weight, self.bias)
        return super().forward(x)

    @classmethod
    def replacing(cls, lin: Linear) -> SparseInputLinear:
        """The same layer (shared parameters) with the sparse fast path; no
        random numbers are drawn.
        """
        if not isinstance(lin, Linear):
            raise TypeError(f"expected a torch_geometric Linear, got "
                            f"{type(lin).__name__}")
        out = cls.__new__(cls)
        out.__dict__.update(lin.__dict__)
        return out
