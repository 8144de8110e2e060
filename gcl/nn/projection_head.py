"""The two-layer ELU projection head of GRACE."""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["ProjectionHead"]


class ProjectionHead(torch.nn.Module):
    r"""Projection :math:`g(z) = W_2\,\mathrm{ELU}(W_1 z + b_1) + b_2`.

    From `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (GRACE): sizes
    :math:`h \to p \to h`. It is used inside the loss only; evaluation uses
    the encoder output. HeCo's head (``Contrast.proj`` in
    ``liun-online/HeCo``) is the same :math:`h \to h \to h` map with
    Xavier-normal weights of gain 1.414 (``xavier_gain=1.414``).

    Args:
        in_channels (int): Embedding size :math:`h`.
        hidden_channels (int): Projection hidden size :math:`p`.
        out_channels (int, optional): Output size. (default: ``in_channels``)
        normalize (bool, optional): L2-normalise the output rows (gCooL).
            (default: :obj:`False`)
        xavier_gain (float, optional): Draw both weight matrices from a
            Xavier normal with this gain (HeCo: 1.414); the biases keep
            PyTorch's default. (default: :obj:`None`, PyTorch's default)
    """

    def __init__(self, in_channels: int, hidden_channels: int,
                 out_channels: Optional[int] = None, normalize: bool = False,
                 xavier_gain: Optional[float] = None):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels or in_channels
        self.normalize = normalize
        self.xavier_gain = xavier_gain
        self.fc1 = torch.nn.Linear(in_channels, hidden_channels)
        self.fc2 = torch.nn.Linear(hidden_channels, self.out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        self.fc1.reset_parameters()
        self.fc2.reset_parameters()
        if self.xavier_gain is not None:
            torch.nn.init.xavier_normal_(self.fc1.weight, gain=self.xavier_gain)
            torch.nn.init.xavier_normal_(self.fc2.weight, gain=self.xavier_gain)

    def forward(self, z: Tensor) -> Tensor:
        """Projects embeddings ``z`` of shape :math:`(N, h)`."""
        out = self.fc2(F.elu(self.fc1(z)))
        return F.normalize(out, dim=-1) if self.normalize else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.in_channels}, "
                f"{self.hidden_channels}, {self.out_channels})")
