r"""Semantic (meta-path / type-level) attention of HAN, HeCo and MEOW."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["SemanticAttention"]


def _stack_views(embeds: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """Views as one ``[M, N, C]`` tensor."""
    if isinstance(embeds, Tensor):
        if embeds.dim() != 3:
            raise ValueError(
                f"stacked views must be [M, N, C], got {tuple(embeds.shape)}")
        return embeds
    items = list(embeds)
    if not items or any(not isinstance(e, Tensor) or e.dim() != 2 for e in items):
        raise ValueError("expected a non-empty list of [N, C] view embeddings")
    if len({tuple(e.shape) for e in items}) != 1:
        raise ValueError(f"all views must have the same shape, got "
                         f"{[tuple(e.shape) for e in items]}")
    return torch.stack(items)


class SemanticAttention(torch.nn.Module):
    r"""Attention over :math:`M` views of the same nodes (HAN's semantic level).

    From `"Heterogeneous Graph Attention Network"
    <https://arxiv.org/abs/1903.07293>`_ (HAN, Wang et al., WWW 2019), as
    HeCo (`"Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_, KDD 2021;
    ``Attention`` in ``module/mp_encoder.py`` and ``inter_att`` in
    ``module/sc_encoder.py``) and MEOW (``Attention`` in
    ``module/encoder.py``) code it. For views :math:`z^1..z^M` of :math:`N`
    nodes:

    .. math::
        w_m = \mathbf{a}^\top \frac{1}{N} \sum_{i=1}^{N}
        \tanh(W z^m_i + b), \qquad
        \beta_m = \frac{e^{w_m}}{\sum_{r} e^{w_r}}, \qquad
        z = \sum_{m} \beta_m z^m.

    HeCo's *attention dropout* drops entries of the vector :math:`\mathbf{a}`
    itself (``nn.Dropout`` on the parameter, scaled by :math:`1/(1-p)`, in
    training mode only). Initialisation as in the official code: Xavier
    normal with gain 1.414 for :math:`W` and :math:`\mathbf{a}`, PyTorch's
    default for :math:`b`.

    Args:
        channels (int): Embedding size :math:`C`.
        attn_drop (float, optional): Dropout rate on :math:`\mathbf{a}`.
            (default: :obj:`0.0`)

    Shapes:
        - **input:** a list of :math:`M` tensors :math:`(N, C)` or one
          :math:`(M, N, C)` tensor
        - **output:** :math:`(N, C)`, and :math:`\beta` :math:`(M)` with
          ``return_attention=True``
    """

    def __init__(self, channels: int, attn_drop: float = 0.0):
        super().__init__()
        if not 0.0 <= attn_drop < 1.0:
            raise ValueError(f"attn_drop must be in [0, 1), got {attn_drop}")
        self.channels = channels
        self.attn_drop = attn_drop
        self.lin = torch.nn.Linear(channels, channels)
        self.att = torch.nn.Parameter(torch.empty(1, channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Resets all learnable parameters of the module."""
        self.lin.reset_parameters()
        torch.nn.init.xavier_normal_(self.lin.weight, gain=1.414)
        torch.nn.init.xavier_normal_(self.att, gain=1.414)

    def forward(self, embeds: Union[Tensor, Sequence[Tensor]],
                return_attention: bool = False
                ) -> Union[Tensor, tuple[Tensor, Tensor]]:
        r"""Fuses the views; optionally returns :math:`\beta` too."""
        z = _stack_views(embeds)
        if z.size(-1) != self.channels:
            raise ValueError(f"views must have {self.channels} channels, got "
                             f"{z.size(-1)}")
        att = F.dropout(self.att, self.attn_drop, self.training)
        score = torch.tanh(self.lin(z)).mean(dim=1) @ att.t()  # [M, 1]
        beta = torch.softmax(score.view(-1), dim=0)
        out = (beta[:, None, None] * z).sum(dim=0)
        return (out, beta) if return_attention else out

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}({self.channels}, "
                f"attn_drop={self.attn_drop})")
