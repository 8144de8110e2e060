"""Entry-wise feature dropout."""

from __future__ import annotations

import torch
from torch_geometric.data import Data
from torch_geometric.utils import mask_feature

from gcl.augment.base import Augmentor
from gcl.augment.feature_mask import scale_sparse_values

__all__ = ["FeatureDropout"]


class FeatureDropout(Augmentor):
    r"""Zeroes each feature entry :math:`x_{if}` independently with probability
    :math:`p`.

    Unlike :class:`FeatureMask` every node gets its own mask. With
    ``rescale=True`` kept entries are divided by :math:`1 - p`, as
    :func:`torch.nn.functional.dropout` does (PyGCL's ``FeatureDropout``);
    the default keeps kept entries unchanged.

    Args:
        p (float): Probability of zeroing an entry, in :math:`[0, 1)`.
        rescale (bool, optional): Divide kept entries by :math:`1 - p`.
            (default: :obj:`False`)
    """

    def __init__(self, p: float, rescale: bool = False):
        if not 0.0 <= p < 1.0:
            raise ValueError(
                f"FeatureDropout probability must be in [0, 1), got {p}")
        self.p = float(p)
        self.rescale = rescale

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with dropped feature entries."""
        self._check(data)
        if self.p == 0.0:
            return data
        if data.x is None:
            raise ValueError("FeatureDropout needs node features data.x")
        scale = 1.0 / (1.0 - self.p) if self.rescale else 1.0
        if data.x.is_sparse:  # one draw per stored (non-zero) entry
            x = data.x.coalesce()
            keep = torch.rand(x.values().size(0), device=x.device) >= self.p
            data.x = scale_sparse_values(x, keep * scale)
        else:
            x, _ = mask_feature(data.x, p=self.p, mode="all")
            data.x = x * scale if self.rescale else x
        return data

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(p={self.p}, rescale={self.rescale})"
