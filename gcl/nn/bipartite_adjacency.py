r"""The user-item matrix as a sparse operator with a cheap transpose."""

from __future__ import annotations

from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.nn.spmm import _SpMM, csr_tensor

__all__ = ["BipartiteAdjacency"]


class BipartiteAdjacency:
    r"""A sparse :math:`U \times I` user-item matrix :math:`\tilde R` that
    multiplies from both sides.

    The graph convolutions of LightGCN-style recommenders are
    :math:`E_u' = \tilde R E_i` and :math:`E_i' = \tilde R^\top E_u`, i.e.
    one product with the off-diagonal blocks of the :math:`(U + I) \times
    (U + I)` adjacency :math:`[[0, \tilde R], [\tilde R^\top, 0]]` without
    building it. Both :math:`\tilde R` and :math:`\tilde R^\top` are kept in
    CSR form, and each product's backward uses the other one, so no
    transpose is built per step. Values are constants (no gradient).

    Args:
        matrix (torch.Tensor): Sparse (CSR or COO) ``[U, I]`` matrix, e.g.
            :meth:`gcl.datasets.InteractionData.biadjacency`.
    """

    def __init__(self, matrix: Tensor):
        if not isinstance(matrix, Tensor) or matrix.layout not in (
                torch.sparse_csr, torch.sparse_coo) or matrix.dim() != 2:
            raise ValueError("BipartiteAdjacency needs a 2-D sparse CSR or COO "
                             "tensor (InteractionData.biadjacency())")
        coo = matrix.to_sparse_coo().coalesce()
        row, col = coo.indices()
        value = coo.values()
        self.shape = tuple(coo.shape)
        # CSR of R: COO coalesced is row-major already
        self.crow = torch._convert_indices_from_coo_to_csr(row, self.shape[0])
        self.col, self.value = col, value
        # CSR of R^T and the map from its entries to R's
        perm = torch.argsort(col * self.shape[0] + row)
        self.perm = perm
        self.crow_t = torch._convert_indices_from_coo_to_csr(col[perm],
                                                             self.shape[1])
        self.row_t = row[perm]
        self._mats: Optional[tuple[Tensor, Tensor]] = None

    @classmethod
    def _from_parts(cls, other: BipartiteAdjacency, value: Tensor
                    ) -> BipartiteAdjacency:
        out = cls.__new__(cls)
        out.__dict__.update(other.__dict__)
        out.value, out._mats = value, None
        return out

    @property
    def nnz(self) -> int:
        """Stored entries."""
        return int(self.value.numel())

    @property
    def device(self) -> torch.device:
        """Device of the values."""
        return self.value.device

    def to(self, device: Union[str, torch.device, None] = None,
           dtype: Optional[torch.dtype] = None) -> BipartiteAdjacency:
        """A copy on ``device`` with values of ``dtype``."""
        out = self.__class__.__new__(self.__class__)
        for k, v in self.__dict__.items():
            if isinstance(v, Tensor):
                v = v.to(device, dtype=dtype if v.is_floating_point() else None)
            out.__dict__[k] = v
        out._mats = None
        return out

    def __repr__(self) -> str:
        return f"BipartiteAdjacency({self.shape[0]} x {self.shape[1]}, nnz={self.nnz})"

    def matrices(self) -> tuple[Tensor, Tensor]:
        r""":math:`\tilde R` and :math:`\tilde R^\top` as sparse CSR tensors
        (built on the first call and kept: every propagation step reuses
        them).
        """
        if self._mats is None:
            a = csr_tensor(self.crow, self.col, self.value, self.shape)
            a_t = csr_tensor(self.crow_t, self.row_t, self.value[self.perm],
                       (self.shape[1], self.shape[0]))
            self._mats = (a, a_t)
        return self._mats

    def dropout(self, p: float, training: bool = True) -> BipartiteAdjacency:
        r"""Edge dropout: each entry is zeroed with probability ``p`` and the
        others are scaled by :math:`1/(1-p)` (``F.dropout`` on the values,
        as LightGCL's ``sparse_dropout``; LightGCN's ``__dropout_x`` also
        rescales by the keep probability). Draws from torch's RNG.
        """
        if not 0.0 <= p < 1.0:
            raise ValueError(f"edge dropout must be in [0, 1), got {p}")
        if p == 0.0 or not training:
            return self
        return self._from_parts(self, F.dropout(self.value, p=p))

    def matmul(self, item_emb: Tensor) -> Tensor:
        r""":math:`\tilde R E_i`, ``[U, d]`` (differentiable in ``item_emb``)."""
        a, a_t = self.matrices()
        return _SpMM.apply(a.to(item_emb.dtype), a_t.to(item_emb.dtype), item_emb)

    def t_matmul(self, user_emb: Tensor) -> Tensor:
        r""":math:`\tilde R^\top E_u`, ``[I, d]``."""
        a, a_t = self.matrices()
        return _SpMM.apply(a_t.to(user_emb.dtype), a.to(user_emb.dtype), user_emb)
