r"""Communal Attribute Voting (CAV) of CSGCL."""

from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from gcl.augment.communal_augmentor import CommunalAugmentor
from gcl.augment.feature_mask import mask_columns

__all__ = ["CommunalAttributeVoting", "cav_drop_prob", "cav_votes"]

_VARIANTS = ("sparse", "dense")
# Entries per row block of the dense vote product (64 MiB in float64).
_VOTE_BLOCK = 1 << 23


def cav_votes(x: Tensor, node_strength: Tensor) -> Tensor:
    r"""CAV's attribute votes :math:`v = |X|^\top S`, one per column.

    Works on a dense ``x`` (in row blocks, so no float64 copy of a large
    :math:`X` is made) and on a sparse COO ``x`` (a scatter over the stored
    entries, :math:`O(\mathrm{nnz}(X))`). Computed in float64.

    Args:
        x (torch.Tensor): Node features, ``[N, F]``, dense or sparse COO.
        node_strength (torch.Tensor): Node strength :math:`S_i`, ``[N]``.

    Returns:
        torch.Tensor: :math:`v_f = \sum_i |x_{if}| S_i`, ``[F]``.
    """
    if x.dim() != 2 or node_strength.shape != (x.size(0),):
        raise ValueError(
            f"CAV needs x of shape [N, F] and a node strength of shape [N]; "
            f"got {tuple(x.shape)} and {tuple(node_strength.shape)}")
    s = node_strength.to(device=x.device, dtype=torch.float64)
    if x.is_sparse:
        x = x.coalesce()
        row, col = x.indices()
        vals = x.values().abs().to(torch.float64) * s[row]
        return scatter(vals, col, 0, dim_size=x.size(1), reduce="sum")
    # Row blocks of _VOTE_BLOCK entries: no float64 copy of a large X.
    rows = max(1, _VOTE_BLOCK // max(1, x.size(1)))
    votes = torch.zeros(x.size(1), dtype=torch.float64, device=x.device)
    for start in range(0, x.size(0), rows):
        block = x[start:start + rows].abs().to(torch.float64)
        votes += block.t() @ s[start:start + rows]
    return votes


def cav_drop_prob(x: Tensor, node_strength: Tensor, p: float,
                  threshold: float = 1.0, variant: str = "sparse") -> Tensor:
    r"""CAV's drop probability of every feature column.

    With votes :math:`v = |X|^\top S` (:func:`cav_votes`):

    1. ``variant="sparse"`` (official ``cav``; bag-of-words features):
       columns with :math:`v_f = 0` get :math:`v_f = \max v`, so they are
       never dropped. ``variant="dense"`` (official ``cav_dense``; WikiCS)
       skips this step.
    2. :math:`l_f = \log v_f` and
       :math:`s_f = (\max l - l_f) / (\max l - \min l) \in [0, 1]`
       (min-max, where GCA uses the mean).
    3. :math:`p_f = \min(\text{thr}, \, s_f / \bar{s} \cdot p)`.

    **Non-positive votes.** :math:`v_f < 0` happens when the nodes holding
    attribute :math:`f` sit in communities of negative strength, and
    :math:`v_f = 0` in the dense variant when no node of non-zero strength
    holds it. The official code then takes the log of a non-positive number;
    the NaN (or :math:`-\infty`) spreads through max/min and every column
    ends up dropped with probability ``thr``. Here such votes are raised to
    the smallest positive vote (they are dropped like the weakest voted
    column) and a warning is issued. If no vote is positive, or all are
    equal, every column gets :math:`p_f = p` (uniform masking).

    Args:
        x (torch.Tensor): Node features, ``[N, F]``, dense or sparse COO.
        node_strength (torch.Tensor): Node strength :math:`S_i`, ``[N]``.
        p (float): Mean drop rate :math:`p \in [0, 1]`.
        threshold (float, optional): ``cav_thr``, the largest drop
            probability. (default: :obj:`1.0`)
        variant (str, optional): ``"sparse"`` or ``"dense"``, the official
            function to reproduce (not the storage layout of ``x``: both
            variants accept dense and sparse ``x``). (default:
            :obj:`"sparse"`)

    Returns:
        torch.Tensor: :math:`p \in [0, \text{thr}]^F` (float64).
    """
    if variant not in _VARIANTS:
        raise ValueError(f"CAV variant must be 'sparse' or 'dense', got "
                         f"{variant!r}")
    v = cav_votes(x, node_strength)
    if v.numel() == 0:
        return v
    if variant == "sparse":  # "for redundant attributes of Cora"
        v = torch.where(v == 0, v.max(), v)
    bad = v <= 0
    num_bad = int(bad.sum())
    if num_bad:
        positive = v[~bad]
        warnings.warn(
            f"CommunalAttributeVoting: {num_bad} of {v.numel()} feature "
            f"columns have non-positive votes |X|^T S (their nodes lie in "
            f"communities of negative or zero strength); the official code "
            f"would take the log of them and drop every column. They are "
            f"raised to the smallest positive vote.", stacklevel=3)
        if positive.numel() == 0:
            return torch.full_like(v, min(float(p), float(threshold)))
        v = torch.where(bad, positive.min(), v)
    lv = v.log()
    span = lv.max() - lv.min()
    if not span > 0:
        return torch.full_like(v, min(float(p), float(threshold)))
    s = (lv.max() - lv) / span
    return (s / s.mean() * p).clamp(min=0.0, max=threshold)


class CommunalAttributeVoting(CommunalAugmentor):
    r"""Communal Attribute Voting (CAV) from `"CSGCL: Community-Strength-
    Enhanced Graph Contrastive Learning" <https://arxiv.org/abs/2305.04658>`_
    (Chen et al., IJCAI 2023).

    Nodes vote for their attributes with their community strength,
    :math:`v = |X|^\top S`; attributes with few votes from strong
    communities are masked first. Column :math:`f` has drop probability
    :math:`p_f` from :func:`cav_drop_prob` (log, min-max normalisation,
    rescaled to mean :math:`p`, clipped at ``thr``) and, as in GRACE's
    feature masking, one mask :math:`m_f \sim \text{Bernoulli}(1 - p_f)` is
    drawn per view and zeroes column :math:`f` for every node. A sparse COO
    ``x`` stays sparse.

    The drop probabilities are computed once by :meth:`fit` (or
    :meth:`from_data`) from the fitted graph's features and cached; a call
    only draws :math:`F` Bernoulli variables. Non-positive votes, which make
    the official code drop every column, are handled as described in
    :func:`cav_drop_prob` (with a warning at fit time).

    Args:
        p (float): Mean drop rate :math:`p \in [0, 1]`.
        threshold (float, optional): ``cav_thr``, the largest drop
            probability. (default: :obj:`1.0`)
        variant (str, optional): ``"sparse"`` (official ``cav``, used on
            Computers, Photo and CS: never drops columns with zero votes) or
            ``"dense"`` (official ``cav_dense``, used on WikiCS). Both accept
            dense and sparse COO features. (default: :obj:`"sparse"`)

    Attributes:
        drop_prob_ (torch.Tensor): Fitted drop probability of every feature
            column, ``[F]`` (:obj:`None` before :meth:`fit`).

    Example:
        >>> cav = CommunalAttributeVoting.from_data(data, 0.1, seed=0)
        >>> view = cav(data)
    """

    def __init__(self, p: float, threshold: float = 1.0,
                 variant: str = "sparse"):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"CAV drop rate p must be in [0, 1], got {p}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"CAV threshold must be in [0, 1], got {threshold}")
        if variant not in _VARIANTS:
            raise ValueError(f"CAV variant must be 'sparse' or 'dense', got "
                             f"{variant!r}")
        self.p = float(p)
        self.threshold = float(threshold)
        self.variant = variant
        #: Drop probability :math:`p_f` of every column (after :meth:`fit`).
        self.drop_prob_: Optional[Tensor] = None

    def _fit(self, data: Data, community: Tensor, strength: Tensor) -> None:
        if data.x is None:
            raise ValueError("CommunalAttributeVoting needs node features "
                             "data.x")
        node_strength = strength[community]
        # float32, as the official code's (float32 features and strengths):
        # torch.bernoulli's draws depend on the probabilities' dtype.
        self.drop_prob_ = cav_drop_prob(data.x, node_strength, self.p,
                                       self.threshold, self.variant).float()

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with communally masked columns."""
        self._check_fitted(data)
        x = data.x
        if x is None or x.dim() != 2 or x.size(1) != self.drop_prob_.numel():
            got = None if x is None else tuple(x.shape)
            raise ValueError(
                f"CommunalAttributeVoting was fitted on {self.drop_prob_.numel()}"
                f" feature columns, got data.x of shape {got}")
        if self.drop_prob_.device != x.device:
            self.drop_prob_ = self.drop_prob_.to(x.device)
        drop = torch.bernoulli(self.drop_prob_).to(torch.bool)
        data.x = mask_columns(x, drop)
        return data

    def __repr__(self) -> str:
        extra = "" if self.threshold == 1.0 else f", threshold={self.threshold}"
        return (f"{self.__class__.__name__}(p={self.p}, "
                f"variant={self.variant!r}{extra})")
