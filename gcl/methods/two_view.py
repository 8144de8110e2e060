r"""The base of two-view contrastive methods and its step record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.augment import Compose, fit_augmentors, restrict_augmentors
from gcl.losses import extra_negatives
from gcl.methods.base import Method

__all__ = ["TwoViewMethod", "TwoViewStep", "VIEW_ORDERS"]

Augmentor = Callable[[Data], Data]

VIEW_ORDERS = ("interleaved", "views_first", "stagewise")


def _stages(aug: Augmentor) -> list[Augmentor]:
    """The stages of a view maker: a :class:`~gcl.augment.Compose`'s parts,
    else the augmentor itself.
    """
    return list(aug.augmentors) if isinstance(aug, Compose) else [aug]


def _draw_views(t1: Augmentor, t2: Augmentor, data: Data,
                stagewise: bool) -> tuple[Data, Data]:
    """Both views, stage by stage across the views when ``stagewise`` and
    the two view makers have the same number of stages, else view by view.
    """
    s1, s2 = _stages(t1), _stages(t2)
    if not stagewise or len(s1) != len(s2) or not s1:
        return t1(data), t2(data)
    v1, v2 = data, data
    for a1, a2 in zip(s1, s2):
        v1 = a1(v1)
        v2 = a2(v2)
    return v1, v2


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

    with the views drawn in the order of :attr:`view_order`, which decides
    which random numbers go to which view:

    - ``"interleaved"`` (default, gcl's GRACE): view 1, encode, view 2,
      encode;
    - ``"views_first"``: view 1 whole, then view 2 whole, then encode both;
    - ``"stagewise"``: stage by stage across the views, then encode both.
      When both view makers are :class:`~gcl.augment.Compose` of the same
      length, stage :math:`k` of view 1 and then of view 2 is applied before
      stage :math:`k + 1` (a single augmentor is one stage). This is the
      order of the official CSGCL code (both CED views, then both CAV views,
      then the encoder) and gCooL (both edge views, then both feature
      views), which these classes use. The official GRACE code draws in this
      order too; gcl's GRACE keeps ``"interleaved"``, the order its recorded
      seeded runs used (the same distributions). View makers of other
      shapes are drawn as ``"views_first"``.

    ``"interleaved"`` and ``"views_first"`` draw the same random numbers
    unless the encoder itself draws some in training (``nn.RReLU``);
    ``"stagewise"`` hands the same numbers to different views.

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

    #: Order of the random draws: ``"interleaved"`` (view, encode, view,
    #: encode), ``"views_first"`` or ``"stagewise"`` (see the class
    #: docstring).
    view_order: str = "interleaved"

    #: Whether :meth:`objective` reads per-node statistics of the training
    #: graph through its ``nodes`` argument (CSGCL's strengths): then
    #: :meth:`batch_step` passes the global ids of the batch's nodes. A
    #: method whose objective depends on the embeddings and views only
    #: (gCooL) sets it to :obj:`False` and gets ``nodes=None``.
    batch_node_ids: bool = True

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
        :attr:`view_order`.
        """
        return self._encode_views(data, self.augmentors)

    def _encode_views(self, data: Data, augmentors: Sequence[Augmentor]
                      ) -> tuple[tuple[Data, Data], tuple[Tensor, Tensor]]:
        t1, t2 = augmentors
        if self.view_order not in VIEW_ORDERS:
            raise ValueError(f"view_order must be one of "
                             f"{', '.join(VIEW_ORDERS)}, got {self.view_order!r}")
        if self.view_order != "interleaved":
            v1, v2 = _draw_views(t1, t2, data,
                                 self.view_order == "stagewise")
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

    def batch_step(self, batch: Data) -> TwoViewStep:
        r"""One mini-batch step on a sampled subgraph.

        ``batch`` is a subgraph from :func:`gcl.train.neighbor_loader` (PyG's
        ``NeighborLoader`` format): its first ``batch.batch_size`` nodes are
        the seeds, ``batch.n_id`` and ``batch.e_id`` are the global ids of
        its nodes and edges. The augmentors, fitted once on the full graph by
        :meth:`prepare`, are restricted to the subgraph's edges
        (:func:`gcl.augment.restrict_augmentors`), the two views of the
        subgraph are drawn and encoded as in :meth:`step`, and the objective
        is computed on the seeds: anchors and negatives are the batch's
        seeds (plus, under :func:`gcl.losses.gather_negatives`, the seeds of
        the other processes). The objective gets the seeds' embeddings, the
        views restricted to the seeds (edges between seeds, for gCooL's
        DeCA) and, when :attr:`batch_node_ids`, the seeds' global ids (for
        statistics of the full graph, e.g. CSGCL's :math:`S_i`).

        A batch holding every node with all its neighbours is the full graph
        with its edges reordered (by ``e_id``); the step then equals
        :meth:`step` on the full graph in that edge order.

        **Sampled global negatives.** A batch from
        :class:`gcl.train.GlobalNegativesLoader` (:func:`gcl.fit`'s
        ``num_negatives``) is the disjoint union of the seeds' subgraph and
        the subgraph of :math:`M` nodes drawn uniformly from the whole graph,
        whose rows start at ``batch.negatives_start``
        (``batch.num_negatives`` = :math:`M`). Both are viewed (one draw of
        each view over the union) and encoded together; the objective gets
        the :math:`B` seeds' rows followed by the :math:`M` drawn nodes'
        rows (and their global ids) under
        :func:`gcl.losses.extra_negatives`, so its InfoNCE terms average over
        the :math:`B` seeds, each against all :math:`B + M` rows of the
        other view and the :math:`B + M - 1` others of its own view:

        .. math::
            \ell_i = -\log \frac{e^{\theta(u_i, v_i)/\tau}}
            {\sum_{j \leq B+M} e^{\theta(u_i, v_j)/\tau}
            + \sum_{j \leq B+M, j \neq i} e^{\theta(u_i, u_j)/\tau}},
            \qquad i \leq B;

        the drawn nodes are never anchors or positives. An objective's other
        terms use the first ``len(z1) - num_extra_negatives()`` rows
        (gCooL's DeCA and ReSC); the views it gets are those of the seeds.

        Returns:
            TwoViewStep: The batch loss, the two views of the whole subgraph
            and the encoder outputs of all its nodes (seeds first).
        """
        for key in ("n_id", "e_id", "batch_size"):
            if batch.get(key) is None:
                raise ValueError(
                    f"batch_step needs a sampled subgraph with {key!r} (from "
                    f"gcl.train.neighbor_loader or PyG's NeighborLoader)")
        size = int(batch.batch_size)
        x = batch.get("x")
        if x is not None and x.layout == torch.sparse_coo and not x.is_coalesced():
            batch.x = x.coalesce()  # once, not once per view (column masks)
        augmentors = restrict_augmentors(self.augmentors, batch.e_id,
                                         batch.num_nodes)
        views, zs = self._encode_views(batch, augmentors)
        seed_views = tuple(_seed_graph(view, size) for view in views)
        rows = slice(0, size)
        extra = int(batch.get("num_negatives") or 0)
        if extra:  # the seeds, then the drawn nodes (negatives only)
            first = int(batch.negatives_start)
            dev = batch.n_id.device
            rows = torch.cat([torch.arange(size, device=dev),
                              torch.arange(first, first + extra, device=dev)])
        nodes = batch.n_id[rows] if self.batch_node_ids else None
        with extra_negatives(extra):  # 0: every row an anchor, as before
            out = self.objective(zs[0][rows], zs[1][rows], seed_views, nodes)
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


def _seed_graph(view: Data, size: int) -> Data:
    """The view restricted to its first ``size`` nodes (a batch's seeds):
    the edges between them (and their weights).
    """
    keep = (view.edge_index < size).all(dim=0)
    out = Data(edge_index=view.edge_index[:, keep], num_nodes=size)
    if view.get("edge_weight") is not None:
        out.edge_weight = view.edge_weight[keep]
    return out
