"""Store a sparse feature matrix as a torch sparse tensor."""

from __future__ import annotations

from torch_geometric.data import Data
from torch_geometric.transforms import BaseTransform

__all__ = ["SparseFeatures"]


class SparseFeatures(BaseTransform):
    r"""Converts ``data.x`` to a coalesced sparse COO tensor when it is sparse
    enough.

    Bag-of-words features (Cora 1.3 %, CiteSeer 0.9 %, CS 0.9 % non-zero) make
    the first GCN layer's dense :math:`X W` the most expensive product of a
    step; as a sparse tensor it costs :math:`O(\mathrm{nnz}(X)\, h)` instead
    of :math:`O(N F h)`. PyG's ``GCNConv`` and gcl's feature augmentors accept
    the sparse form and give the same values as with the dense one.

    Args:
        max_density (float, optional): Convert only when the fraction of
            non-zero entries is at most this. (default: :obj:`0.1`)
    """

    def __init__(self, max_density: float = 0.1):
        if not 0.0 <= max_density <= 1.0:
            raise ValueError(f"max_density must be in [0, 1], got {max_density}")
        self.max_density = max_density

    def forward(self, data: Data) -> Data:
        """Returns ``data`` with a sparse ``x`` (or unchanged)."""
        x = data.x
        if x is None or x.is_sparse or x.numel() == 0:
            return data
        density = float((x != 0).sum()) / x.numel()
        if density <= self.max_density:
            data.x = x.to_sparse().coalesce()
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(max_density={self.max_density})"
