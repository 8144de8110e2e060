"""GCA's centrality-weighted feature-column masking."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.adaptive_augmentor import AdaptiveAugmentor
from gcl.augment.centrality import feature_drop_weights, node_centrality
from gcl.augment.feature_mask import mask_columns

__all__ = ["AdaptiveFeatureMask"]


class AdaptiveFeatureMask(AdaptiveAugmentor):
    r"""Zeroes whole feature columns, each with a probability that grows as
    the column occurs on less central nodes.

    From `"Graph Contrastive Learning with Adaptive Augmentation"
    <https://arxiv.org/abs/2010.14945>`_ (GCA, Zhu et al., WWW 2021), in the
    column-wise form ``drop_feature_weighted_2`` that gCooL uses: with the
    weights :math:`s_f` of :func:`~gcl.augment.feature_drop_weights`, one
    mask is drawn per view, column :math:`f` being zeroed for *all* nodes
    with probability

    .. math::
        p_f = \min\left(\frac{s_f}{\bar{s}}\, p,\; \text{threshold}\right).

    No rescaling. A sparse COO ``x`` stays sparse.

    The node centralities are those of the edge weights, computed on the
    graph's ``edge_index`` (degree in the undirected graph, PageRank with the
    official default of 10 iterations, or eigenvector centrality). Binary
    weighting (:math:`\mathbb{1}[x \neq 0]`) is the official choice for
    bag-of-words features, ``"abs"`` (:math:`|x|`) the official choice for
    WikiCS.

    **The weights are computed once and cached**: call :meth:`fit` on the
    training graph first (a method's ``prepare`` hook does this); the
    augmentor then refuses features with a different number of columns
    (see :class:`~gcl.augment.AdaptiveAugmentor`; :meth:`fit` takes or
    computes weights ``[F]``, :meth:`drop_probabilities` returns the
    per-column :math:`p_f`, ``[F]``).

    Args:
        p (float): Base masking rate :math:`p \in [0, 1]`.
        centrality (str, optional): ``"degree"``, ``"pr"`` or ``"evc"``.
            (default: :obj:`"degree"`)
        threshold (float, optional): Cap on each probability.
            (default: :obj:`0.7`)
        weighting (str, optional): ``"binary"`` or ``"abs"``.
            (default: :obj:`"binary"`)
        pagerank_iterations (int, optional): PageRank iterations for ``"pr"``
            (the official feature weights use the default 10).
            (default: :obj:`10`)
    """

    _size_symbol = "F"

    def __init__(self, p: float, centrality: str = "degree",
                 threshold: float = 0.7, weighting: str = "binary",
                 pagerank_iterations: int = 10):
        super().__init__(p, centrality, threshold, pagerank_iterations)
        if weighting not in ("binary", "abs"):
            raise ValueError(
                f"weighting must be 'binary' or 'abs', got {weighting!r}")
        self.weighting = weighting

    @property
    def weight_key(self) -> tuple:
        """Settings that determine the fitted ``weights_`` (augmentors with equal keys
        can share them, see :func:`~gcl.augment.fit_augmentors`).
        """
        return ("feature", self.centrality, self.weighting,
                self.pagerank_iterations)

    def _fit_size(self, data: Data) -> int:
        if data.x is None or data.x.dim() != 2:
            raise ValueError("AdaptiveFeatureMask needs node features data.x [N, F]")
        return data.x.size(1)

    def _compute_weights(self, data: Data) -> Tensor:
        if data.edge_index is None:
            raise ValueError("AdaptiveFeatureMask needs data.edge_index")
        phi = node_centrality(data.edge_index, data.num_nodes,
                              self.centrality, self.pagerank_iterations)
        return feature_drop_weights(data.x, phi.to(data.x.device),
                                    self.weighting)

    def _check_weights(self, weights: Tensor) -> None:
        if bool((weights < 0).any()) or bool(torch.isnan(weights).any()):
            raise ValueError("feature weights must be non-negative, not NaN")

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with masked feature columns."""
        self._check(data)
        prob = self.drop_probabilities()
        x = data.x
        if x is None or x.dim() != 2 or x.size(1) != prob.numel():
            got = None if x is None else tuple(x.shape)
            raise ValueError(
                f"AdaptiveFeatureMask was fitted on {prob.numel()} feature "
                f"columns but got x of shape {got}: call .fit(data) on this graph")
        if prob.device != x.device:
            self._prob = prob = prob.to(x.device)
        drop = torch.bernoulli(prob).to(torch.bool)
        data.x = mask_columns(x, drop)
        return data

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(p={self.p}, "
                f"centrality={self.centrality!r}, threshold={self.threshold}, "
                f"weighting={self.weighting!r})")
