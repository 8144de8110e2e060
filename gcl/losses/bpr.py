r"""Pairwise ranking losses and the L2 regularisers of graph recommenders."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["BPRLoss", "bpr_loss", "hinge_rank_loss", "l2_reg_batch_ego",
           "l2_reg_batch_norm", "l2_reg_full"]


def _check_triple(user_emb: Tensor, pos_emb: Tensor, neg_emb: Tensor) -> None:
    if not (user_emb.shape == pos_emb.shape == neg_emb.shape) or user_emb.dim() != 2:
        raise ValueError(f"user, positive and negative embeddings must all be "
                         f"[B, d], got {tuple(user_emb.shape)}, "
                         f"{tuple(pos_emb.shape)} and {tuple(neg_emb.shape)}")


def bpr_loss(user_emb: Tensor, pos_emb: Tensor, neg_emb: Tensor,
             eps: float = 0.0) -> Tensor:
    r"""Bayesian personalised ranking, `"BPR: Bayesian Personalized Ranking
    from Implicit Feedback" <https://arxiv.org/abs/1205.2618>`_ (Rendle et
    al., UAI 2009):

    .. math::
        \mathcal{L}_{\mathrm{BPR}} = -\frac{1}{B}\sum_{b=1}^{B}
        \log\big(\sigma(e_u^\top e_{i^+} - e_u^\top e_{i^-}) + \epsilon\big).

    With :math:`\epsilon = 0` (LightGCN's ``softplus(neg - pos)``,
    LightGCL's ``-sigmoid(pos - neg).log()``) it is computed as
    :math:`\mathrm{softplus}(s^- - s^+)`, stable for any score;
    SELFRec (SimGCL) adds :math:`\epsilon = 10^{-5}`.

    Args:
        user_emb (torch.Tensor): :math:`e_u`, ``[B, d]``.
        pos_emb (torch.Tensor): :math:`e_{i^+}`, ``[B, d]``.
        neg_emb (torch.Tensor): :math:`e_{i^-}`, ``[B, d]``.
        eps (float, optional): :math:`\epsilon`. (default: :obj:`0.0`)
    """
    _check_triple(user_emb, pos_emb, neg_emb)
    diff = (user_emb * (pos_emb - neg_emb)).sum(-1)
    if eps == 0.0:
        return F.softplus(-diff).mean()
    return -torch.log(torch.sigmoid(diff) + eps).mean()


def hinge_rank_loss(user_emb: Tensor, pos_emb: Tensor, neg_emb: Tensor,
                    margin: float = 1.0, normalizer: float | None = None) -> Tensor:
    r"""The pairwise hinge of LightGCL's old setting (``old_setting/model.py``):

    .. math::
        \mathcal{L}_r = \frac{1}{n}\sum_{b} \max(0, m - e_u^\top e_{i^+} +
        e_u^\top e_{i^-}),

    with :math:`n` the number of *users* in the batch (256; each brings up
    to 40 pairs), not the number of pairs.

    Args:
        user_emb (torch.Tensor): :math:`e_u`, ``[B, d]``.
        pos_emb (torch.Tensor): :math:`e_{i^+}`, ``[B, d]``.
        neg_emb (torch.Tensor): :math:`e_{i^-}`, ``[B, d]``.
        margin (float, optional): :math:`m`. (default: :obj:`1.0`)
        normalizer (float, optional): :math:`n`. (default: :obj:`None`,
            the number of pairs :math:`B`)
    """
    _check_triple(user_emb, pos_emb, neg_emb)
    diff = (user_emb * (pos_emb - neg_emb)).sum(-1)
    n = float(normalizer) if normalizer is not None else max(diff.numel(), 1)
    return F.relu(margin - diff).sum() / n


def l2_reg_batch_ego(*embs: Tensor, batch_size: int | None = None) -> Tensor:
    r"""LightGCN's regulariser (``gusye1234/LightGCN-PyTorch``
    ``bpr_loss``): half the squared norms of the batch's *layer-0*
    embeddings over the batch size,

    .. math::
        \frac{1}{2B}\big(\lVert E^{(0)}_{u}\rVert_F^2 + \lVert
        E^{(0)}_{i^+}\rVert_F^2 + \lVert E^{(0)}_{i^-}\rVert_F^2\big),

    to be multiplied by its ``decay`` (1e-4).

    Args:
        *embs (torch.Tensor): The ``[B, d]`` rows of the batch.
        batch_size (int, optional): :math:`B`. (default: rows of the first)
    """
    b = batch_size if batch_size is not None else embs[0].size(0)
    return 0.5 * sum(e.square().sum() for e in embs) / max(int(b), 1)


def l2_reg_batch_norm(*embs: Tensor) -> Tensor:
    r"""SELFRec's ``l2_reg_loss`` (SimGCL): the sum over the given matrices
    of the Frobenius norm (not squared) over their number of rows,
    :math:`\sum_k \lVert X_k \rVert_F / |X_k|`, to be multiplied by
    ``reg.lambda`` (1e-4). SimGCL passes the batch's propagated user and
    positive-item rows.
    """
    return sum(torch.linalg.vector_norm(e) / max(e.size(0), 1) for e in embs)


def l2_reg_full(params: Iterable[Tensor]) -> Tensor:
    r"""LightGCL's regulariser (current ``model.py``): the squared norm of
    *every* parameter in full, :math:`\sum_\theta \lVert \theta \rVert_2^2`
    (the whole embedding tables, not the batch rows), to be multiplied by
    :math:`\lambda_2`.
    """
    return sum(p.square().sum() for p in params)


class BPRLoss(torch.nn.Module):
    r"""Module form of :func:`bpr_loss`.

    Args:
        eps (float, optional): :math:`\epsilon` inside the log.
            (default: :obj:`0.0`)
    """

    def __init__(self, eps: float = 0.0):
        super().__init__()
        self.eps = float(eps)

    def forward(self, user_emb: Tensor, pos_emb: Tensor, neg_emb: Tensor) -> Tensor:
        """Returns the mean BPR loss."""
        return bpr_loss(user_emb, pos_emb, neg_emb, self.eps)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(eps={self.eps})"
