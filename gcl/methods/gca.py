"""GCA: Graph Contrastive Learning with Adaptive Augmentation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import (
    AdaptiveEdgeDrop,
    AdaptiveFeatureMask,
    Compose,
    EdgeDrop,
    FeatureMask,
    walk_augmentors,
)
from gcl.methods.grace import GRACE
from gcl.methods.two_view import _stages
from gcl.nn import GCNEncoder

__all__ = ["DROP_SCHEMES", "GCA", "ZERO_COLUMNS"]

#: GCA's ``--drop_scheme`` values: node centralities of the adaptive views,
#: or ``"uniform"`` (GRACE's views).
DROP_SCHEMES = ("degree", "pr", "evc", "uniform")

#: What a feature column with no weight (it occurs on no node of positive
#: centrality) does: ``"cap"`` drops that column with the capped probability,
#: ``"official"`` drops every column with it, as the released code's NaN.
ZERO_COLUMNS = ("cap", "official")


def _pair(value: Union[float, Sequence[float]], name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)):
        return float(value), float(value)
    value = tuple(float(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{name} must be one rate or two (one per view), "
                         f"got {value}")
    return value


def _views(scheme: str, edge_rates: Sequence[float],
           feature_rates: Sequence[Optional[float]], threshold: float,
           feature_weighting: str) -> list[Callable[[Data], Data]]:
    """GCA's view makers (gCooL's too), one per pair of rates: an edge drop,
    then a feature mask unless its rate is :obj:`None`; GRACE's uniform ones
    for ``scheme="uniform"``, else the adaptive ones on centrality ``scheme``
    with cap ``threshold``.
    """
    views = []
    for pe, pf in zip(edge_rates, feature_rates):
        if scheme == "uniform":
            edge = EdgeDrop(pe)
            feature = None if pf is None else FeatureMask(pf)
        else:
            edge = AdaptiveEdgeDrop(pe, scheme, threshold)
            feature = None if pf is None else AdaptiveFeatureMask(
                pf, scheme, threshold, feature_weighting)
        views.append(edge if feature is None else Compose([edge, feature]))
    return views


class GCA(GRACE):
    r"""GCA from `"Graph Contrastive Learning with Adaptive Augmentation"
    <https://arxiv.org/abs/2010.14945>`_ (Zhu et al., WWW 2021), following
    the official code ``CRIPAC-DIG/GCA`` (commit ``0f17497``).

    GCA is GRACE (:class:`~gcl.methods.GRACE`: same encoder, projection head
    and symmetric InfoNCE with inter- and intra-view negatives) with views
    that spare what is important. With a node centrality :math:`\varphi_c`
    (``drop_scheme``: degree, PageRank or eigenvector centrality), every
    directed edge :math:`(u, v)` gets :math:`s_{uv} = \log \varphi_c(v)`
    (the centrality of its target, the code's ``aggr='sink'``) and is removed
    with probability

    .. math::
        p^e_{uv} = \min\left(\frac{s_{\max} - s_{uv}}{s_{\max} - \mu_s}
        \, p_e,\; p_\tau\right)

    (:class:`~gcl.augment.AdaptiveEdgeDrop`); every feature column :math:`i`
    gets :math:`s_i = \log \sum_u b(x_{ui})\, \varphi_c(u)`, with
    :math:`b(x) = \mathbb{1}[x \neq 0]` for sparse bag-of-words features and
    :math:`b(x) = |x|` for dense ones (``feature_weighting``; the code uses
    ``|x|`` on WikiCS only), and is zeroed for all nodes with probability

    .. math::
        p^f_i = \min\left(\frac{s_{\max} - s_i}{s_{\max} - \mu_s}\, p_f,\;
        p_\tau\right)

    (:class:`~gcl.augment.AdaptiveFeatureMask`), with per-view rates
    :math:`p_{e,1}, p_{e,2}, p_{f,1}, p_{f,2}` and the cut-off
    :math:`p_\tau` (0.7 in the code). The code divides the scaled weights by
    their mean, which is 1 up to rounding, so paper and code agree. The
    centralities and weights are computed once, by :meth:`prepare`.

    **Random stream.** The official ``train.py`` draws both edge views, then
    two *uniform* feature masks that it overwrites (it calls
    ``drop_feature`` before ``drop_feature_weighted_2``), then both adaptive
    feature masks, then encodes. With ``official_rng=True`` (default) GCA
    draws in that order, discarded masks included, so from the same torch
    state and weights its views are the official ones (the official loop
    also draws from the same stream for its evaluation every 100 epochs and
    for its split before the model is built; :func:`gcl.fit` does not).
    ``False`` draws GRACE's way (view 1, then view 2; same distribution).

    **Columns without weight.** A column that occurs on no node of positive
    centrality (Cora has an all-zero column; eigenvector centrality is zero
    off the main component) has :math:`\log 0 = -\infty`, which turns every
    weight of the official code into NaN and so drops *every* column with
    probability :math:`p_\tau`. ``zero_columns="cap"`` (default) drops only
    those columns with :math:`p_\tau` and weights the others from the rest;
    ``"official"`` reproduces the code. On GCA's data sets (Amazon, Coauthor
    CS, WikiCS) no such column occurs and the two agree.

    Embeddings for evaluation are :math:`f(X, A)` on the clean graph.

    Args:
        encoder (torch.nn.Module): Encoder with an ``out_channels`` attribute
            (e.g. :class:`gcl.nn.GCNEncoder`).
        proj_channels (int): Hidden size of the projection head
            :math:`h \to p \to h`.
        augmentors (Sequence[Callable]): The two view makers, each usually
            ``Compose([edge drop, feature mask])``; adaptive ones are fitted
            by :meth:`prepare`.
        tau (float, optional): Temperature. (default: :obj:`0.4`)
        official_rng (bool, optional): Draw the views in the official order
            (stage by stage across the two views, with the discarded uniform
            masks). (default: :obj:`True`)
        zero_columns (str, optional): ``"cap"`` or ``"official"`` (see
            above). (default: :obj:`"cap"`)
        block_size (int, optional): Rows per InfoNCE block.
            (default: :obj:`None`, automatic)
        cache_mb (float, optional): Memory the loss may keep for its backward
            pass (see :class:`~gcl.methods.GRACE`). (default: :obj:`256`)
    """

    def __init__(self, encoder: torch.nn.Module, proj_channels: int,
                 augmentors: Sequence[Callable[[Data], Data]],
                 tau: float = 0.4, official_rng: bool = True,
                 zero_columns: str = "cap", block_size: Optional[int] = None,
                 cache_mb: float = 256.0):
        if zero_columns not in ZERO_COLUMNS:
            raise ValueError(f"zero_columns must be one of "
                             f"{', '.join(ZERO_COLUMNS)}, got {zero_columns!r}")
        super().__init__(encoder, proj_channels, augmentors, tau, block_size,
                         cache_mb)
        self.official_rng = bool(official_rng)
        self.zero_columns = zero_columns

    @classmethod
    def from_config(cls, in_channels: int, hidden_channels: int = 256,
                    proj_channels: int = 32, num_layers: int = 2,
                    activation: str = "prelu", degree: str = "in",
                    drop_edge: Union[float, Sequence[float]] = (0.3, 0.4),
                    drop_feature: Union[float, Sequence[float], None] = (0.1, 0.0),
                    drop_scheme: str = "degree",
                    feature_weighting: str = "binary", threshold: float = 0.7,
                    tau: float = 0.4, official_rng: bool = True,
                    zero_columns: str = "cap",
                    block_size: Optional[int] = None,
                    cache_mb: float = 256.0) -> GCA:
        r"""Builds GCA from the hyper-parameters of its config files.

        The defaults are the official ``train.py``'s ``default_param``.
        Names map to the official ``param/*.json`` as: ``hidden_channels`` =
        ``num_hidden`` (the first layer has twice as many), ``proj_channels``
        = ``num_proj_hidden``, ``drop_edge`` / ``drop_feature`` =
        ``drop_{edge,feature}_rate_{1,2}`` (one rate or one per view),
        ``drop_scheme`` as ``--drop_scheme``: ``"degree"`` (GCA-DE),
        ``"pr"`` (GCA-PR), ``"evc"`` (GCA-EV) or ``"uniform"`` (GRACE's
        views, :class:`~gcl.augment.EdgeDrop` and
        :class:`~gcl.augment.FeatureMask`). ``threshold`` is :math:`p_\tau`
        of edges and features; ``feature_weighting`` ``"binary"`` or
        ``"abs"`` (the code's ``feature_drop_weights_dense``, WikiCS).
        ``drop_feature=None`` leaves the features alone and draws nothing
        for them (POT's GCA code). ``degree`` is the GCN normalisation of
        directed views (:class:`gcl.nn.GCNEncoder`); the code's ``"rrelu"``
        is the function ``F.rrelu``, i.e. ``activation="rrelu_fixed"``.
        """
        scheme = str(drop_scheme).lower()
        if scheme not in DROP_SCHEMES:
            raise ValueError(f"drop_scheme must be one of "
                             f"{', '.join(DROP_SCHEMES)}, got {drop_scheme!r}")
        encoder = GCNEncoder(in_channels, hidden_channels, num_layers,
                             activation=activation, degree=degree)
        edge_rates = _pair(drop_edge, "drop_edge")
        feature_rates = (None, None) if drop_feature is None else \
            _pair(drop_feature, "drop_feature")
        views = _views(scheme, edge_rates, feature_rates, threshold,
                       feature_weighting)
        return cls(encoder, proj_channels, views, tau, official_rng,
                   zero_columns, block_size, cache_mb)

    def prepare(self, data: Data) -> None:
        r"""Fits the adaptive augmentors on ``data`` (centralities and weights,
        once); with ``zero_columns="official"``, a feature mask with a
        weightless column then drops every column with :math:`p_\tau`.
        """
        super().prepare(data)
        if self.zero_columns != "official":
            return
        for aug in walk_augmentors(self.augmentors):
            if isinstance(aug, AdaptiveFeatureMask) and \
                    not bool(torch.isfinite(aug.weights_).all()):
                aug.fit(data, weights=torch.full_like(aug.weights_, float("inf")))

    def encode_views(self, data: Data
                     ) -> tuple[tuple[Data, Data], tuple[Tensor, Tensor]]:
        """Draws the two views, in the official order when ``official_rng``
        (stage by stage: both edge views, the two discarded uniform masks,
        both feature views), and encodes them.
        """
        if not self.official_rng:
            return super().encode_views(data)
        s1, s2 = (_stages(t) for t in self.augmentors)
        if len(s1) != len(s2):  # no common stages: both views, then encode
            v1, v2 = self.augmentors[0](data), self.augmentors[1](data)
            return (v1, v2), (self.encode(v1), self.encode(v2))
        v1 = v2 = data
        for a1, a2 in zip(s1, s2):
            if isinstance(a1, AdaptiveFeatureMask) and \
                    isinstance(a2, AdaptiveFeatureMask):
                # train.py's drop_feature(x, p) for both views, overwritten
                for _ in range(2):
                    torch.empty(v1.x.size(1), dtype=torch.float32,
                                device=v1.x.device).uniform_(0, 1)
            v1, v2 = a1(v1), a2(v2)
        return (v1, v2), (self.encode(v1), self.encode(v2))

    def _repr_args(self) -> str:
        return (f", loss={self.loss}, official_rng={self.official_rng}, "
                f"zero_columns={self.zero_columns!r}")
