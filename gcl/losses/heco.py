r"""HeCo's cross-view contrastive loss with multiple positives per anchor."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.weak import WeakIdKeyDictionary
from torch_geometric.utils import scatter

from gcl.losses._blockwise import (
    PairPattern,
    _block,
    _check_pair,
    _check_tau,
    _cross_lse,
    _shape,
    pair_dots,
    pair_pattern,
)

__all__ = ["HeCoLoss", "heco_loss", "positive_pairs"]


def positive_pairs(
    pos: Tensor, num_nodes: int, pos_weight: Optional[Tensor] = None,
) -> tuple[Tensor, Optional[Tensor]]:
    r"""Validated positive pairs ``(index [2, P], weight [P] or None)``.

    ``pos`` is either an index tensor ``[2, P]`` whose column ``(i, j)``
    makes node ``j`` a positive of anchor ``i``, or a sparse ``[N, N]``
    matrix (HeCo's ``pos.npz`` as a torch sparse tensor), whose non-zeros
    are the pairs and whose values the weights. Every anchor needs at least
    one positive (HeCo's sets put every node among its own positives).

    Raises:
        ValueError: Wrong shape or dtype, an index out of ``[0, N)``, a
            non-positive or non-finite weight, or an anchor without
            positives.
    """
    if isinstance(pos, Tensor) and pos.layout != torch.strided:
        if pos.dim() != 2 or tuple(pos.shape) != (num_nodes, num_nodes):
            raise ValueError(
                f"a sparse positive matrix must be [N, N] = [{num_nodes}, "
                f"{num_nodes}], got {tuple(pos.shape)}")
        if pos_weight is not None:
            raise ValueError("pos_weight must be None when pos is a sparse "
                             "matrix (its values are the weights)")
        coo = pos.to_sparse_coo().coalesce()
        index, pos_weight = coo.indices(), coo.values()
    else:
        index = pos
    if not isinstance(index, Tensor) or index.dim() != 2 or index.size(0) != 2:
        raise ValueError(
            f"positive pairs must be an index tensor [2, P], got {_shape(index)}")
    if index.dtype not in (torch.int64, torch.int32):
        raise ValueError(f"positive pairs must be integer indices, got {index.dtype}")
    index = index.long()
    if index.numel() and (int(index.min()) < 0 or int(index.max()) >= num_nodes):
        raise ValueError(
            f"positive pair index out of range [0, {num_nodes}): min "
            f"{int(index.min())}, max {int(index.max())}")
    if pos_weight is not None:
        if pos_weight.shape != (index.size(1),):
            raise ValueError(
                f"pos_weight must have one value per pair, shape "
                f"[{index.size(1)}], got {tuple(pos_weight.shape)}")
        if not (torch.isfinite(pos_weight).all() and (pos_weight > 0).all()):
            raise ValueError("pos_weight must be finite and positive")
    count = torch.bincount(index[0], minlength=num_nodes)
    if (count == 0).any():
        missing = int((count == 0).sum())
        first = int((count == 0).nonzero()[0])
        raise ValueError(
            f"{missing} anchor(s) have no positive pair (first: node {first}); "
            f"every anchor needs at least one positive")
    return index, pos_weight


# Validated, row-sorted positive pairs by the identity of their ``pos`` tensor
# (HeCo passes the same pairs every step): (pos._version, N, prepared).
_PREPARED = WeakIdKeyDictionary()


def _prepared_pairs(pos: Tensor, n: int, pos_weight: Optional[Tensor]
                    ) -> tuple[PairPattern, Optional[Tensor]]:
    """``positive_pairs`` laid out for :func:`pair_dots`: the
    :class:`PairPattern` (row-sorted) and the weights in its order.
    Without ``pos_weight`` the result is kept per ``pos`` tensor and reused
    until ``pos`` changes in place (its version counter) or ``N`` changes.
    """
    memo = pos_weight is None and isinstance(pos, Tensor)
    if memo:
        hit = _PREPARED.get(pos)
        if hit is not None and hit[0] == pos._version and hit[1] == n:
            return hit[2]
    index, weight = positive_pairs(pos, n, pos_weight)
    pattern = pair_pattern(index, n, n)
    if weight is not None and pattern.order is not None:
        weight = weight[pattern.order]
    out = (pattern, weight)
    if memo:
        _PREPARED[pos] = (pos._version, n, out)
    return out


def _scatter_logsumexp(x: Tensor, index: Tensor, n: int,
                       weight: Optional[Tensor] = None) -> Tensor:
    r""":math:`\log \sum_{p: \text{index}_p = i} w_p e^{x_p}` for every
    ``i < n``, shifted by the per-group maximum (detached).
    """
    shift = scatter(x.detach(), index, 0, dim_size=n, reduce="max")
    e = torch.exp(x - shift[index])
    if weight is not None:
        e = e * weight
    return torch.log(scatter(e, index, 0, dim_size=n, reduce="sum")) + shift


def heco_loss(
    z_mp: Tensor,
    z_sc: Tensor,
    pos: Tensor,
    tau: float = 0.8,
    lam: float = 0.5,
    pos_weight: Optional[Tensor] = None,
    eps: float = 0.0,
    block_size: Optional[int] = None,
) -> Tensor:
    r"""HeCo's cross-view contrastive loss with multiple positives.

    From `"Self-supervised Heterogeneous Graph Neural Network with
    Co-contrastive Learning" <https://arxiv.org/abs/2105.09111>`_ (Wang et
    al., KDD 2021), as coded in ``liun-online/HeCo``
    (``module/contrast.py``). With the (projected) meta-path view
    :math:`z^{mp}`, schema view :math:`z^{sc}`, the cosine similarity
    :math:`\theta` and the positive set :math:`\mathbb{P}_i` of node
    :math:`i`:

    .. math::
        \mathcal{L}^{mp}_i = -\log \frac{\sum_{j \in \mathbb{P}_i}
        e^{\theta(z^{mp}_i, z^{sc}_j)/\tau}}
        {\sum_{k} e^{\theta(z^{mp}_i, z^{sc}_k)/\tau}}, \qquad
        \mathcal{L}^{sc}_i = -\log \frac{\sum_{j \in \mathbb{P}_i}
        e^{\theta(z^{sc}_i, z^{mp}_j)/\tau}}
        {\sum_{k} e^{\theta(z^{sc}_i, z^{mp}_k)/\tau}},

    .. math::
        \mathcal{L} = \frac{1}{N} \sum_i \big[\lambda\, \mathcal{L}^{mp}_i
        + (1 - \lambda)\, \mathcal{L}^{sc}_i\big].

    Both directions use the same pairs :math:`(i, j)`, as the official
    code does (it multiplies both row-normalised matrices by the same
    ``pos``). The denominator sums over all nodes, the positives included;
    the official code adds ``1e-8`` to it (``eps``). With ``pos_weight`` each
    positive term is multiplied by its weight (the official code multiplies
    by the values of ``pos``, which are 1 in HeCo's data).

    The denominators of both directions come from one pass over row blocks
    of :math:`z^{mp} {z^{sc}}^\top` (rows and columns of each block; the
    transpose is never formed) with a custom backward that recomputes the
    blocks, so memory is :math:`O(N \cdot \text{block} + P)` for :math:`P`
    positive pairs; the positives' cosines come from a sampled dense-dense
    product over the pairs (:func:`torch.sparse.sampled_addmm`), never a
    ``[P, d]`` gather.

    Args:
        z_mp (torch.Tensor): Meta-path-view embeddings (after the projection
            head), ``[N, d]``.
        z_sc (torch.Tensor): Schema-view embeddings, ``[N, d]``.
        pos (torch.Tensor): Positive pairs as an index tensor ``[2, P]``
            (column ``(i, j)``: :math:`j \in \mathbb{P}_i`) or a sparse
            ``[N, N]`` matrix. Every anchor needs one positive at least.
        tau (float, optional): Temperature :math:`\tau`. (default:
            :obj:`0.8`, HeCo's ACM setting)
        lam (float, optional): Weight :math:`\lambda` of the meta-path
            direction. (default: :obj:`0.5`)
        pos_weight (torch.Tensor, optional): Positive weight per pair,
            ``[P]``. (default: :obj:`None`, all 1)
        eps (float, optional): Constant added to every denominator
            (``1e-8`` in the official code). (default: :obj:`0.0`)
        block_size (int, optional): Rows per block. (default: :obj:`None`,
            256 rows)

    Returns:
        torch.Tensor: The scalar loss.
    """
    _check_pair(z_mp, z_sc, "heco_loss")
    _check_tau(tau)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if not eps >= 0.0:
        raise ValueError(f"eps must be non-negative, got {eps}")
    n = z_mp.size(0)
    pattern, weight = _prepared_pairs(pos, n, pos_weight)
    if weight is not None:
        weight = weight.to(z_mp.dtype)
    block = _block(n, block_size)
    u = F.normalize(z_mp, dim=1)
    v = F.normalize(z_sc, dim=1)
    lse_mp, lse_sc = _cross_lse(u, v, tau, block)
    if eps > 0:
        log_eps = torch.tensor(math.log(eps), dtype=u.dtype, device=u.device)
        lse_mp = torch.logaddexp(lse_mp, log_eps)
        lse_sc = torch.logaddexp(lse_sc, log_eps)
    # mp anchors: theta(z_mp_i, z_sc_j); sc anchors: theta(z_sc_i, z_mp_j);
    # both over the row-sorted pairs.
    s_mp = pair_dots(u, v, pattern, row_sorted=True) / tau
    s_sc = pair_dots(v, u, pattern, row_sorted=True) / tau
    pos_mp = _scatter_logsumexp(s_mp, pattern.row, n, weight)
    pos_sc = _scatter_logsumexp(s_sc, pattern.row, n, weight)
    loss_mp = (lse_mp - pos_mp).mean()
    loss_sc = (lse_sc - pos_sc).mean()
    return lam * loss_mp + (1.0 - lam) * loss_sc


class HeCoLoss(torch.nn.Module):
    r"""Module form of :func:`heco_loss` (HeCo's cross-view loss).

    Args:
        tau (float, optional): Temperature. (default: :obj:`0.8`)
        lam (float, optional): Weight of the meta-path direction.
            (default: :obj:`0.5`)
        eps (float, optional): Constant added to the denominators (``1e-8``
            in the official code). (default: :obj:`0.0`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
    """

    def __init__(self, tau: float = 0.8, lam: float = 0.5, eps: float = 0.0,
                 block_size: Optional[int] = None):
        super().__init__()
        _check_tau(tau)
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam must be in [0, 1], got {lam}")
        self.tau = tau
        self.lam = lam
        self.eps = eps
        self.block_size = block_size

    def forward(self, z_mp: Tensor, z_sc: Tensor, pos: Tensor,
                pos_weight: Optional[Tensor] = None) -> Tensor:
        """Returns the loss of the two views for the positive pairs ``pos``."""
        return heco_loss(z_mp, z_sc, pos, self.tau, self.lam, pos_weight,
                         self.eps, self.block_size)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(tau={self.tau}, lam={self.lam})"
