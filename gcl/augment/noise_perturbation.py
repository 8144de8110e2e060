r"""SimGCL's augmentation: uniform noise added to embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["NoisePerturbation"]


class NoisePerturbation(torch.nn.Module):
    r"""The random noise of `"Are Graph Augmentations Necessary? Simple
    Graph Contrastive Learning for Recommendation"
    <https://arxiv.org/abs/2112.08679>`_ (Yu et al., SIGIR 2022), SimGCL.

    Each row :math:`e` of an embedding matrix is moved by a random vector
    of length :math:`\epsilon` in the orthant of :math:`e`:

    .. math::
        e' = e + \Delta, \qquad \Delta = \epsilon\,
        \operatorname{sign}(e) \odot \frac{\bar\Delta}{\lVert \bar\Delta
        \rVert_2}, \quad \bar\Delta \sim U(0, 1)^d,

    as the official code (``Coder-Yu/SELFRec``, ``SimGCL_Encoder``) does it
    after every propagation layer; used as the ``hook`` of
    :class:`gcl.nn.LightGCNPropagation`. Acts on embeddings (not a
    ``Data -> Data`` augmentor); identity in evaluation mode. Draws from
    torch's RNG.

    Args:
        eps (float, optional): :math:`\epsilon`. (default: :obj:`0.1`)
    """

    def __init__(self, eps: float = 0.1):
        super().__init__()
        if eps < 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.eps = float(eps)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(eps={self.eps})"

    def forward(self, x: Tensor) -> Tensor:
        """Returns the perturbed ``x`` (a new tensor)."""
        if not self.training or self.eps == 0.0:
            return x
        noise = F.normalize(torch.rand_like(x), dim=-1)
        return x + torch.sign(x) * noise * self.eps

    def hook(self, layer: int, user_emb: Tensor, item_emb: Tensor
             ) -> tuple[Tensor, Tensor]:
        """The layer hook of :class:`gcl.nn.LightGCNPropagation`."""
        return self(user_emb), self(item_emb)
