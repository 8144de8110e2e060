r"""Communal Edge Dropping (CED) of CSGCL."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.communal_augmentor import CommunalAugmentor
from gcl.augment.edge_drop import subset_edges

__all__ = ["CommunalEdgeDrop", "ced_edge_weight", "ced_keep_prob"]


def ced_edge_weight(edge_index: Tensor, community: Tensor,
                    strength: Tensor) -> Tensor:
    r"""CED's communal weight of every edge entry.

    For an entry :math:`e = (u, v)` with communities :math:`c(u), c(v)` and
    community strengths :math:`S_c`,

    .. math::
        w_e = \begin{cases} S_{c(u)} & c(u) = c(v) \\
        -(S_{c(u)} + S_{c(v)}) & c(u) \neq c(v) \end{cases}

    min-max normalised over all entries to :math:`[0, 1]` (official
    ``get_edge_weight``, vectorised). When every entry has the same raw
    weight (the official code would divide by zero), all weights are 1.

    Args:
        edge_index (torch.Tensor): Edge indices, ``[2, E]``; one weight per
            (directed) entry, self-loops included.
        community (torch.Tensor): Community of every node, ``[N]``.
        strength (torch.Tensor): Community strength :math:`S_c`, ``[K]``.

    Returns:
        torch.Tensor: :math:`w \in [0, 1]^E` (float64).
    """
    if edge_index.numel() == 0:
        return torch.zeros(0, dtype=torch.float64, device=edge_index.device)
    s = strength.to(torch.float64)
    cu, cv = community[edge_index[0]], community[edge_index[1]]
    w = torch.where(cu == cv, s[cu], -(s[cu] + s[cv]))
    lo, hi = w.min(), w.max()
    if hi > lo:
        return (w - lo) / (hi - lo)
    return torch.ones_like(w)


def ced_keep_prob(weight: Tensor, p: float, threshold: float = 1.0) -> Tensor:
    r"""CED's keep probability of every edge entry at drop rate :math:`p`.

    .. math::
        q_e = \min\Big(1, \max\big(1 - \text{thr},
        \frac{w_e}{\bar{w}} (1 - p)\big)\Big)

    so the mean keep probability before clipping is :math:`1 - p`
    (official ``ced``).

    Args:
        weight (torch.Tensor): Weights from :func:`ced_edge_weight`, ``[E]``.
        p (float): Drop rate :math:`p \in [0, 1]`.
        threshold (float, optional): ``ced_thr``: keep probabilities are at
            least :math:`1 - \text{thr}`. (default: :obj:`1.0`)

    Returns:
        torch.Tensor: :math:`q \in [1 - \text{thr}, 1]^E`.
    """
    if weight.numel() == 0:
        return weight.clone()
    q = weight / weight.mean() * (1.0 - p)
    return q.clamp(min=1.0 - threshold, max=1.0)


class CommunalEdgeDrop(CommunalAugmentor):
    r"""Communal Edge Dropping (CED) from `"CSGCL: Community-Strength-Enhanced
    Graph Contrastive Learning" <https://arxiv.org/abs/2305.04658>`_ (Chen et
    al., IJCAI 2023).

    Edges inside strong communities are kept, edges between communities are
    dropped first. Each entry :math:`e = (u, v)` of ``edge_index`` gets the
    communal weight :math:`w_e` of :func:`ced_edge_weight` (:math:`S_c`
    inside community :math:`c`, :math:`-(S_{c(u)} + S_{c(v)})` between
    communities, min-max normalised) and is kept independently with
    probability

    .. math::
        q_e = \min\Big(1, \max\big(1 - \text{thr},
        \frac{w_e}{\bar{w}} (1 - p)\big)\Big),

    as in the official code: every *directed* entry is drawn on its own, so
    views of an undirected graph are directed, and even :math:`p = 0` drops
    the entries whose weight is below the mean. Edge weights and attributes
    are subset with the same mask.

    The weights and keep probabilities are computed once by :meth:`fit` (or
    :meth:`from_data`) and cached; a call only draws :math:`|E|` Bernoulli
    variables. The augmentor must be called on the fitted graph (same
    ``edge_index`` entries in the same order). :meth:`drop_probabilities`
    gives the per-entry drop rates :math:`1 - q_e` (e.g. for the bounds of
    :class:`gcl.methods.POT`).

    Args:
        p (float): Drop rate :math:`p \in [0, 1]`.
        threshold (float, optional): ``ced_thr``; the keep probability is
            clipped to :math:`[1 - \text{thr}, 1]`. (default: :obj:`1.0`)

    Attributes:
        weight_ (torch.Tensor): Fitted communal edge weights :math:`w_e`,
            ``[E]`` (:obj:`None` before :meth:`fit`).
        keep_prob_ (torch.Tensor): Fitted keep probabilities :math:`q_e`,
            ``[E]``.

    Example:
        >>> ced = CommunalEdgeDrop.from_data(data, 0.3, seed=0)
        >>> view = ced(data)
    """

    def __init__(self, p: float, threshold: float = 1.0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"CED drop rate p must be in [0, 1], got {p}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"CED threshold must be in [0, 1], got {threshold}")
        self.p = float(p)
        self.threshold = float(threshold)
        #: Communal weight :math:`w_e` of every entry (after :meth:`fit`).
        self.weight_: Optional[Tensor] = None
        #: Keep probability :math:`q_e` of every entry (after :meth:`fit`).
        self.keep_prob_: Optional[Tensor] = None
        self._drop_prob: Optional[Tensor] = None

    def _fit(self, data: Data, community: Tensor, strength: Tensor) -> None:
        self.weight_ = ced_edge_weight(data.edge_index, community, strength)
        # float64, as the official code's (NumPy) weights: torch.bernoulli
        # draws differently for float32 and float64 probabilities, so this
        # keeps the official views for the same random numbers.
        self.keep_prob_ = ced_keep_prob(self.weight_, self.p, self.threshold)
        self._drop_prob = None

    def drop_probabilities(self) -> Tensor:
        r"""The cached per-entry drop probabilities :math:`1 - q_e`, ``[E]``,
        aligned with the fitted graph's ``edge_index`` (float32).

        Raises:
            RuntimeError: Before :meth:`fit`.
        """
        if self.keep_prob_ is None:
            raise RuntimeError(
                f"{type(self).__name__} has no community statistics yet: call "
                f".fit(data) or build it with {type(self).__name__}.from_data("
                f"data, ...) (CSGCL.prepare does this)")
        drop = getattr(self, "_drop_prob", None)
        if drop is None or drop.device != self.keep_prob_.device:
            drop = self._drop_prob = 1.0 - self.keep_prob_.float()
        return drop

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with communally dropped edges."""
        self._check_fitted(data)
        num_edges = data.edge_index.size(1)
        if num_edges != self.keep_prob_.numel():
            raise ValueError(
                f"CommunalEdgeDrop was fitted on {self.keep_prob_.numel()} "
                f"edge entries, got a graph with {num_edges}")
        if self.keep_prob_.device != data.edge_index.device:
            self.keep_prob_ = self.keep_prob_.to(data.edge_index.device)
        keep = torch.bernoulli(self.keep_prob_).to(torch.bool)
        return subset_edges(data, keep)

    def __repr__(self) -> str:
        extra = "" if self.threshold == 1.0 else f", threshold={self.threshold}"
        return f"{self.__class__.__name__}(p={self.p}{extra})"
