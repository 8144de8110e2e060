"""Base class of GCA's centrality-weighted augmentors."""

from __future__ import annotations

from typing import Optional

from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.base import Augmentor
from gcl.augment.centrality import _resolve, drop_probabilities

__all__ = ["AdaptiveAugmentor"]


class AdaptiveAugmentor(Augmentor):
    r"""An augmentor whose drop probabilities come from GCA's centrality
    weights, one per edge or per feature column.

    The weights :math:`w` are computed **once**, by :meth:`fit` on the
    training graph (a method's ``prepare`` hook does this, through
    :func:`~gcl.augment.fit_augmentors`), or taken from another augmentor
    with the same ``weight_key``; the probabilities
    :math:`\min(w / \bar{w} \cdot p, \text{threshold})`
    (:func:`~gcl.augment.drop_probabilities`) are cached on first use, and
    every call then only draws random numbers.

    Calling an augmentor before :meth:`fit` raises a :class:`RuntimeError`;
    calling it on a graph whose number of edges or feature columns differs
    from the fitted one raises a :class:`ValueError`.

    Args:
        p (float): Base drop rate :math:`p \in [0, 1]`.
        centrality (str): ``"degree"``, ``"pr"`` (PageRank) or ``"evc"``
            (eigenvector).
        threshold (float): Cap on each probability, in :math:`[0, 1]`.
        pagerank_iterations (int): PageRank iterations for ``"pr"``.

    Attributes:
        weights_ (torch.Tensor): The fitted weights :math:`w`, ``[E]`` or
            ``[F]`` (:obj:`None` before :meth:`fit`).
    """

    #: Symbol of the number of weights in messages (``"E"``, ``"F"``).
    _size_symbol = "?"

    def __init__(self, p: float, centrality: str, threshold: float,
                 pagerank_iterations: int):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__} probability must be in "
                             f"[0, 1], got {p}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be in [0, 1], got {threshold}")
        self.p = float(p)
        self.centrality = _resolve(centrality)
        self.threshold = float(threshold)
        self.pagerank_iterations = int(pagerank_iterations)
        self.weights_: Optional[Tensor] = None
        self._prob: Optional[Tensor] = None

    def fit(self, data: Data,
            weights: Optional[Tensor] = None) -> AdaptiveAugmentor:
        """Computes and caches the weights of ``data`` (or takes the given
        ``weights``, e.g. those of another view's augmentor).

        Returns:
            The augmentor itself.
        """
        self._check(data)
        size = self._fit_size(data)
        if weights is None:
            weights = self._compute_weights(data)
        elif weights.shape != (size,):
            raise ValueError(f"weights must have shape [{self._size_symbol}] = "
                             f"[{size}], got {tuple(weights.shape)}")
        else:
            self._check_weights(weights)
        self.weights_ = weights
        self._prob = None
        return self

    def drop_probabilities(self) -> Tensor:
        r"""The cached drop probabilities, one per weight (``[E]`` or
        ``[F]``).
        """
        if self.weights_ is None:
            raise RuntimeError(
                f"{type(self).__name__} has no weights yet: call .fit(data) on "
                f"the training graph first (a method's prepare() does this)")
        if self._prob is None:
            self._prob = drop_probabilities(self.weights_, self.p, self.threshold)
        return self._prob

    def _fit_size(self, data: Data) -> int:  # pragma: no cover - abstract
        """Checks that ``data`` can be fitted and returns the number of
        weights it needs.
        """
        raise NotImplementedError

    def _compute_weights(self, data: Data
                         ) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_weights(self, weights: Tensor
                       ) -> None:  # pragma: no cover - abstract
        """Checks the values of given weights of the right shape."""
        raise NotImplementedError
