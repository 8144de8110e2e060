r"""LightGCL's view-contrast InfoNCE in its two settings, block-wise."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from gcl.losses._blockwise import _check_tau, cross_logsumexp

__all__ = ["LIGHTGCL_SETTINGS", "LightGCLLoss", "cross_logsumexp",
           "lightgcl_code_loss", "lightgcl_paper_loss"]

#: The two LightGCL settings: ``"paper"`` (``old_setting/``, the paper's
#: tables) and ``"code"`` (the current ``main.py``/``model.py``).
LIGHTGCL_SETTINGS = ("paper", "code")

def _side_code(g: Tensor, e: Tensor, index: Tensor, tau: float, clamp: float,
               eps: float, block: Optional[int],
               cache_mb: float) -> Tensor:
    uniq, inverse = torch.unique(index, return_inverse=True)
    g_b = g[uniq]
    lse = cross_logsumexp(g_b, e, tau, block, cache_mb)
    if eps > 0:
        lse = torch.logaddexp(lse, lse.new_tensor(math.log(eps)))
    pos = ((g_b * e[uniq]).sum(1) / tau).clamp(-clamp, clamp)
    return lse[inverse].mean() - pos[inverse].mean()


def lightgcl_code_loss(g_user: Tensor, e_user: Tensor, g_item: Tensor,
                       e_item: Tensor, users: Tensor, items: Tensor,
                       tau: float = 0.2, clamp: float = 5.0, eps: float = 1e-8,
                       block_size: Optional[int] = None,
                       cache_mb: float = 0.0) -> Tensor:
    r"""LightGCL's contrastive loss as the current official code computes it
    (``HKUDS/LightGCL`` ``model.py``, ``loss_s``).

    With :math:`G` the SVD view and :math:`E` the graph view, both the
    *sums* over layers and not normalised, for the batch's users
    :math:`\mathcal{B}_u` (with repeats: one per interaction) and items
    :math:`\mathcal{B}_i` (positives and negatives, with repeats):

    .. math::
        \mathcal{L}_s = \frac{1}{|\mathcal{B}_u|}\sum_{u \in \mathcal{B}_u}
        \Big[\log\Big(\sum_{v=1}^{U} e^{g_u^\top e_v / \tau} + \epsilon\Big)
        - \mathrm{clip}\big(g_u^\top e_u / \tau, -c, c\big)\Big]
        + \text{(the same over } \mathcal{B}_i \text{ and all items)},

    negatives over **all** users (items), the clamp on the positive only,
    :math:`c = 5`, :math:`\epsilon = 10^{-8}`. The log-sum-exp runs in
    blocks (:func:`cross_logsumexp`, the official code exponentiates
    without a shift) over the distinct batch rows, each weighted by its
    multiplicity; :math:`\log(x + \epsilon)` is computed as
    ``logaddexp(log x, log eps)``.

    Args:
        g_user (torch.Tensor): :math:`G_u`, ``[U, d]``.
        e_user (torch.Tensor): :math:`E_u`, ``[U, d]``.
        g_item (torch.Tensor): :math:`G_i`, ``[I, d]``.
        e_item (torch.Tensor): :math:`E_i`, ``[I, d]``.
        users (torch.Tensor): :math:`\mathcal{B}_u`, ``[B]``.
        items (torch.Tensor): :math:`\mathcal{B}_i`, ``[B']``.
        tau (float, optional): :math:`\tau`. (default: :obj:`0.2`)
        clamp (float, optional): :math:`c`. (default: :obj:`5.0`)
        eps (float, optional): :math:`\epsilon`. (default: :obj:`1e-8`)
        block_size (int, optional): Batch rows per block.
        cache_mb (float, optional): See :func:`cross_logsumexp`.

    Returns:
        torch.Tensor: :math:`\mathcal{L}_s` (before :math:`\lambda_1`).
    """
    if g_user.shape != e_user.shape or g_item.shape != e_item.shape:
        raise ValueError("the SVD view and the graph view must have the same "
                         "shape on each side")
    return (_side_code(g_user, e_user, users, tau, clamp, eps, block_size,
                       cache_mb)
            + _side_code(g_item, e_item, items, tau, clamp, eps, block_size,
                         cache_mb))


def _side_paper(z: Tensor, g: Tensor, weight: Optional[Tensor], tau: float,
                mask: Tensor, eps: float, block: Optional[int],
                cache_mb: float) -> Tensor:
    gnn = F.normalize(z, p=2, dim=1)
    hyper = F.normalize(g, p=2, dim=1)
    if weight is not None:
        hyper = hyper @ weight
    lse = cross_logsumexp(gnn, hyper, tau, block, cache_mb)
    log_eps = lse.new_tensor(math.log(eps))
    pos = (gnn * hyper).sum(1) / tau
    # -log(exp(pos) / (sum_j exp(s_ij) + eps) + eps), stably
    term = -torch.logaddexp(pos - torch.logaddexp(lse, log_eps), log_eps)
    return (term * mask.to(term.dtype)).sum()


def lightgcl_paper_loss(z_user: Sequence[Tensor], g_user: Sequence[Tensor],
                        z_item: Sequence[Tensor], g_item: Sequence[Tensor],
                        users: Tensor, items: Tensor, tau: float = 0.5,
                        weights: Optional[Sequence[Tensor]] = None,
                        keep_prob: float = 0.5,
                        masks: Optional[Sequence[tuple[Tensor, Tensor]]] = None,
                        eps: float = 1e-8,
                        block_size: Optional[int] = None,
                        cache_mb: float = 0.0) -> Tensor:
    r"""LightGCL's contrastive loss in the setting of the paper's tables
    (``HKUDS/LightGCL`` ``old_setting/model.py``).

    Per layer :math:`l = 1..L`, for the batch's distinct users
    :math:`\mathcal{B}_u` with :math:`\hat z = z / \lVert z \rVert`,
    :math:`\hat g = (g / \lVert g \rVert) W_l` (a learnable :math:`d \times
    d` matrix, not in the paper) and :math:`s_{uv} = \hat z_u^\top \hat g_v
    / \tau`:

    .. math::
        \mathcal{L}_s = \sum_{l=1}^{L} \sum_{u \in \mathcal{B}_u} m_u^{(l)}
        \Big[-\log\Big(\frac{e^{s_{uu}}}{\sum_{v \in \mathcal{B}_u}
        e^{s_{uv}} + \epsilon} + \epsilon\Big)\Big]
        + \text{(the same over the batch's distinct items)},

    in-batch negatives (the positive included), the graph view's layer
    output :math:`Z^{(l)}` against the SVD view's :math:`G^{(l)}`, and
    Bernoulli(``keep_prob``) masks :math:`m` that keep about half the terms
    (the official ``torch.rand(n) > 0.5``, drawn from torch's RNG unless
    ``masks`` are given). Sums, not means. Block-wise over the batch
    (:func:`cross_logsumexp`).

    Args:
        z_user (Sequence[torch.Tensor]): :math:`Z_u^{(l)}`, :math:`l = 1..L`,
            each ``[U, d]``.
        g_user (Sequence[torch.Tensor]): :math:`G_u^{(l)}`, each ``[U, d]``.
        z_item (Sequence[torch.Tensor]): :math:`Z_i^{(l)}`, each ``[I, d]``.
        g_item (Sequence[torch.Tensor]): :math:`G_i^{(l)}`, each ``[I, d]``.
        users (torch.Tensor): Batch users (distinct).
        items (torch.Tensor): Batch items (distinct: positives and
            negatives).
        tau (float, optional): :math:`\tau`. (default: :obj:`0.5`)
        weights (Sequence[torch.Tensor], optional): :math:`W_l`.
            (default: :obj:`None`, the identity)
        keep_prob (float, optional): Probability that a term is kept.
            (default: :obj:`0.5`)
        masks (Sequence[tuple[Tensor, Tensor]], optional): Per layer, the
            ``(user_mask, item_mask)`` to use instead of drawing them.
        eps (float, optional): :math:`\epsilon`. (default: :obj:`1e-8`)
        block_size (int, optional): Rows per block.
        cache_mb (float, optional): See :func:`cross_logsumexp`.
    """
    num_layers = len(z_user)
    if not (len(g_user) == len(z_item) == len(g_item) == num_layers):
        raise ValueError("z_user, g_user, z_item and g_item need one entry per "
                         "layer each")
    if weights is not None and len(weights) != num_layers:
        raise ValueError(f"need {num_layers} weight matrices, got {len(weights)}")
    loss = z_user[0].new_zeros(())
    for layer in range(num_layers):
        w = None if weights is None else weights[layer]
        if masks is not None:
            mu, mi = masks[layer]
        else:
            mu = torch.rand(users.numel(), device=users.device) > 1 - keep_prob
            mi = torch.rand(items.numel(), device=items.device) > 1 - keep_prob
        loss = loss + _side_paper(z_user[layer][users], g_user[layer][users], w,
                                  tau, mu, eps, block_size, cache_mb)
        loss = loss + _side_paper(z_item[layer][items], g_item[layer][items], w,
                                  tau, mi, eps, block_size, cache_mb)
    return loss


class LightGCLLoss(torch.nn.Module):
    r"""LightGCL's contrastive term in either setting
    (:func:`lightgcl_paper_loss` or :func:`lightgcl_code_loss`).

    Args:
        setting (str, optional): ``"paper"`` or ``"code"``.
            (default: :obj:`"code"`)
        tau (float, optional): Temperature. (default: :obj:`0.2`)
        block_size (int, optional): Rows per block.
        cache_mb (float, optional): See :func:`cross_logsumexp`.
    """

    def __init__(self, setting: str = "code", tau: float = 0.2,
                 block_size: Optional[int] = None,
                 cache_mb: float = 0.0):
        super().__init__()
        if setting not in LIGHTGCL_SETTINGS:
            raise ValueError(f"setting must be one of {LIGHTGCL_SETTINGS}, got "
                             f"{setting!r}")
        _check_tau(tau)
        self.setting, self.tau, self.block_size = setting, float(tau), block_size
        self.cache_mb = cache_mb

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(setting={self.setting!r}, tau={self.tau})"

    def forward(self, *args, **kwargs) -> Tensor:
        """The arguments of :func:`lightgcl_code_loss` (``"code"``) or
        :func:`lightgcl_paper_loss` (``"paper"``), without ``tau``.
        """
        fn = lightgcl_code_loss if self.setting == "code" else lightgcl_paper_loss
        return fn(*args, tau=self.tau, block_size=self.block_size,
                  cache_mb=self.cache_mb, **kwargs)
