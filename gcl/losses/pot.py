r"""POT's node-compactness regularizer on embeddings and scores.

From `"Provable Training for Graph Contrastive Learning"
<https://arxiv.org/abs/2309.13944>`_ (POT, Yu et al., NeurIPS 2023). The
"GCL principle" asks each node's embedding in one view to be closer to its
own embedding in the other view than to the other nodes' embeddings; POT
scores node :math:`i` of view 1 by :math:`f_i = w_i^\top z^{(1)}_i` with the
direction (:func:`principle_direction`)

.. math::
    w_i = \bar{z}^{(2)}_i - \frac{1}{N - 1} \sum_{j \neq i} \bar{z}^{(2)}_j ,
    \qquad \bar{z} = z / \lVert z \rVert ,

lower-bounds :math:`f_i` over the admissible augmentations by bound
propagation (:func:`gcl.nn.bounds.compactness_score`) and pushes the bound
:math:`s_i` up with a binary cross-entropy towards 1 (:func:`pot_loss`):

.. math::
    \mathcal{L}_{\mathrm{POT}} = \frac{1}{2} \sum_{v = 1}^{2}
    \frac{1}{N} \sum_{i} \mathrm{BCE}(\mathrm{sigmoid}(s^{(v)}_i), 1)
    = \frac{1}{2} \sum_{v} \frac{1}{N} \sum_i \mathrm{softplus}(-s^{(v)}_i).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["POTLoss", "pot_loss", "principle_direction"]


def principle_direction(z: Tensor) -> Tensor:
    r"""POT's per-node direction :math:`w_i` from the *other* view's embeddings.

    :math:`w_i = \bar{z}_i - \frac{1}{N-1}\sum_{j \neq i} \bar{z}_j =
    \frac{N}{N-1}\bar{z}_i - \frac{1}{N-1}\sum_j \bar{z}_j`, with rows
    normalised by ``F.normalize`` (eps 1e-12) as in the official code. It is
    not detached: gradients flow into the other view, as in the code.

    Args:
        z (torch.Tensor): Encoder outputs of the other view ``[N, h]``
            (not the projections), :math:`N \geq 2`.

    Returns:
        torch.Tensor: Directions ``[N, h]``.
    """
    if z.dim() != 2 or z.size(0) < 2:
        raise ValueError(f"principle_direction needs [N, h] embeddings with "
                         f"N >= 2, got shape {tuple(z.shape)}")
    n = z.size(0)
    zn = F.normalize(z)
    return zn * (n / (n - 1)) - zn.sum(0) / (n - 1)


def pot_loss(scores: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    r"""BCE-with-logits of POT scores towards 1, averaged over nodes and views.

    :math:`\frac{1}{V}\sum_v \frac{1}{N_v}\sum_i \mathrm{softplus}(-s^{(v)}_i)`,
    which is ``BCEWithLogitsLoss()(s, 1)`` per view (the official code),
    averaged over the views.

    Args:
        scores (torch.Tensor or Sequence[torch.Tensor]): One view's scores
            ``[N]``, or one tensor per view.

    Returns:
        torch.Tensor: The scalar loss.
    """
    views = [scores] if isinstance(scores, Tensor) else list(scores)
    if not views:
        raise ValueError("pot_loss needs at least one view's scores")
    losses = []
    for s in views:
        if s.dim() != 1 or s.numel() == 0:
            raise ValueError(f"POT scores must be a non-empty [N] tensor, got "
                             f"shape {tuple(s.shape)}")
        losses.append(F.softplus(-s).mean())
    return torch.stack(losses).mean()


class POTLoss(torch.nn.Module):
    r"""Module form of :func:`pot_loss`: ``POTLoss()([s1, s2])``."""

    def forward(self, scores: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Returns :func:`pot_loss` of ``scores``."""
        return pot_loss(scores)
