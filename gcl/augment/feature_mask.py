"""Column-wise feature masking (GRACE)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import mask_feature

from gcl.augment.base import Augmentor

__all__ = ["FeatureMask", "mask_columns", "scale_sparse_values"]


def scale_sparse_values(x: Tensor, factor: Tensor) -> Tensor:
    """Returns the coalesced sparse COO ``x`` with its values multiplied by
    ``factor`` (one entry per stored value; zeros are dropped).
    """
    x = x.coalesce()
    values = x.values() * factor.to(x.dtype)
    keep = values != 0
    return torch.sparse_coo_tensor(x.indices()[:, keep], values[keep], x.shape,
                                   is_coalesced=True, check_invariants=False)


def mask_columns(x: Tensor, drop: Tensor) -> Tensor:
    """Returns ``x`` with the columns where ``drop`` is :obj:`True` zeroed.

    ``x`` is dense ``[N, F]`` or sparse COO (the result stays sparse, without
    the zeroed entries); ``drop`` is a boolean ``[F]``. Shared by the
    column-masking augmentors (GRACE, CAV, GCA).
    """
    if x.is_sparse:
        x = x.coalesce()
        return scale_sparse_values(x, ~drop[x.indices()[1]])
    return x.masked_fill(drop, 0.0)


class FeatureMask(Augmentor):
    r"""Zeroes whole feature columns, each with probability :math:`p`.

    From `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (GRACE): one mask
    :math:`m \in \{0, 1\}^F`, :math:`m_f \sim \text{Bernoulli}(1 - p)`, is
    drawn per view and applied to every node, :math:`\tilde{X} = X \,
    \text{diag}(m)`. No rescaling. Uses PyG's ``mask_feature(mode='col')``;
    a sparse COO ``x`` stays sparse, with the same random draw.

    Args:
        p (float): Probability of masking a column, in :math:`[0, 1]`.
    """

    def __init__(self, p: float):
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"FeatureMask probability must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with masked feature columns."""
        self._check(data)
        if self.p == 0.0:
            return data
        if data.x is None:
            raise ValueError("FeatureMask needs node features data.x")
        if data.x.is_sparse:  # same draw as mask_feature(mode="col")
            drop = torch.rand(data.x.size(1), device=data.x.device) < self.p
            data.x = mask_columns(data.x, drop)
        else:
            data.x, _ = mask_feature(data.x, p=self.p, mode="col")
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p})"
