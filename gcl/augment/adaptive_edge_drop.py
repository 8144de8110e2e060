"""GCA's centrality-weighted edge dropping."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.adaptive_augmentor import AdaptiveAugmentor
from gcl.augment.centrality import edge_drop_weights
from gcl.augment.edge_drop import subset_edges

__all__ = ["AdaptiveEdgeDrop"]


class AdaptiveEdgeDrop(AdaptiveAugmentor):
    r"""Drops each edge with a probability that grows as its target node's
    centrality falls.

    From `"Graph Contrastive Learning with Adaptive Augmentation"
    <https://arxiv.org/abs/2010.14945>`_ (GCA, Zhu et al., WWW 2021), as
    used by :class:`~gcl.methods.GCA`, gCooL and POT-GCA. With the weights
    :math:`w_e` of :func:`~gcl.augment.edge_drop_weights` (log-centrality of
    the edge's target, rescaled), every *directed* entry :math:`e` of
    ``edge_index`` is dropped independently with probability

    .. math::
        p_e = \min\left(\frac{w_e}{\bar{w}}\, p,\; \text{threshold}\right),

    exactly as the official ``drop_edge_weighted``; the average rate is about
    :math:`p` when few edges hit the cap.

    **The weights are computed once and cached**: call :meth:`fit` on the
    training graph before the first view (a method's ``prepare`` hook does
    this, e.g. :class:`~gcl.methods.GCOOL`); the augmentor then applies to
    that graph only and refuses a graph with a different number of edges
    (see :class:`~gcl.augment.AdaptiveAugmentor`; :meth:`fit` takes or
    computes weights ``[E]``, :meth:`drop_probabilities` returns the
    per-edge :math:`p_e`, ``[E]``).
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

    _size_symbol = "E"

    def __init__(self, p: float, centrality: str = "degree",
                 threshold: float = 0.7, pagerank_iterations: int = 200):
        super().__init__(p, centrality, threshold, pagerank_iterations)

    @property
    def weight_key(self) -> tuple:
        """Settings that determine the fitted ``weights_`` (augmentors with equal keys
        can share them, see :func:`~gcl.augment.fit_augmentors`).
        """
        return ("edge", self.centrality, self.pagerank_iterations)

    def _fit_size(self, data: Data) -> int:
        if data.edge_index is None:
            raise ValueError("AdaptiveEdgeDrop needs data.edge_index")
        return data.edge_index.size(1)

    def _compute_weights(self, data: Data) -> Tensor:
        return edge_drop_weights(data.edge_index, data.num_nodes,
                                 self.centrality, self.pagerank_iterations)

    def _check_weights(self, weights: Tensor) -> None:
        if bool((weights < 0).any()) or not bool(torch.isfinite(weights).all()):
            raise ValueError("edge weights must be finite and non-negative")

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
