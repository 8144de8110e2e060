"""gCooL for multiplex graphs: the relations as views, or gCooL within each
relation (an unverified design).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Any, Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor
from torch_geometric.data import Data, HeteroData
from torch_geometric.utils import remove_self_loops

from gcl.augment import Compose, EdgeDrop, FeatureMask
from gcl.community import deca_loss
from gcl.losses import info_nce, resc_loss
from gcl.methods.base import Method
from gcl.methods.gcool import (
    _check_communal_args,
    _init_communal,
    gcool_schedule,
    soft_assignment,
)
from gcl.methods.hetero_two_view import check_hetero_input, node_widths
from gcl.nn import GCNEncoder, ProjectionHead

__all__ = ["GCOOLMultiplex"]

#: The two designs of :class:`GCOOLMultiplex` (its ``contrast``).
CONTRASTS = ("across", "within")


def _rates(value: Union[float, Sequence[float]]) -> list[float]:
    return [float(value)] if isinstance(value, (int, float)) else \
        [float(v) for v in value]


class GCOOLMultiplex(Method):
    r"""gCooL on a multiplex graph, from `"Graph Communal Contrastive
    Learning" <https://arxiv.org/abs/2110.14863>`_ (Li, Jing and Tong, WWW
    2022), Section on multiplex graphs.

    .. warning::
        The official code releases only the single-view model, so this is a
        **reconstruction, not verified** against the paper's text or numbers.
        Two designs are offered (``contrast``): the relations play the role
        of the two augmented views (``"across"``), or each relation is
        contrasted with an augmented copy of itself, gCooL within every
        relation (``"within"``).

    For relations :math:`r = 1, \dots, R` over the same nodes (e.g. HeCo's
    meta-path graphs, :func:`gcl.datasets.load_heco_multiplex`), each with
    its own GCN encoder :math:`f_r` and a shared normalised projection
    :math:`g`, a view :math:`v` of relation :math:`r(v)` is embedded as
    :math:`h^{(v)} = \mathrm{normalize}(g(f_{r(v)}(X_v, A_v)))`:

    - ``contrast="across"``: one view per relation, the relation graph
      itself (optionally uniformly augmented), and every pair of relations
      is a pair of views, :math:`P = \{(r, s): r < s\}`;
    - ``contrast="within"``: two uniformly augmented views of every relation
      (``augmentors`` required), and each relation's two views are a pair,
      :math:`P = \{(r^1, r^2)\}_r`: single-view gCooL on every relation
      with its own encoder, sharing the projection and the centres.

    With learnable centres :math:`\Phi` shared by all views and the schedule
    :math:`\alpha(t), c(t)` of :class:`~gcl.methods.GCOOL`:

    .. math::
        \mathcal{L}(t) = \overline{\mathcal{L}_{\text{node}}(h^{(u)},
        h^{(v)})}_{(u, v) \in P} + \alpha(t)\Big[c(t)\,
        \overline{\mathcal{L}_{\text{DeCA}}(R^{(v)}, A_v)}_{v} + (1 - c(t))\,
        \overline{\mathcal{L}_{\text{ReSC}}(h^{(u)}, h^{(v)}, R^{(u)},
        R^{(v)})}_{(u, v) \in P}\Big],

    averages over views and pairs. With ``shared_assignment``
    (default) one community assignment serves every view,
    :math:`R = \mathrm{softmax}(\mathrm{sg}(\bar h) \bar\Phi^\top / \tau)`
    with :math:`\bar h` the normalised mean of the views' :math:`h^{(v)}`, so
    DeCA asks every relation graph to be dense inside the same communities
    and sparse between them; otherwise each view has its own
    :math:`R^{(v)}` from the shared centres, as the two views of
    single-view gCooL. The node term has inter-view negatives only and is
    symmetric by default (relations have no natural order, unlike the
    official one-directional single-view quirk). The embedding is the mean
    over relations, :math:`z = \frac{1}{R}\sum_r f_r(X, A_r)`.

    On ACM (HeCo's PAP and PSP graphs), ``"across"`` learns for about 20
    epochs and then falls below its own start: the PSP graph is a union of
    near-cliques, whose GCN output barely tells a paper from the others of
    its subject, so the cross-relation contrast cannot be won and the
    embeddings collapse to about 5 effective dimensions of 64. ``"within"``
    keeps improving there. Neither design wins everywhere: on Freebase and
    AMiner (one-hot features) ``"within"`` falls from its start, and on
    DBLP it levels off below ``"across"``, so validation prefers
    ``"across"`` on those three. gcl's configs take the design each data
    set's validation splits choose (``benchmarks/notes/gcool_multiplex.md``).

    The graph is either

    - a :class:`~torch_geometric.data.HeteroData` as
      :func:`gcl.datasets.load` returns for ``"ACM-HeCo"`` etc. (what
      ``gcl bench gcool_multiplex`` trains on; needs ``target``): the
      relations are the meta-path graphs ``data[target, name, target]`` for
      every name of ``relations``, the features ``data[target].x``, and the
      embedding is that of the target nodes. Only the support of a meta-path
      graph is used (its ``edge_weight``, HeCo's path counts, is ignored)
      and its self-loops are dropped, as
      :func:`gcl.datasets.load_heco_multiplex` reads HeCo's files, so both
      inputs give the same graphs; this view is computed once per graph and
      cached (:meth:`relation_graphs` is the one place that reads either
      input);
    - or a :class:`~torch_geometric.data.Data` with ``x`` and a dict
      ``relations`` of ``edge_index`` per relation (as
      :func:`gcl.datasets.load_heco_multiplex` returns), used as given.

    Args:
        encoders (Sequence[torch.nn.Module]): One encoder per relation, each
            with ``out_channels`` :math:`h`.
        proj_channels (int): Hidden size of the shared projection head.
        relations (Sequence[str]): Relation names, in the order of
            ``encoders``: keys of ``data.relations``, or meta-path names
            ``(target, name, target)`` of a ``HeteroData``.
        augmentors (Sequence[Callable], optional): One view maker per relation
            applied to ``Data(x, edge_index=A_r)`` (statistics-free ones
            only, e.g. :class:`~gcl.augment.EdgeDrop`), twice per step for
            ``contrast="within"``. (default: :obj:`None`, the relation
            graphs as they are; ``"within"`` needs them)
        tau (float, optional): Temperature. (default: :obj:`0.5`)
        num_communities (int, optional): :math:`K`. (default: :obj:`3`)
        lam (float, optional): DeCA's :math:`\lambda`. (default: :obj:`1.0`)
        gamma (float, optional): ReSC's RBF reweighting. (default: :obj:`8e-5`)
        stride (float, optional): Schedule stride. (default: :obj:`500`)
        alpha_rate (float, optional): :math:`\alpha` reaches 0 at
            ``alpha_rate * stride``. (default: :obj:`0.2`)
        similarity (str, optional): ``"cos"`` or ``"rbf"``.
            (default: :obj:`"cos"`)
        symmetric_node_loss (bool, optional): Both directions of each pair's
            node term. (default: :obj:`True`)
        shared_assignment (bool, optional): One assignment for all views.
            (default: :obj:`True`)
        contrast (str, optional): ``"across"`` (the relations are the views)
            or ``"within"`` (two augmented views of each relation).
            (default: :obj:`"across"`)
        block_size (int, optional): Rows per block of the node term.
            (default: :obj:`None`)
        target (str, optional): The node type whose meta-path graphs are the
            relations when the input is a ``HeteroData`` (ACM: ``"paper"``).
            (default: :obj:`None`, ``Data`` input only)
    """

    #: The centres get no gradient once the community terms are off
    #: (:math:`\alpha(t) = 0`), as in :class:`~gcl.methods.GCOOL`.
    may_skip_parameters: bool = True

    def __init__(self, encoders: Sequence[torch.nn.Module], proj_channels: int,
                 relations: Sequence[str],
                 augmentors: Optional[Sequence[Callable[[Data], Data]]] = None,
                 tau: float = 0.5, num_communities: int = 3, lam: float = 1.0,
                 gamma: float = 8e-5, stride: float = 500,
                 alpha_rate: float = 0.2, similarity: str = "cos",
                 symmetric_node_loss: bool = True,
                 shared_assignment: bool = True,
                 block_size: Optional[int] = None,
                 target: Optional[str] = None, contrast: str = "across"):
        super().__init__()
        relations = [str(r) for r in relations]
        if len(relations) < 2 or len(set(relations)) != len(relations):
            raise ValueError(f"need at least two distinct relations, got "
                             f"{relations}")
        if len(encoders) != len(relations):
            raise ValueError(f"{len(encoders)} encoders for {len(relations)} "
                             f"relations")
        if augmentors is not None and len(augmentors) != len(relations):
            raise ValueError(f"{len(augmentors)} augmentors for "
                             f"{len(relations)} relations")
        if contrast not in CONTRASTS:
            raise ValueError(f"contrast must be one of {CONTRASTS}, got "
                             f"{contrast!r}")
        if contrast == "within" and augmentors is None:
            raise ValueError(
                "contrast='within' contrasts each relation with an augmented "
                "copy of itself: give augmentors (from_config: drop_edge or "
                "drop_feature above 0)")
        widths = {e.out_channels for e in encoders}
        if len(widths) != 1:
            raise ValueError(f"the encoders' out_channels differ: {widths}")
        _check_communal_args(tau, num_communities, stride, alpha_rate)
        out = widths.pop()
        self.relations = relations
        self.target = None if target is None else str(target)
        self.encoders = torch.nn.ModuleList(encoders)
        self.projector = ProjectionHead(out, proj_channels, normalize=True)
        self.augmentors = list(augmentors) if augmentors is not None else None
        self.shared_assignment = bool(shared_assignment)
        self.contrast = contrast
        # Edge dropping keeps a duplicate-free graph duplicate-free, so DeCA
        # may skip de-duplicating the views of such a relation.
        self._edge_subsets = self.augmentors is None or all(
            isinstance(a, (EdgeDrop, FeatureMask, Compose))
            for a in self.augmentors)
        self.duplicate_free_: dict[str, bool] = {}
        self._hetero: tuple = (None, None)  # (graph key, relation edge_index)
        _init_communal(self, out, tau, num_communities, lam, gamma, stride,
                       alpha_rate, similarity, symmetric_node_loss, block_size)

    @classmethod
    def from_config(cls, in_channels: Union[int, Mapping[str, int]],
                    relations: Optional[Sequence[str]] = None,
                    hidden_channels: int = 64,
                    first_hidden: Optional[int] = None,
                    proj_channels: Optional[int] = None, num_layers: int = 2,
                    activation: str = "prelu",
                    drop_edge: Union[float, Sequence[float]] = 0.3,
                    drop_feature: Union[float, Sequence[float]] = 0.3,
                    tau: float = 0.5, num_communities: int = 3,
                    lam: float = 1.0, gamma: float = 8e-5, stride: float = 500,
                    alpha_rate: float = 0.2, similarity: str = "cos",
                    symmetric_node_loss: bool = True,
                    shared_assignment: bool = True,
                    block_size: Optional[int] = None,
                    target: Optional[str] = None,
                    metapaths: Optional[Sequence[str]] = None,
                    contrast: str = "within") -> GCOOLMultiplex:
        r"""Builds the model with one :class:`~gcl.nn.GCNEncoder` per relation
        (:math:`F \to` ``first_hidden`` :math:`\to` ``hidden_channels``).
        The defaults are the design of gcl's ACM config: ``contrast="within"``
        with ``drop_edge`` and ``drop_feature`` 0.3, uniform rates (one, or
        one per relation); the DBLP, AMiner and Freebase configs set
        ``contrast="across"`` with rates of 0, which their validation chose.
        With ``contrast="across"``, rates of 0 use the
        relation graphs as they are, and then each relation's normalised
        adjacency is built once and cached (``GCNEncoder(cached=True)``):
        the dense meta-path graphs (millions of edges) dominate a step
        otherwise.

        For a ``HeteroData`` (the configs in
        ``gcl/configs/gcool_multiplex/``), give ``target`` and the meta-path
        names as ``metapaths`` (the keys HeCo's configs use; another name of
        ``relations``), and ``in_channels`` may be the width per node type
        (``data.num_features``): the target's width is used.
        """
        if metapaths is not None:
            if relations is not None:
                raise ValueError("give the relations either as relations or "
                                 "as metapaths, not both")
            relations = metapaths
        if relations is None:
            raise ValueError("GCOOLMultiplex needs its relations (the "
                             "meta-path names: relations=... or "
                             "metapaths=...)")
        if isinstance(in_channels, Mapping) and target is None:
            raise ValueError("in_channels is a width per node type: give the "
                             "target node type whose meta-path graphs are the "
                             "relations (target=...)")
        if target is not None:
            in_channels = node_widths(in_channels, [str(target)])[str(target)]
        relations = list(relations)
        fixed = not (any(_rates(drop_edge)) or any(_rates(drop_feature)))
        encoders = [GCNEncoder(in_channels, hidden_channels, num_layers,
                               hidden_channels=first_hidden,
                               activation=activation, cached=fixed)
                    for _ in relations]

        def per_rel(v, name):
            vals = [float(v)] * len(relations) if isinstance(v, (int, float)) \
                else [float(u) for u in v]
            if len(vals) != len(relations):
                raise ValueError(f"{name} needs one rate or one per relation "
                                 f"({len(relations)}), got {v}")
            return vals

        pe, pf = per_rel(drop_edge, "drop_edge"), per_rel(drop_feature,
                                                          "drop_feature")
        augmentors = None
        if any(pe) or any(pf):
            augmentors = [Compose([EdgeDrop(a), FeatureMask(b)])
                          for a, b in zip(pe, pf)]
        return cls(encoders, proj_channels or hidden_channels, relations,
                   augmentors, tau, num_communities, lam, gamma, stride,
                   alpha_rate, similarity, symmetric_node_loss,
                   shared_assignment, block_size, target, contrast)

    def reset_parameters(self) -> None:
        """Resets the encoders, the projection head and the centres."""
        for enc in self.encoders:
            enc.reset_parameters()
        self.projector.reset_parameters()
        torch.nn.init.normal_(self.centers)
        self.duplicate_free_ = {}

    def check_input(self, data: Union[Data, HeteroData]) -> None:
        """Validates ``data``: a ``HeteroData`` with :func:`~gcl.methods.
        hetero_two_view.check_hetero_input` (the ``target`` type, its
        features and the meta-path graphs of :attr:`relations`), a ``Data``
        as every homogeneous method (its ``relations`` are checked when
        read).

        Raises:
            ValueError: Naming what is wrong with ``data``.
        """
        if not isinstance(data, HeteroData):
            super().check_input(data)
            return
        if self.target is None:
            raise ValueError(
                "GCOOLMultiplex got a HeteroData but has no target node type: "
                "build it with target=... (the node type whose meta-path "
                "graphs are the relations), or pass a Data with a relations "
                "dict (gcl.datasets.load_heco_multiplex)")
        x = data[self.target].get("x") if self.target in data.node_types \
            else None
        width = getattr(self.encoders[0], "in_channels", None)
        if not isinstance(width, int) or width < 1:  # unknown: no width check
            width = x.size(-1) if isinstance(x, Tensor) and x.dim() == 2 else 1
        dtype = next(p.dtype for p in self.parameters() if p.is_floating_point())
        check_hetero_input(data, type(self).__name__, self.target,
                           self.relations, {self.target: width}, dtype)

    def prepare(self, data: Union[Data, HeteroData]) -> None:
        """Notes once which relation graphs have no duplicate edges, so that
        DeCA can skip de-duplicating them every step.
        """
        graphs = self.relation_graphs(data)
        n = graphs[0].num_nodes
        self.duplicate_free_ = {
            r: bool(torch.unique(g.edge_index[0] * n + g.edge_index[1]).numel()
                    == g.edge_index.size(1))
            for r, g in zip(self.relations, graphs)}

    def set_epoch(self, epoch: int) -> None:
        r"""Sets the schedule step :math:`t = \text{epoch} - 1`."""
        super().set_epoch(epoch)
        self.t = epoch - 1

    def schedule(self, t: Optional[float] = None) -> tuple[float, float]:
        r""":math:`(\alpha(t), c(t))`, as :meth:`gcl.methods.GCOOL.schedule`."""
        return gcool_schedule(self.t if t is None else t, self.stride,
                              self.alpha_rate)

    def relation_graphs(self, data: Union[Data, HeteroData]) -> list[Data]:
        """One ``Data(x, edge_index)`` per relation, in :attr:`relations`
        order: the one place that reads the input graph.

        From a ``HeteroData``: ``x = data[target].x`` and the support of the
        meta-path graph ``data[target, name, target]`` without its
        self-loops (see the class docstring), computed once per graph.
        From a ``Data``: ``data.x`` and ``data.relations[name]`` as given.
        """
        if isinstance(data, HeteroData):
            return self._hetero_graphs(data)
        rel = data.get("relations")
        if not isinstance(rel, dict):
            raise ValueError("the multiplex graph needs data.relations, a dict "
                             "of edge_index per relation (see "
                             "gcl.datasets.load_heco_multiplex)")
        missing = [r for r in self.relations if r not in rel]
        if missing:
            raise ValueError(f"data.relations has no {missing}; it holds "
                             f"{sorted(rel)}")
        n = data.x.size(0)
        out = []
        for r in self.relations:
            ei = rel[r]
            if ei.dim() != 2 or ei.size(0) != 2 or (
                    ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n)):
                raise ValueError(f"relation {r!r}: edge_index must be [2, E] "
                                 f"with nodes in 0..{n - 1}")
            out.append(Data(x=data.x, edge_index=ei, num_nodes=n))
        return out

    def _hetero_graphs(self, data: HeteroData) -> list[Data]:
        """The relation graphs of a ``HeteroData``, cached per graph (keyed
        on the meta-path tensors), so the encoders' cached adjacencies stay
        valid from step to step.
        """
        if self.target is None or self.target not in data.node_types:
            self.check_input(data)  # names the problem
        t = self.target
        x, n = data[t].get("x"), data[t].num_nodes
        stores = [data[t, r, t] if (t, r, t) in data.edge_types else None
                  for r in self.relations]
        key: Any = (t, n, tuple(
            None if s is None else (s.edge_index.data_ptr(),
                                    s.edge_index.size(1),
                                    str(s.edge_index.device))
            for s in stores))
        if self._hetero[0] != key:
            self.check_input(data)
            rels = [remove_self_loops(s.edge_index)[0] for s in stores]
            self._hetero = (key, rels)
        return [Data(x=x, edge_index=ei, num_nodes=n)
                for ei in self._hetero[1]]

    def encode(self, data: Data) -> Tensor:
        """The mean over relations of the relation encoders' outputs."""
        graphs = self.relation_graphs(data)
        return torch.stack([self._encode(i, g) for i, g in
                            enumerate(graphs)]).mean(dim=0)

    def _encode(self, i: int, g: Data) -> Tensor:
        """Relation ``i``'s encoder on ``g`` (a caching
        :class:`~gcl.nn.GCNEncoder` rebuilds its adjacency for another
        graph).
        """
        return self.encoders[i](g.x, g.edge_index)

    def assign(self, h: Tensor) -> Tensor:
        """Soft assignments of (detached) projections ``h``."""
        return soft_assignment(h.detach(), self.centers, self.tau, self.similarity)

    def losses(self, data: Data) -> dict[str, Tensor]:
        """The terms of one step: ``node``, ``deca``, ``resc`` (absent when
        their weight is 0) and ``loss``.
        """
        rel, graphs, pairs = self.views(data)
        hs = [self.projector(self._encode(i, g)) for i, g in zip(rel, graphs)]
        out = {"node": torch.stack([
            info_nce(hs[a], hs[b], self.tau, intra_view=False,
                     symmetric=self.symmetric_node_loss,
                     block_size=self.block_size) for a, b in pairs]).mean()}
        loss = out["node"]
        alpha, coef = self.schedule()
        if alpha > 0:
            if self.shared_assignment:
                shared = self.assign(F.normalize(torch.stack(hs).mean(0), dim=1))
                rs = [shared] * len(hs)
            else:
                rs = [self.assign(h) for h in hs]
            out["deca"] = torch.stack([
                deca_loss(r, g.edge_index, self.lam,
                          coalesced=self._edge_subsets
                          and self.duplicate_free_.get(self.relations[i], False))
                for r, g, i in zip(rs, graphs, rel)]).mean()
            loss = loss + alpha * coef * out["deca"]
            if coef < 1.0:
                out["resc"] = torch.stack([
                    resc_loss(hs[a], hs[b], rs[a], rs[b], self.tau,
                              self.similarity, self.gamma)
                    for a, b in pairs]).mean()
                loss = loss + alpha * (1.0 - coef) * out["resc"]
        out["loss"] = loss
        return out

    def views(self, data: Union[Data, HeteroData]
              ) -> tuple[list[int], list[Data], list[tuple[int, int]]]:
        """The views of one step, the relation (encoder) of each, and the
        contrasted pairs of view indices: the relation graphs (each
        augmented when ``augmentors`` are given) and every pair of them for
        ``contrast="across"``; two augmented copies of each relation graph,
        in relation order, and each relation's two copies for ``"within"``.
        """
        graphs = self.relation_graphs(data)
        if self.contrast == "within":
            rel = [i for i in range(len(graphs)) for _ in range(2)]
            pairs = [(2 * i, 2 * i + 1) for i in range(len(graphs))]
        else:
            rel = list(range(len(graphs)))
            pairs = list(combinations(rel, 2))
        if self.augmentors is not None:
            graphs = [self.augmentors[i](copy.copy(graphs[i])) for i in rel]
        return rel, graphs, pairs

    def forward(self, data: Data) -> Tensor:
        """Returns the loss of one step on the multiplex graph ``data``."""
        return self.losses(data)["loss"]

    def __repr__(self) -> str:
        return (f"{self.__class__.__name__}(relations={self.relations}, "
                f"encoder={self.encoders[0]}, tau={self.tau}, "
                f"num_communities={self.num_communities}, lam={self.lam}, "
                f"stride={self.stride}, alpha_rate={self.alpha_rate}, "
                f"shared_assignment={self.shared_assignment}, "
                f"contrast={self.contrast!r}"
                + ("" if self.target is None else f", target={self.target!r}")
                + ")")
