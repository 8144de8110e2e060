r"""MEOW's one-layer tanh projection head with L2-normalised output."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["TanhProjection"]


class TanhProjection(torch.nn.Module):
    r"""Projection :math:`p = \tanh(W z + b) / \lVert \tanh(W z + b) \rVert`.

    MEOW and AdaMEOW (``self.project`` in ``code_meow/module/meow.py`` and
    ``code_adameow/module/adameow.py`` of ``jianxiangyu/MEOW``): one linear
    layer with PyTorch's default initialisation, ``tanh`` and row-wise L2
    normalisation, shared by the coarse and the fine-grained views. Sizes
    :math:`d \to d` in MEOW; AdaMEOW projects to 16 on AMiner.

    Args:
        in_channels (int): Embedding size.
        out_channels (int, optional): Projection size. (default:
            ``in_channels``)
        normalize (bool, optional): L2-normalise the rows. (default:
            :obj:`True`)
    """

    def __init__(self, in_channels: int, out_channels: Optional[int] = None,
                 normalize: bool = True):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels or in_channels
        self.normalize = normalize
        self.lin = torch.nn.Linear(in_channels, self.out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        self.lin.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        """Projects embeddings ``z`` of shape :math:`(N, d)`."""
        out = torch.tanh(self.lin(z))
        return F.normalize(out, dim=-1) if self.normalize else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.out_channels})")
