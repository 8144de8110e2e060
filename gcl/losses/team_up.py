r"""CSGCL's Team-up objective: InfoNCE with community-strength logits."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from gcl.losses._blockwise import _check_tau
from gcl.losses.infonce import _InfoNCEModule, info_nce

__all__ = ["TeamUp", "team_up_gamma", "team_up_loss"]


def team_up_gamma(epoch: int, t0: int, gamma_max: float,
                  ramp: float = 100.0) -> float:
    r"""Team-up's strength weight at epoch ``epoch`` (1-based):

    .. math::
        \gamma(t) = \min\Big(\max\big(0, \tfrac{t - t_0}{\text{ramp}}\big),
        \gamma_{\max}\Big).

    Zero (plain GRACE InfoNCE) up to the warm-up epoch :math:`t_0`, then
    growing by :math:`1/\text{ramp}` per epoch until :math:`\gamma_{\max}`
    (official ``_team_up``: ramp 100).

    Args:
        epoch (int): Current epoch :math:`t`, 1-based.
        t0 (int): Last warm-up epoch :math:`t_0`.
        gamma_max (float): Final weight :math:`\gamma_{\max} \geq 0`.
        ramp (float, optional): Epochs per unit of :math:`\gamma`.
            (default: :obj:`100.0`)
    """
    if not ramp > 0:
        raise ValueError(f"ramp must be positive, got {ramp}")
    if gamma_max < 0:
        raise ValueError(f"gamma_max must be >= 0, got {gamma_max}")
    return float(min(max(0.0, (epoch - t0) / ramp), gamma_max))


def team_up_loss(
    z1: Tensor,
    z2: Tensor,
    strength: Tensor,
    gamma: float,
    tau: float = 0.5,
    intra_view: bool = True,
    symmetric: bool = True,
    block_size: Optional[int] = None,
    cache_mb: float = 0.0,
) -> Tensor:
    r"""The Team-up objective from `"CSGCL: Community-Strength-Enhanced Graph
    Contrastive Learning" <https://arxiv.org/abs/2305.04658>`_ (Chen et al.,
    IJCAI 2023).

    GRACE's InfoNCE (:func:`gcl.losses.info_nce`) in which every similarity,
    of the positive pair and of the inter- and intra-view negatives, is
    shifted by the node strengths :math:`S` of both ends:

    .. math::
        \tilde\theta(a_i, b_j) = \theta(a_i, b_j) + \gamma (S_i + S_j),

    .. math::
        \ell(u_i, v_i) = -\log \frac{e^{\tilde\theta(u_i, v_i)/\tau}}
        {\sum_{j} e^{\tilde\theta(u_i, v_j)/\tau}
        + \sum_{j \neq i} e^{\tilde\theta(u_i, u_j)/\tau}},

    :math:`\mathcal{L} = \frac{1}{2N}\sum_i [\ell(u_i, v_i) +
    \ell(v_i, u_i)]`, with :math:`\theta` the cosine similarity.

    **The anchor term cancels.** :math:`\gamma S_i` multiplies the numerator
    and every term of the denominator by the same :math:`e^{\gamma S_i /
    \tau}`, so :math:`\ell` is *exactly* InfoNCE with the per-sample logit
    bias :math:`b_j = \gamma S_j / \tau`: positives and negatives from
    strong communities weigh more. That is how it is computed here, with
    :func:`gcl.losses.info_nce`'s block-wise core (``bias``), in
    :math:`O(N \cdot \text{block})` memory; the value equals the two-term
    formula above. With :math:`\gamma = 0` it is GRACE's loss.

    Args:
        z1 (torch.Tensor): View-1 projections, ``[N, d]``.
        z2 (torch.Tensor): View-2 projections, ``[N, d]``.
        strength (torch.Tensor): Node strength :math:`S_i`, ``[N]`` (see
            :func:`gcl.community.community_strength`). Not differentiated.
        gamma (float): Weight :math:`\gamma` (see :func:`team_up_gamma`).
        tau (float, optional): Temperature :math:`\tau`.
            (default: :obj:`0.5`)
        intra_view (bool, optional): Include the intra-view negatives.
            (default: :obj:`True`)
        symmetric (bool, optional): Average both directions.
            (default: :obj:`True`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
        cache_mb (float, optional): Memory for keeping the forward's blocks
            (see :func:`gcl.losses.info_nce`). (default: :obj:`0.0`)

    Returns:
        torch.Tensor: The scalar mean loss.
    """
    _check_tau(tau)
    n = z1.size(0) if z1.dim() == 2 else -1
    if strength.shape != (n,):
        raise ValueError(f"strength must have shape [N] = [{n}], got "
                         f"{tuple(strength.shape)}")
    if not torch.isfinite(strength).all():
        raise ValueError("strength contains NaN or inf values")
    gamma = float(gamma)
    bias = None
    if gamma != 0.0:
        bias = strength.detach().to(device=z1.device,
                                    dtype=torch.float64) * (gamma / tau)
    return info_nce(z1, z2, tau, intra_view, symmetric, bias, block_size,
                    cache_mb)


class TeamUp(_InfoNCEModule):
    r"""Module form of :func:`team_up_loss` (CSGCL's Team-up objective).

    The weight :math:`\gamma` is an argument of :meth:`forward`; the schedule
    :func:`team_up_gamma` is kept by the caller (:class:`gcl.methods.CSGCL`
    updates it in ``set_epoch``).

    Args:
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        intra_view (bool, optional): Use intra-view negatives.
            (default: :obj:`True`)
        symmetric (bool, optional): Average both directions.
            (default: :obj:`True`)
        block_size (int, optional): Rows per block. (default: :obj:`None`)
        cache_mb (float, optional): Memory for keeping the forward's blocks
            (see :func:`gcl.losses.info_nce`). (default: :obj:`0.0`)
    """

    def forward(self, z1: Tensor, z2: Tensor, strength: Tensor,
                gamma: float) -> Tensor:
        """Returns the mean Team-up loss of ``z1`` and ``z2``."""
        return team_up_loss(z1, z2, strength, gamma, self.tau,
                            self.intra_view, self.symmetric, self.block_size,
                            self.cache_mb)
