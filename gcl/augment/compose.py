"""Combinators: Compose, RandomChoice and Identity."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch_geometric.data import Data

from gcl.augment.base import Augmentor

__all__ = ["Compose", "Identity", "RandomChoice", "fit_augmentors",
           "walk_augmentors"]


class Identity(Augmentor):
    """Returns a copy of the input unchanged (a view that is the graph)."""

    def forward(self, data: Data) -> Data:
        """Returns ``data`` (already a shallow copy)."""
        self._check(data)
        return data


class Compose(Augmentor):
    """Applies augmentors in order: ``Compose([a, b])(d) == b(a(d))``.

    Args:
        augmentors (Sequence[Callable]): Augmentors ``Data -> Data``.
    """

    def __init__(self, augmentors: Sequence[Callable[[Data], Data]]):
        self.augmentors = list(augmentors)

    def forward(self, data: Data) -> Data:
        """Applies every augmentor in turn."""
        self._check(data)
        for aug in self.augmentors:
            data = aug(data)
        return data

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self.augmentors)
        return f"{self.__class__.__name__}([{inner}])"


class RandomChoice(Augmentor):
    """Applies ``num_choices`` augmentors drawn at random, in random order.

    On each call a random permutation of the list is drawn from torch's RNG
    and its first ``num_choices`` augmentors are applied in that order (the
    semantics of PyGCL's ``RandomChoice``, as used by GraphCL).

    Args:
        augmentors (Sequence[Callable]): Candidate augmentors.
        num_choices (int, optional): How many to apply. (default: :obj:`1`)
    """

    def __init__(self, augmentors: Sequence[Callable[[Data], Data]],
                 num_choices: int = 1):
        self.augmentors = list(augmentors)
        if not 1 <= num_choices <= len(self.augmentors):
            raise ValueError(
                f"num_choices must be in [1, {len(self.augmentors)}], got "
                f"{num_choices}")
        self.num_choices = num_choices

    def forward(self, data: Data) -> Data:
        """Applies a random subset of the augmentors."""
        self._check(data)
        for i in torch.randperm(len(self.augmentors))[: self.num_choices]:
            data = self.augmentors[int(i)](data)
        return data

    def __repr__(self) -> str:
        inner = ", ".join(repr(a) for a in self.augmentors)
        return (f"{self.__class__.__name__}([{inner}], "
                f"num_choices={self.num_choices})")


def walk_augmentors(augmentors: Iterable[Callable[[Data], Data]]
                    ) -> Iterator[Callable[[Data], Data]]:
    """Yields every augmentor in ``augmentors`` and, depth first, the ones
    nested inside combinators (anything with an ``augmentors`` list, such as
    :class:`Compose` and :class:`RandomChoice`).

    The one way the library looks inside view makers: a method's
    :meth:`~gcl.methods.TwoViewMethod.prepare` fits the augmentors it finds,
    :class:`~gcl.methods.POT` reads edge-drop rates and checks for feature
    masks, and :func:`~gcl.augment.edge_droppers` collects edge droppers.

    Example::

        >>> aug = Compose([EdgeDrop(0.2), RandomChoice([FeatureMask(0.1)])])
        >>> [type(a).__name__ for a in walk_augmentors([aug])]
        ['Compose', 'EdgeDrop', 'RandomChoice', 'FeatureMask']

    Args:
        augmentors (Iterable[Callable]): View makers, e.g. a method's
            ``augmentors`` list (wrap a single augmentor in a list).
    """
    for aug in augmentors:
        yield aug
        inner = getattr(aug, "augmentors", None)
        if isinstance(inner, (list, tuple)):
            yield from walk_augmentors(inner)


def fit_augmentors(augmentors: Iterable[Callable[[Data], Data]],
                   data: Data) -> None:
    """Fits every augmentor that caches graph statistics, once.

    Walks ``augmentors`` (descending into :class:`Compose` and
    :class:`RandomChoice`) and calls ``fit(data)`` on every augmentor that has
    a ``fit`` method and a ``weight_key`` (e.g.
    :class:`~gcl.augment.AdaptiveEdgeDrop`,
    :class:`~gcl.augment.AdaptiveFeatureMask`). Augmentors with equal
    ``weight_key`` share one computation: the two views of GCA or gCooL get
    the same centrality weights, computed once, as in the official code.

    Args:
        augmentors (Iterable[Callable]): View makers, e.g. a method's
            ``augmentors`` list.
        data (Data): The training graph (the clean one, not a view).
    """
    cache: dict = {}
    for aug in walk_augmentors(augmentors):
        key = getattr(aug, "weight_key", None)
        if key is None or not callable(getattr(aug, "fit", None)):
            continue
        if key in cache:
            aug.fit(data, weights=cache[key])
        else:
            aug.fit(data)
            cache[key] = aug.weights_
