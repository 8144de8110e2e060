r"""The base of two-view contrastive methods on heterogeneous graphs.

**Why not** :class:`~gcl.methods.TwoViewMethod`: its views are two random
augmentations ``Data -> Data`` of one graph, fed to *one* encoder. The
heterogeneous methods contrast two *encoders* (HeCo: the network-schema view
and the meta-path view of the same ``HeteroData``) or two *constructions* of
the target nodes' input (MEOW, AdaMEOW: the coarse meta-path view and the
fine-grained meta-path-context view), and their only randomness is dropout,
neighbour sampling and masks drawn once. Forcing them into augmentor slots
would hide what the papers do, so they share this small base instead, which
keeps the two-view contract of :class:`~gcl.methods.TwoViewMethod`:
:meth:`~HeteroTwoViewMethod.encode_views` gives the two embeddings,
:meth:`~HeteroTwoViewMethod.objective` the loss, and
:meth:`~HeteroTwoViewMethod.step` returns the same
:class:`~gcl.methods.TwoViewStep` record (with the graph itself as both
``views``).

Graph statistics that the methods compute once (normalised meta-path
adjacencies, PathSim top-:math:`k` graphs, masks drawn once, context
incidences, positive pairs) are built by :meth:`HeteroTwoViewMethod.prepare`
and cached in ``graph_``; :meth:`~HeteroTwoViewMethod.reset_parameters` drops
them, so a seeded :func:`gcl.fit` redraws the static masks from its seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from gcl.methods.base import Method
from gcl.methods.two_view import TwoViewStep

__all__ = ["HeteroTwoViewMethod", "check_hetero_input", "node_widths"]


def node_widths(in_channels: Union[int, Mapping[str, int]],
                types: Sequence[str]) -> dict[str, int]:
    """The feature width of each of ``types``: ``in_channels[t]``, or
    ``in_channels`` itself for every type when it is an int.

    Raises:
        ValueError: For a type without a width, or a width below 1.
    """
    if isinstance(in_channels, int) and not isinstance(in_channels, bool):
        out = {str(t): in_channels for t in types}
    elif isinstance(in_channels, Mapping):
        missing = [t for t in types if t not in in_channels]
        if missing:
            raise ValueError(f"in_channels has no width for the node types "
                             f"{missing}: {dict(in_channels)}")
        out = {str(t): int(in_channels[t]) for t in types}
    else:
        raise ValueError(f"in_channels must be a width per node type (a dict "
                         f"such as HeteroData.num_features) or one int, got "
                         f"{type(in_channels).__name__}")
    bad = {t: w for t, w in out.items() if w < 1}
    if bad:
        raise ValueError(f"feature widths must be >= 1, got {bad}")
    return out


def check_hetero_input(data: Any, method: str, target: str,
                       metapaths: Sequence[str],
                       in_channels: Mapping[str, int],
                       dtype: Optional[torch.dtype] = None) -> None:
    """Validates a heterogeneous graph for a meta-path method.

    Checks that ``data`` is a :class:`~torch_geometric.data.HeteroData` with
    the ``target`` node type, the meta-path graphs ``(target, name, target)``
    for every name of ``metapaths`` (with ``edge_index`` in range), and
    finite floating-point features of width ``in_channels[t]`` (and dtype
    ``dtype``) for every node type ``t`` of ``in_channels``.

    Raises:
        ValueError: Naming the first problem found.
    """
    if not isinstance(data, HeteroData):
        raise ValueError(
            f"{method} trains on a heterogeneous graph (torch_geometric.data."
            f"HeteroData with meta-path graphs), got {type(data).__name__}; "
            f"load one with gcl.datasets.load('ACM-HeCo')")
    if target not in data.node_types:
        raise ValueError(f"{method}: the graph has no {target!r} nodes; its node "
                         f"types are {data.node_types}")
    have = sorted(et[1] for et in data.edge_types
                  if et[0] == target and et[2] == target)
    n = data[target].num_nodes
    for name in metapaths:
        et = (target, name, target)
        if et not in data.edge_types:
            raise ValueError(
                f"{method}: the graph has no meta-path graph {et}; its "
                f"{target!r}-to-{target!r} edge types are {have} (compose it "
                f"with gcl.datasets.add_metapaths, or load the data set with "
                f"its meta-paths)")
        ei = data[et].edge_index
        if not isinstance(ei, Tensor) or ei.dim() != 2 or ei.size(0) != 2:
            raise ValueError(f"{method}: meta-path {name!r} edge_index must be "
                             f"[2, E]")
        if ei.numel() and (int(ei.min()) < 0 or int(ei.max()) >= n):
            raise ValueError(f"{method}: meta-path {name!r} refers to node "
                             f"{int(ei.max())}, but there are {n} {target!r} "
                             f"nodes")
    for ntype, width in in_channels.items():
        if ntype not in data.node_types:
            raise ValueError(f"{method}: the graph has no {ntype!r} nodes; its "
                             f"node types are {data.node_types}")
        x = data[ntype].get("x")
        if not isinstance(x, Tensor):
            raise ValueError(f"{method}: data[{ntype!r}].x is missing: every "
                             f"node type the method projects needs features "
                             f"(one-hot ones for featureless types)")
        if x.dim() != 2 or x.size(1) != width:
            raise ValueError(f"{method}: data[{ntype!r}].x has shape "
                             f"{tuple(x.shape)}, the model expects "
                             f"[N, {width}]")
        if not x.is_floating_point():
            raise ValueError(f"{method}: data[{ntype!r}].x must be floating "
                             f"point, got {x.dtype}")
        if dtype is not None and x.dtype != dtype:
            raise ValueError(f"{method}: data[{ntype!r}].x is {x.dtype} but "
                             f"the model's parameters are {dtype}; convert "
                             f"one of them")
        vals = x.coalesce().values() if x.is_sparse else x
        if not torch.isfinite(vals).all():
            raise ValueError(f"{method}: data[{ntype!r}].x contains NaN or "
                             f"inf values")


def _to(obj: Any, device: torch.device) -> Any:
    """Moves the tensors of a nested list/dict/tuple to ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, dict):
        return {k: _to(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to(v, device) for v in obj)
    return obj


class HeteroTwoViewMethod(Method):
    r"""Base class of two-view contrastive methods on a ``HeteroData``.

    A subclass writes :meth:`build_graph` (the statistics of the graph it
    needs, computed once), :meth:`encode_views` (the two views' embeddings of
    the target nodes), :meth:`objective` (the loss) and :meth:`encode` (the
    embeddings the paper evaluates). One step is

    .. math::
        (z^{(1)}, z^{(2)}) = \mathrm{views}(G), \qquad
        \mathcal{L} = \mathrm{objective}(z^{(1)}, z^{(2)}),

    and :meth:`step` returns it as a :class:`~gcl.methods.TwoViewStep`.

    Args:
        in_channels (Mapping[str, int]): Feature width of every node type
            the method projects (the part of ``data.num_features`` it uses;
            subclasses also take one int for all types, see
            :func:`node_widths`).
        target (str): The node type that is embedded and evaluated.
        metapaths (Sequence[str]): Names of the meta-path graphs
            ``(target, name, target)`` the method reads.
    """

    def __init__(self, in_channels: Mapping[str, int], target: str,
                 metapaths: Sequence[str]):
        super().__init__()
        metapaths = [str(m) for m in metapaths]
        if not metapaths or len(set(metapaths)) != len(metapaths):
            raise ValueError(f"need at least one meta-path, each once, got "
                             f"{metapaths}")
        in_channels = node_widths(in_channels, list(in_channels))
        if target not in in_channels:
            raise ValueError(f"in_channels has no width for the target type "
                             f"{target!r}: {in_channels}")
        self.target = str(target)
        self.metapaths = metapaths
        self.in_channels = {str(k): int(v) for k, v in in_channels.items()}
        self.graph_: Optional[dict[str, Any]] = None
        self._key: Optional[tuple] = None

    # ------------------------------------------------------------------ #
    # input and cached graph statistics
    # ------------------------------------------------------------------ #

    def node_types_used(self) -> dict[str, int]:
        """The node types whose features the method reads, with widths."""
        return dict(self.in_channels)

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the method's parameters."""
        return next(p.dtype for p in self.parameters() if p.is_floating_point())

    def check_input(self, data: Any) -> None:
        """Validates ``data`` (see :func:`check_hetero_input`).

        Raises:
            ValueError: Naming what is wrong with ``data``.
        """
        check_hetero_input(data, type(self).__name__, self.target,
                           self.metapaths, self.node_types_used(), self.dtype)

    def _fingerprint(self, data: HeteroData) -> tuple:
        return (data[self.target].num_nodes, self.dtype,
                tuple(data[self.target, m, self.target].edge_index.size(1)
                      for m in self.metapaths))

    def prepare(self, data: HeteroData) -> None:
        """Validates ``data`` and computes the cached graph statistics
        (:meth:`build_graph`) unless they exist for this graph (called by
        :func:`gcl.fit` once before training, and by the first step
        otherwise).
        """
        self.check_input(data)
        key = self._fingerprint(data)
        if self.graph_ is None or self._key != key:
            self.graph_ = self.build_graph(data)
            self._key = key

    def graph(self, data: HeteroData) -> dict[str, Any]:
        """The cached statistics of ``data``, on its device."""
        if self.graph_ is None or self._key != self._fingerprint(data):
            self.prepare(data)
        dev = data[self.target].x.device
        self.graph_ = _to(self.graph_, dev)
        return self.graph_

    def build_graph(self, data: HeteroData) -> dict[str, Any]:
        """The statistics of ``data`` the method needs (computed once)."""
        return {}

    def reset_parameters(self) -> None:
        """Resets the parameters and drops the cached graph statistics."""
        super().reset_parameters()
        self.graph_ = None
        self._key = None

    # ------------------------------------------------------------------ #
    # the two-view step
    # ------------------------------------------------------------------ #

    def encode_views(self, data: HeteroData) -> tuple[Tensor, Tensor]:
        """The two views' embeddings of the target nodes (with gradients)."""
        raise NotImplementedError  # pragma: no cover

    def objective(self, z1: Tensor, z2: Tensor, data: HeteroData
                  ) -> Union[Tensor, dict[str, Tensor]]:  # pragma: no cover
        """The loss of the two views: a scalar, or a dict of named terms with
        the total under ``"loss"``.
        """
        raise NotImplementedError

    def step(self, data: HeteroData) -> TwoViewStep:
        """One training step: the two views and their loss."""
        z1, z2 = self.encode_views(data)
        out = self.objective(z1, z2, data)
        if isinstance(out, dict):
            terms = dict(out)
            return TwoViewStep(terms.pop("loss"), (data, data), (z1, z2), terms)
        return TwoViewStep(out, (data, data), (z1, z2))

    def forward(self, data: HeteroData) -> Tensor:
        """Returns the loss of one step on ``data``."""
        return self.step(data).loss

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(target={self.target!r}, "
                f"metapaths={self.metapaths}{self._repr_args()})")

    def _repr_args(self) -> str:
        return ""
