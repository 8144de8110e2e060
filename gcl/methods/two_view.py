r"""The base of two-view contrastive methods and its step record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import fit_augmentors
from gcl.methods.base import Method

__all__ = ["TwoViewMethod", "TwoViewStep"]

Augmentor = Callable[[Data], Data]


@dataclass(frozen=True)
class TwoViewStep:
    r"""What one training step of a :class:`TwoViewMethod` (or a
    :class:`~gcl.methods.HeteroTwoViewMethod`) produced.

    Attributes:
        loss (torch.Tensor): The scalar objective of the step.
        views (tuple[Data, Data]): The two augmented graphs
            :math:`\tilde{G}_1, \tilde{G}_2` (a heterogeneous method's views
            are two encoders of one graph: the ``HeteroData`` twice).
        zs (tuple[torch.Tensor, torch.Tensor]): Their encoder outputs
            :math:`z^{(1)}, z^{(2)}` on all nodes, ``[N, h]`` each, before
            any projection head (HeCo: :math:`z^{mp}, z^{sc}`; MEOW:
            :math:`z^c, z^f`).
        terms (dict[str, torch.Tensor]): Named parts of the loss, for methods
            whose objective has several (gCooL: ``node``, ``deca``,
            ``resc``); empty otherwise.
    """

    loss: Tensor
    views: tuple[Data, Data]
    zs: tuple[Tensor, Tensor]
    terms: dict[str, Tensor] = field(default_factory=dict)


class TwoViewMethod(Method):
    r"""Base class of methods that contrast two augmented views of a graph.

    It owns the encoder :math:`f`, the projection head :math:`g` and the two
    view makers :math:`t_1, t_2`, and writes the training step; a subclass
    writes its objective (:meth:`objective`) and little else. One step
    (:meth:`step`) is

    .. math::
        \tilde{G}_k = t_k(G), \qquad z^{(k)} = f(\tilde{G}_k), \qquad
        \mathcal{L} = \mathrm{objective}(z^{(1)}, z^{(2)}),

    drawn as view 1, encode, view 2, encode (GRACE's and CSGCL's order), or
    both views first (``views_first = True``, gCooL's order). The two orders
    draw the same random numbers unless the encoder itself draws some in
    training (``nn.RReLU``).

    :meth:`step` returns a :class:`TwoViewStep` (loss, views, embeddings),
    the public record through which wrappers such as
    :class:`~gcl.methods.POT` add their terms; ``method(data)`` is its loss.
    :meth:`prepare` fits the augmentors that cache graph statistics
    (:func:`gcl.augment.fit_augmentors`: GCA's centralities), so adaptive
    views work with every two-view method.

    Args:
        encoder (torch.nn.Module): Encoder ``(x, edge_index, edge_weight) ->
            [N, h]``.
        augmentors (Sequence[Callable]): The two view makers
            ``Data -> Data``.
        projector (torch.nn.Module, optional): Projection head :math:`g`
            applied by the subclass's objective. (default: :obj:`None`)
    """

    #: Draw both views before encoding either (gCooL) instead of
    #: view, encode, view, encode (GRACE, CSGCL).
    views_first: bool = False

    def __init__(self, encoder: torch.nn.Module,
                 augmentors: Sequence[Augmentor],
                 projector: Optional[torch.nn.Module] = None):
        super().__init__()
        augmentors = list(augmentors)
        if len(augmentors) != 2:
            raise ValueError(f"{type(self).__name__} needs two augmentors, got "
                             f"{len(augmentors)}")
        self.encoder = encoder
        self.projector = projector
        self.augmentors = augmentors

    def prepare(self, data: Data) -> None:
        """Fits the augmentors that cache statistics of ``data`` (called by
        :func:`gcl.fit` once before training).
        """
        fit_augmentors(self.augmentors, data)

    def encode_views(self, data: Data
                     ) -> tuple[tuple[Data, Data], tuple[Tensor, Tensor]]:
        """Draws the two views of ``data`` and encodes them, in the order of
        ``views_first``.
        """
        t1, t2 = self.augmentors
        if self.views_first:
            v1, v2 = t1(data), t2(data)
            return (v1, v2), (self.encode(v1), self.encode(v2))
        v1 = t1(data)
        z1 = self.encode(v1)
        v2 = t2(data)
        return (v1, v2), (z1, self.encode(v2))

    def objective(self, z1: Tensor, z2: Tensor, views: tuple[Data, Data],
                  nodes: Optional[Tensor] = None
                  ) -> Union[Tensor, dict[str, Tensor]]:  # pragma: no cover
        """The method's loss on the embeddings of the two views.

        Args:
            z1 (torch.Tensor): Encoder output of view 1 (on ``nodes`` only
                when given).
            z2 (torch.Tensor): Encoder output of view 2 (likewise).
            views (tuple[Data, Data]): The two views.
            nodes (torch.Tensor, optional): The node batch ``z1`` and ``z2``
                were restricted to, for per-node statistics.

        Returns:
            The scalar loss, or a dict of named terms with the total under
            ``"loss"``.
        """
        raise NotImplementedError

    def step(self, data: Data, nodes: Optional[Tensor] = None) -> TwoViewStep:
        """One training step on two fresh views of ``data``.

        Args:
            data (Data): The training graph.
            nodes (torch.Tensor, optional): Node batch (indices or a mask).
                The objective is then computed on those nodes only, anchors
                and negatives, as POT's code does on large graphs; the views
                are still encoded whole and :attr:`TwoViewStep.zs` holds all
                nodes. (default: :obj:`None`, all nodes)
        """
        views, zs = self.encode_views(data)
        z1, z2 = zs if nodes is None else (zs[0][nodes], zs[1][nodes])
        out = self.objective(z1, z2, views, nodes)
        if isinstance(out, dict):
            terms = dict(out)
            return TwoViewStep(terms.pop("loss"), views, zs, terms)
        return TwoViewStep(out, views, zs)

    def forward(self, data: Data) -> Tensor:
        """Returns the loss of one step on two fresh views of ``data``."""
        return self.step(data).loss

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(encoder={self.encoder}, "
                f"augmentors={self.augmentors}{self._repr_args()})")

    def _repr_args(self) -> str:
        # Settings appended to __repr__, e.g. ", tau=0.5".
        return ""
