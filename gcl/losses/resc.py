r"""ReSC: gCooL's reweighted node-to-community cross contrast."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.utils import scatter

from gcl.losses._blockwise import _check_tau

__all__ = ["ReSC", "community_centers", "resc_loss", "resc_loss_per_node"]

_SIMILARITIES = ("cos", "rbf")


def _check_similarity(similarity: str) -> str:
    """Returns ``similarity`` lower-cased, checked to be one of
    ``"cos"``, ``"rbf"``.
    """
    sim = str(similarity).lower()
    if sim not in _SIMILARITIES:
        raise ValueError(f"similarity must be 'cos' or 'rbf', got {similarity!r}")
    return sim


def community_centers(h: Tensor, index: Tensor, num_communities: int) -> Tensor:
    r"""Mean embedding of each community, a zero vector for an empty one.

    :math:`c_k = \frac{1}{|\{i : k(i) = k\}|} \sum_{i : k(i) = k} h_i`, not
    re-normalised (gCooL's ``community_contrast``).

    Args:
        h (torch.Tensor): Embeddings ``[N, d]``.
        index (torch.Tensor): Community of each node, ``[N]``, in
            ``0..K-1``.
        num_communities (int): :math:`K`.

    Returns:
        torch.Tensor: Centres ``[K, d]``.
    """
    return scatter(h, index, 0, dim_size=num_communities, reduce="mean")


def _hard(r: Tensor, n: int, num_communities: Optional[int],
          name: str) -> tuple[Tensor, int]:
    if r.dim() == 2 and r.is_floating_point():
        if r.size(0) != n:
            raise ValueError(f"{name} has {r.size(0)} rows, expected N = {n}")
        return r.detach().argmax(dim=1), r.size(1)
    if r.dim() == 1 and not r.is_floating_point():
        if r.size(0) != n:
            raise ValueError(f"{name} has {r.size(0)} entries, expected N = {n}")
        if num_communities is None:
            raise ValueError(f"{name} is a hard assignment: pass num_communities")
        if r.numel() and (int(r.min()) < 0 or int(r.max()) >= num_communities):
            raise ValueError(f"{name} holds communities outside "
                             f"0..{num_communities - 1}")
        return r.long(), int(num_communities)
    raise ValueError(f"{name} must be soft assignments [N, K] (float) or hard "
                     f"community indices [N] (integer), got {tuple(r.shape)} "
                     f"{r.dtype}")


def _cross(h: Tensor, c: Tensor, index: Tensor, tau: float, similarity: str,
           gamma: float) -> Tensor:
    """Per-node loss of anchors ``h`` against the (detached) centres ``c``."""
    if similarity == "cos":
        logits = h @ c.t() / tau
        pos = logits.gather(1, index[:, None]).squeeze(1)
        return torch.logsumexp(logits, dim=1) - pos
    d2 = ((h * h).sum(1, keepdim=True) + (c * c).sum(1)[None, :]
          - 2.0 * h @ c.t()).clamp(min=0.0)
    logits = -d2 / (tau * tau)
    diff = c[:, None, :] - c[None, :, :]  # [K, K, d], K is small
    log_w = -gamma * (diff * diff).sum(-1)  # exactly 0 on the diagonal
    pos = logits.gather(1, index[:, None]).squeeze(1)
    return torch.logsumexp(logits + log_w[index], dim=1) - pos


def resc_loss_per_node(
    h1: Tensor,
    h2: Tensor,
    r1: Tensor,
    r2: Tensor,
    tau: float = 0.5,
    similarity: str = "cos",
    gamma: float = 8e-5,
    num_communities: Optional[int] = None,
) -> tuple[Tensor, Tensor]:
    r"""Per-node ReSC losses :math:`(\ell_{12}(i), \ell_{21}(i))`, each
    ``[N]`` (see :func:`resc_loss`).
    """
    if h1.dim() != 2 or h1.shape != h2.shape:
        raise ValueError(f"ReSC expects two [N, d] embeddings of the same shape, "
                         f"got {tuple(h1.shape)} and {tuple(h2.shape)}")
    _check_tau(tau)
    sim = _check_similarity(similarity)
    if gamma < 0:
        raise ValueError(f"gamma must be non-negative, got {gamma}")
    n = h1.size(0)
    k1, n_comm1 = _hard(r1, n, num_communities, "r1")
    k2, n_comm2 = _hard(r2, n, num_communities, "r2")
    if n_comm1 != n_comm2:
        raise ValueError(f"r1 and r2 have {n_comm1} and {n_comm2} communities")
    c1 = community_centers(h1.detach(), k1, n_comm1)
    c2 = community_centers(h2.detach(), k2, n_comm2)
    return (_cross(h1, c2, k2, tau, sim, gamma),
            _cross(h2, c1, k1, tau, sim, gamma))


def resc_loss(
    h1: Tensor,
    h2: Tensor,
    r1: Tensor,
    r2: Tensor,
    tau: float = 0.5,
    similarity: str = "cos",
    gamma: float = 8e-5,
    num_communities: Optional[int] = None,
) -> Tensor:
    r"""ReSC, the Reweighted Self-supervised Cross-contrastive loss of gCooL.

    From `"Graph Communal Contrastive Learning"
    <https://arxiv.org/abs/2110.14863>`_ (Li, Jing and Tong, WWW 2022), as
    coded in ``lblaoke/gCooL`` (``gCooL.community_contrast``). Each node's
    hard community in view :math:`v` is :math:`k_v(i) = \arg\max_k
    R^{(v)}_{ik}`; the community centres :math:`c^{(v)}_k` are the means of
    :math:`h^{(v)}` over those communities (zero when empty), detached and
    not re-normalised (:func:`community_centers`). A view-1 node is
    contrasted with the view-2 centres, its own community's being the
    positive:

    .. math::
        \ell_{12}(i) = -\log \frac{s(h^{(1)}_i, c^{(2)}_{k_2(i)})}
        {s(h^{(1)}_i, c^{(2)}_{k_2(i)}) + \sum_{k \neq k_2(i)}
        w^{(2)}_{k_2(i), k}\, s(h^{(1)}_i, c^{(2)}_k)},

    :math:`\ell_{21}` likewise, and :math:`\mathcal{L}_{\text{ReSC}} =
    \frac{1}{2N}\sum_i [\ell_{12}(i) + \ell_{21}(i)]`.

    - ``similarity="cos"`` (gCooL_c, the released configs):
      :math:`s(a, c) = e^{a \cdot c / \tau}` and :math:`w \equiv 1`.
    - ``similarity="rbf"`` (gCooL_e): :math:`s(a, c) =
      e^{-\lVert a - c \rVert^2 / \tau^2}` and :math:`w^{(v)}_{kl} =
      e^{-\gamma \lVert c^{(v)}_k - c^{(v)}_l \rVert^2}` (centres of the
      view whose centres are contrasted).

    Computed as a log-sum-exp over the :math:`K` centres in
    :math:`O(N K d)`; an empty community's zero centre enters every
    denominator, as in the official code. Gradients reach ``h1`` and ``h2``
    only (not the centres, weights or assignments).

    Args:
        h1 (torch.Tensor): View-1 embeddings ``[N, d]`` (gCooL: normalised
            projections).
        h2 (torch.Tensor): View-2 embeddings ``[N, d]``.
        r1 (torch.Tensor): View-1 soft assignments ``[N, K]`` (arg-maxed) or
            hard communities ``[N]``.
        r2 (torch.Tensor): View-2 assignments, same form.
        tau (float, optional): Temperature :math:`\tau`. (default: :obj:`0.5`)
        similarity (str, optional): ``"cos"`` or ``"rbf"``.
            (default: :obj:`"cos"`)
        gamma (float, optional): :math:`\gamma` of the RBF reweighting.
            (default: :obj:`8e-5`)
        num_communities (int, optional): :math:`K`, needed with hard
            assignments. (default: :obj:`None`)

    Returns:
        torch.Tensor: The scalar loss.
    """
    l12, l21 = resc_loss_per_node(h1, h2, r1, r2, tau, similarity, gamma,
                                  num_communities)
    return 0.5 * (l12 + l21).mean()


class ReSC(torch.nn.Module):
    r"""Module form of :func:`resc_loss`.

    Args:
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        similarity (str, optional): ``"cos"`` or ``"rbf"``.
            (default: :obj:`"cos"`)
        gamma (float, optional): RBF reweighting :math:`\gamma`.
            (default: :obj:`8e-5`)
    """

    def __init__(self, tau: float = 0.5, similarity: str = "cos",
                 gamma: float = 8e-5):
        super().__init__()
        _check_tau(tau)
        self.tau = tau
        self.similarity = _check_similarity(similarity)
        self.gamma = gamma

    def forward(self, h1: Tensor, h2: Tensor, r1: Tensor, r2: Tensor,
                num_communities: Optional[int] = None) -> Tensor:
        """Returns the ReSC loss of the two views."""
        return resc_loss(h1, h2, r1, r2, self.tau, self.similarity, self.gamma,
                         num_communities)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(tau={self.tau}, "
                f"similarity={self.similarity!r}, gamma={self.gamma})")
