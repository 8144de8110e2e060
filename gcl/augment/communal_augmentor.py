"""Base class of augmentors driven by community strength (CSGCL)."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment.base import Augmentor
from gcl.community import community_strength, detect

__all__ = ["CommunalAugmentor"]


class CommunalAugmentor(Augmentor):
    r"""An augmentor whose probabilities come from the graph's communities.

    The statistics are computed **once**, by :meth:`fit`, and cached on the
    augmentor; every call then only draws random numbers. :meth:`fit` takes
    a precomputed partition and community strength (as
    :class:`gcl.methods.CSGCL` does in its ``prepare`` step, so detection
    runs once for all its augmentors) or runs
    :func:`gcl.community.detect` and :func:`gcl.community.community_strength`
    itself. :meth:`from_data` builds and fits in one go.

    Calling an augmentor before :meth:`fit` raises a :class:`RuntimeError`;
    calling it on a graph whose size differs from the fitted one raises a
    :class:`ValueError`.
    """

    #: Number of nodes of the fitted graph (:obj:`None` before :meth:`fit`;
    #: fitted state ends in ``_``, as in scikit-learn).
    num_nodes_: Optional[int] = None

    def fit(self, data: Data, community: Optional[Tensor] = None,
            strength: Optional[Tensor] = None,
            **detect_kwargs: Any) -> CommunalAugmentor:
        r"""Computes and caches the augmentor's statistics on ``data``.

        Args:
            data (torch_geometric.data.Data): The graph the views will be
                drawn from.
            community (torch.Tensor, optional): Community of every node,
                ``[N]``. (default: :obj:`None`, detected with
                :func:`gcl.community.detect` and ``detect_kwargs``)
            strength (torch.Tensor, optional): Community strength
                :math:`S_c`, ``[K]``, of ``community``. (default:
                :obj:`None`, :func:`gcl.community.community_strength`)
            **detect_kwargs: Options of :func:`gcl.community.detect`
                (``method``, ``seed``, ``resolution``, ``n_iterations``),
                only when ``community`` is not given.

        Returns:
            The augmentor itself.
        """
        self._check(data)
        n = data.num_nodes
        if data.edge_index is None:
            raise ValueError(f"{type(self).__name__} needs data.edge_index")
        if community is None:
            if strength is not None:
                raise ValueError("strength was given without its community")
            community = detect(data, **detect_kwargs)
        elif detect_kwargs:
            raise ValueError(
                f"detection options {sorted(detect_kwargs)} were given with a "
                f"precomputed community")
        if community.shape != (n,):
            raise ValueError(f"community must have shape [N] = [{n}], got "
                             f"{tuple(community.shape)}")
        dev = data.edge_index.device
        community = community.to(device=dev, dtype=torch.long)
        if strength is None:
            strength, _ = community_strength(data.edge_index, community, n)
        k = int(community.max()) + 1
        if strength.dim() != 1 or strength.numel() < k:
            raise ValueError(
                f"strength must hold one value per community, [K] with K >= "
                f"{k}, got shape {tuple(strength.shape)}")
        self._fit(data, community, strength.to(dev))
        self.num_nodes_ = n
        return self

    @classmethod
    def from_data(cls, data: Data, *args: Any,
                  community: Optional[Tensor] = None,
                  strength: Optional[Tensor] = None, method: str = "leiden",
                  seed: int = 0, **kwargs: Any) -> CommunalAugmentor:
        """Builds the augmentor from ``*args, **kwargs`` and fits it on
        ``data``, detecting communities with ``method`` and ``seed`` unless
        ``community`` is given.
        """
        aug = cls(*args, **kwargs)
        if community is None:
            return aug.fit(data, method=method, seed=seed)
        return aug.fit(data, community, strength)

    def _fit(self, data: Data, community: Tensor,
             strength: Tensor) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_fitted(self, data: Data) -> None:
        self._check(data)
        if self.num_nodes_ is None:
            raise RuntimeError(
                f"{type(self).__name__} has no community statistics yet: call "
                f".fit(data) or build it with {type(self).__name__}.from_data("
                f"data, ...) (CSGCL.prepare does this)")
        if data.num_nodes != self.num_nodes_:
            raise ValueError(
                f"{type(self).__name__} was fitted on a graph of "
                f"{self.num_nodes_} nodes, got {data.num_nodes}")
