"""GCA's centrality-weighted edge dropping."""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.base import Augmentor
from gcl.augment.centrality import _resolve, drop_probabilities, edge_drop_weights
from gcl.augment.edge_drop import subset_edges

__all__ = ["AdaptiveEdgeDrop"]


class AdaptiveEdgeDrop(Augmentor):
    r"""Drops each edge with a probability that grows as its target node's
    centrality falls.

    From `"Graph Contrastive Learning with Adaptive Augmentation"
    <https://arxiv.org/abs/2010.14945>`_ (GCA, Zhu et al., WWW 2021), as
    used by gCooL and POT-GCA. With the weights :math:`w_e` of
    :func:`~gcl.augment.edge_drop_weights` (log-centrality of the edge's
    target, rescaled), every *directed* entry :math:`e` of ``edge_index`` is
    dropped independently with probability

    .. math::
        p_e = \min\left(\frac{w_e}{\bar{w}}\, p,\; \text{threshold}\right),

    exactly as the official ``drop_edge_weighted``; the average rate is about
    :math:`p` when few edges hit the cap.

    **The weights are computed once and cached**: call :meth:`fit` on the
    training graph before the first view (a method's ``prepare`` hook does
    this, e.g. :class:`~gcl.methods.GCOOL`); the augmentor then applies to
    that graph only and refuses a graph with a different number of edges.
    Edge weights and attributes are subset with the same mask.

    Args:
        p (float): Base drop rate :math:`p \in [0, 1]`.
        centrality (str, optional): ``"degree"``, ``"pr"`` (PageRank) or
            ``"evc"`` (eigenvector), GCA's ``drop_scheme``.
            (default: :obj:`"degree"`)
        threshold (float, optional): Cap on each probability.
            (default: :obj:`0.7`)
        pagerank_iterations (int, optional): PageRank iterations for ``"pr"``
            (the official edge weights use 200). (default: :obj:`200`)
    """

    def __init__(self, p: float, centrality: str = "degree",
                 threshold: float = 0.7, pagerank_iterations: int = 200):
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"AdaptiveEdgeDrop probability must be in [0, 1], got {p}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.p = float(p)
        self.centrality = _resolve(centrality)
        self.threshold = float(threshold)
        self.pagerank_iterations = int(pagerank_iterations)
        self.weights: Optional[Tensor] = None
        self._prob: Optional[Tensor] = None

    @property
    def weight_key(self) -> tuple:
        """Settings that determine :attr:`weights` (augmentors with equal keys
        can share them, see :func:`~gcl.augment.fit_augmentors`).
        """
        return ("edge", self.centrality, self.pagerank_iterations)

    def fit(self, data: Data, weights: Optional[Tensor] = None) -> AdaptiveEdgeDrop:
        """Computes and caches the edge weights of ``data`` (or takes the
        given ``weights``, ``[E]``, e.g. those of another view's augmentor).

        Returns:
            AdaptiveEdgeDrop: ``self``.
        """
        self._check(data)
        if data.edge_index is None:
            raise ValueError("AdaptiveEdgeDrop needs data.edge_index")
        num_edges = data.edge_index.size(1)
        if weights is None:
            weights = edge_drop_weights(data.edge_index, data.num_nodes,
                                        self.centrality, self.pagerank_iterations)
        elif weights.shape != (num_edges,):
            raise ValueError(f"weights must have shape [E] = [{num_edges}], got "
                             f"{tuple(weights.shape)}")
        elif bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
            raise ValueError("edge weights must be finite and non-negative")
        self.weights = weights
        self._prob = None
        return self

    def drop_probabilities(self) -> Tensor:
        r"""The cached per-edge drop probabilities :math:`p_e`, ``[E]``."""
        if self.weights is None:
            raise RuntimeError(
                "AdaptiveEdgeDrop has no weights yet: call .fit(data) on the "
                "training graph first (a method's prepare() does this)")
        if self._prob is None:
            self._prob = drop_probabilities(self.weights, self.p, self.threshold)
        return self._prob

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with edges dropped."""
        self._check(data)
        prob = self.drop_probabilities()
        edge_index = data.edge_index
        if edge_index is None or edge_index.size(1) != prob.numel():
            got = None if edge_index is None else edge_index.size(1)
            raise ValueError(
                f"AdaptiveEdgeDrop was fitted on a graph with {prob.numel()} "
                f"edges but got {got}: call .fit(data) on this graph")
        if prob.device != edge_index.device:
            self._prob = prob = prob.to(edge_index.device)
        keep = torch.bernoulli(1.0 - prob).to(torch.bool)
        return subset_edges(data, keep)

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(p={self.p}, "
                f"centrality={self.centrality!r}, threshold={self.threshold})")
