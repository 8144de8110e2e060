r"""Node batches with sampled neighbourhoods, for mini-batch training.

:func:`neighbor_loader` returns PyG's :class:`~torch_geometric.loader.NeighborLoader`
when one of its sampling back ends (``pyg-lib`` or ``torch-sparse``) is
installed. PyG 2.8 has no pure-PyTorch fallback (its ``NeighborSampler``
raises an :class:`ImportError` without them), so otherwise the loader is
PyG's :class:`~torch_geometric.loader.NodeLoader` driven by
:class:`TorchNeighborSampler`, a vectorised pure-PyTorch sampler with the
same output: a :class:`~torch_geometric.data.Data` subgraph whose first
``batch_size`` nodes are the seeds, with ``n_id`` (global node ids), ``e_id``
(global edge ids), ``batch_size``, ``num_sampled_nodes`` and
``num_sampled_edges``.

:class:`GlobalNegativesLoader` adds to every batch of such a loader the
sampled subgraph of nodes drawn uniformly from the whole graph, used as
negatives only (:func:`gcl.fit`'s ``num_negatives``).
"""

from __future__ import annotations

import copy
import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.loader import NeighborLoader, NodeLoader
from torch_geometric.sampler import BaseSampler, NodeSamplerInput, SamplerOutput
from torch_geometric.typing import WITH_PYG_LIB, WITH_TORCH_SPARSE

__all__ = ["TorchNeighborSampler", "neighbor_loader", "check_num_neighbors",
           "GlobalNegativesLoader", "check_num_negatives", "draw_nodes"]


def check_num_neighbors(num_neighbors: Sequence[int]) -> list[int]:
    """Validates a fan-out list (one entry per hop, ``-1`` for all).

    Raises:
        ValueError: If it is empty or holds 0 or a value below -1.
    """
    try:
        fanout = [int(k) for k in num_neighbors]
    except (TypeError, ValueError):
        raise ValueError(f"num_neighbors must be a list of integers (one per "
                         f"hop, -1 for all neighbours), got {num_neighbors!r}"
                         ) from None
    if not fanout or any(k == 0 or k < -1 for k in fanout):
        raise ValueError(f"num_neighbors must be a non-empty list of positive "
                         f"integers or -1 (all neighbours), got {num_neighbors!r}")
    return fanout


class TorchNeighborSampler(BaseSampler):
    r"""GraphSAGE-style neighbour sampling in pure PyTorch (no Python loop
    over nodes).

    Hop :math:`k` takes, for every node found at hop :math:`k-1` (the seeds
    at hop 1), up to ``num_neighbors[k]`` of its in-neighbours (sources
    :math:`j` of edges :math:`j \to i`) without replacement, or all of them
    for ``-1``, like PyG's :class:`~torch_geometric.sampler.NeighborSampler`
    (directional subgraphs: only the sampled edges are kept). Sampling
    without replacement draws one uniform key per candidate edge and keeps
    the ``k`` smallest per node (one sort per hop).

    The graph is converted to CSC once; the sampler keeps one ``[N]`` index
    buffer, so each batch costs :math:`O(\text{sampled edges})`. Random
    numbers come from torch's generator, so seeded runs repeat.

    Args:
        data (Data): The graph.
        num_neighbors (Sequence[int]): Neighbours per hop (``-1``: all).
    """

    def __init__(self, data: Data, num_neighbors: Sequence[int]):
        self.num_neighbors = check_num_neighbors(num_neighbors)
        n = data.num_nodes
        edge_index = data.edge_index.cpu()
        col = edge_index[1]
        self.perm = torch.argsort(col, stable=True)  # CSC order -> edge id
        self.row = edge_index[0][self.perm]
        self.colptr = torch.zeros(n + 1, dtype=torch.long)
        self.colptr[1:] = torch.cumsum(torch.bincount(col, minlength=n), 0)
        self.num_nodes = n
        self._local = torch.full((n,), -1, dtype=torch.long)

    def _hop(self, frontier: Tensor, fanout: int) -> tuple[Tensor, Tensor]:
        """CSC positions of the sampled in-edges of ``frontier`` and the
        position in ``frontier`` of each one's target.
        """
        start = self.colptr[frontier]
        deg = self.colptr[frontier + 1] - start
        total = int(deg.sum())
        seg = torch.repeat_interleave(torch.arange(frontier.numel()), deg,
                                      output_size=total)
        offset = torch.cumsum(deg, 0) - deg
        rank = torch.arange(total) - offset[seg]
        pos = start[seg] + rank
        if fanout < 0 or total == 0 or int(deg.max()) <= fanout:
            return pos, seg
        # Random order within each node's candidates; keep the first fanout.
        key = torch.rand(total, dtype=torch.float64) + seg.to(torch.float64)
        order = torch.argsort(key)
        keep = order[rank < fanout]  # rank of a sorted slot = slot - offset
        return pos[keep], seg[keep]

    def sample_from_nodes(self, index: NodeSamplerInput) -> SamplerOutput:
        """Samples the subgraph of the seed nodes ``index.node``."""
        seeds = index.node.cpu().to(torch.long)
        if seeds.numel() != torch.unique(seeds).numel():
            raise ValueError("seed nodes of a batch must be distinct")
        local = self._local
        nodes = [seeds]
        local[seeds] = torch.arange(seeds.numel())
        count = seeds.numel()
        rows, cols, edges = [], [], []
        num_nodes, num_edges = [seeds.numel()], []
        frontier, first = seeds, 0
        try:
            for fanout in self.num_neighbors:
                pos, seg = self._hop(frontier, fanout)
                src = self.row[pos]
                new = torch.unique(src[local[src] < 0])
                local[new] = torch.arange(count, count + new.numel())
                count += new.numel()
                nodes.append(new)
                rows.append(local[src])
                cols.append(seg + first)
                edges.append(self.perm[pos])
                num_nodes.append(new.numel())
                num_edges.append(pos.numel())
                first = count - new.numel()
                frontier = new
            node = torch.cat(nodes)
        finally:
            local[torch.cat(nodes)] = -1  # reset only what this batch touched
        return SamplerOutput(node=node, row=torch.cat(rows), col=torch.cat(cols),
                             edge=torch.cat(edges), batch=None,
                             num_sampled_nodes=num_nodes,
                             num_sampled_edges=num_edges,
                             metadata=(index.input_id, index.time))

    def sample_from_edges(self, index, neg_sampling=None):  # pragma: no cover
        """Not supported (node batches only)."""
        raise NotImplementedError("TorchNeighborSampler samples node batches only")

    @property
    def edge_permutation(self) -> None:
        """:obj:`None`: sampled edges carry their original ids."""
        return None  # SamplerOutput.edge already holds the original edge ids

    def __repr__(self) -> str:
        return f"{type(self).__name__}(num_neighbors={self.num_neighbors})"


def neighbor_loader(data: Data, batch_size: int, num_neighbors: Sequence[int],
                    input_nodes: Optional[Tensor] = None, shuffle: bool = True,
                    drop_last: bool = False, backend: str = "auto",
                    **kwargs: Any) -> NodeLoader:
    r"""Node batches of ``data`` with sampled ``num_neighbors``-hop subgraphs.

    Each item is a :class:`~torch_geometric.data.Data` subgraph: the first
    ``batch.batch_size`` nodes are the seeds, ``batch.n_id`` and
    ``batch.e_id`` map nodes and edges to ``data``'s, and every node and edge
    attribute of ``data`` is sliced along.

    Args:
        data (Data): The graph (on the CPU).
        batch_size (int): Seed nodes per batch.
        num_neighbors (Sequence[int]): Neighbours sampled per hop, ``-1`` for
            all (e.g. ``[10, 10]`` for a 2-layer encoder).
        input_nodes (torch.Tensor, optional): Seed nodes to draw batches
            from. (default: :obj:`None`, all nodes)
        shuffle (bool, optional): Shuffle the seeds each epoch.
            (default: :obj:`True`)
        drop_last (bool, optional): Drop the last, shorter batch.
            (default: :obj:`False`)
        backend (str, optional): ``"pyg"`` (PyG's
            :class:`~torch_geometric.loader.NeighborLoader`, which needs
            ``pyg-lib`` or ``torch-sparse``), ``"torch"``
            (:class:`TorchNeighborSampler`) or ``"auto"`` (PyG's when a back
            end is installed). (default: :obj:`"auto"`)
        **kwargs: Further :class:`torch.utils.data.DataLoader` options
            (``num_workers``, ...).

    Returns:
        torch_geometric.loader.NodeLoader: The loader.
    """
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    fanout = check_num_neighbors(num_neighbors)
    if backend not in ("auto", "pyg", "torch"):
        raise ValueError(f"backend must be 'auto', 'pyg' or 'torch', got {backend!r}")
    if backend == "pyg" or (backend == "auto" and (WITH_PYG_LIB or WITH_TORCH_SPARSE)):
        return NeighborLoader(data, fanout, input_nodes=input_nodes,
                              batch_size=int(batch_size), shuffle=shuffle,
                              drop_last=drop_last, **kwargs)
    return NodeLoader(data, TorchNeighborSampler(data, fanout),
                      input_nodes=input_nodes, batch_size=int(batch_size),
                      shuffle=shuffle, drop_last=drop_last, **kwargs)


def check_num_negatives(num_negatives: Any, num_nodes: Optional[int]) -> int:
    """``num_negatives`` (sampled global negatives per batch) as an ``int``.

    Raises:
        ValueError: If it is not an integer in ``[1, num_nodes]`` (no upper
            bound when ``num_nodes`` is :obj:`None`).
    """
    try:
        ok = not isinstance(num_negatives, bool) and \
            operator.index(num_negatives) >= 1
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"num_negatives must be a positive integer (nodes "
                         f"drawn per batch as extra negatives), got "
                         f"{num_negatives!r}")
    if num_nodes is not None and num_negatives > num_nodes:
        raise ValueError(f"num_negatives={num_negatives} exceeds the graph's "
                         f"{num_nodes} nodes")
    return int(num_negatives)


def draw_nodes(num_nodes: int, num: int) -> Tensor:
    r"""``num`` distinct nodes of ``range(num_nodes)``, uniformly at random
    (every ordered ``num``-subset is equally likely), from torch's generator.

    Costs :math:`O(\text{num})` when ``num`` is below half the nodes (the
    first distinct values of :math:`2 \cdot \text{num}` uniform draws,
    redrawn in the rare case of too few), else one permutation.

    Raises:
        ValueError: If ``num`` is not in ``[1, num_nodes]``.
    """
    n, m = int(num_nodes), int(num)
    if not 1 <= m <= n:
        raise ValueError(f"cannot draw {num} distinct nodes of {num_nodes}")
    if 2 * m >= n:
        return torch.randperm(n)[:m]
    while True:
        cand = torch.randint(n, (2 * m,))
        uniq, inv = torch.unique(cand, return_inverse=True)
        if uniq.numel() >= m:
            first = torch.full((uniq.numel(),), cand.numel())
            first.scatter_reduce_(0, inv, torch.arange(cand.numel()), "amin")
            return uniq[torch.argsort(first)][:m]


class _FreshDraws(torch.utils.data.Sampler):
    """``num_batches`` consecutive draws of ``num`` distinct nodes
    (:func:`draw_nodes`), a fresh draw per batch, drawn when the loader
    asks for them.
    """

    def __init__(self, num_nodes: int, num: int, num_batches: int):
        self.num_nodes, self.num, self.num_batches = num_nodes, num, num_batches

    def __iter__(self) -> Iterator[int]:
        for _ in range(self.num_batches):
            yield from draw_nodes(self.num_nodes, self.num).tolist()

    def __len__(self) -> int:
        return self.num * self.num_batches


class GlobalNegativesLoader:
    r"""Node batches with sampled global negatives: each batch of ``loader``
    joined with the sampled subgraph of ``num_negatives`` nodes drawn
    uniformly at random from the whole graph.

    For every batch of :math:`B` seeds, :math:`M` = ``num_negatives``
    distinct nodes are drawn afresh (:func:`draw_nodes`, torch's
    generator, so seeded runs repeat; they may include seeds of the
    batch), their ``num_neighbors`` subgraph is sampled like the seeds'
    (:func:`neighbor_loader`, the same back end), and the batch is the
    **disjoint union** of the two subgraphs: the seeds' subgraph as
    ``loader`` gave it (seeds first), then the drawn nodes' subgraph (drawn
    nodes first, from row ``negatives_start``), with ``num_negatives`` =
    :math:`M` set. Node and edge attributes (``x``, ``n_id``, ``e_id``,
    ``edge_index`` shifted, edge weights ...) are concatenated; the other
    attributes (``batch_size`` :math:`= B`, ...) are those of the seeds'
    batch. A node in both subgraphs appears twice, once in each
    neighbourhood, so the seeds' rows are computed on the same subgraph as
    without the negatives, and the two samplings stay independent (one
    loader over seeds and drawn nodes together would need them distinct).

    :meth:`gcl.methods.TwoViewMethod.batch_step` draws the two views over
    the union (one feature mask per view, as on the full graph) and uses
    the drawn nodes' embeddings as negatives only
    (:func:`gcl.losses.extra_negatives`).

    Args:
        loader (Iterable[Data]): The seeds' batches (e.g.
            :func:`neighbor_loader`), with a length.
        data (Data): The graph ``loader`` samples from (on the CPU).
        num_negatives (int): Drawn nodes :math:`M` per batch,
            :math:`1 \leq M \leq N`.
        num_neighbors (Sequence[int]): Neighbours sampled per hop of the
            drawn nodes (use the seeds').
        backend (str, optional): The sampling back end (see
            :func:`neighbor_loader`). (default: :obj:`"auto"`)
        **kwargs: Further :class:`torch.utils.data.DataLoader` options of
            the drawn nodes' loader (``num_workers``, ...).
    """

    def __init__(self, loader: Iterable[Data], data: Data, num_negatives: int,
                 num_neighbors: Sequence[int], backend: str = "auto",
                 **kwargs: Any):
        self.loader = loader
        self.num_negatives = check_num_negatives(num_negatives, data.num_nodes)
        draws = _FreshDraws(data.num_nodes, self.num_negatives, len(loader))
        self.negatives = neighbor_loader(data, self.num_negatives, num_neighbors,
                                         shuffle=False, drop_last=True,
                                         backend=backend, sampler=draws,
                                         **kwargs)
        self._node_keys = {k for k in data.keys() if data.is_node_attr(k)
                           and k != "edge_index"} | {"n_id"}
        self._edge_keys = {k for k in data.keys() if data.is_edge_attr(k)
                           and k != "edge_index"} | {"e_id"}

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Data]:
        for batch, negatives in zip(self.loader, self.negatives):
            yield self.join(batch, negatives)

    def join(self, batch: Data, negatives: Data) -> Data:
        """The disjoint union of a seeds' batch and a drawn nodes' batch
        (see the class docstring).
        """
        out = copy.copy(batch)
        first = batch.num_nodes
        for key in batch.keys():
            if key in self._node_keys or key in self._edge_keys:
                out[key] = torch.cat([batch[key], negatives[key]], dim=0)
        out.edge_index = torch.cat([batch.edge_index,
                                    negatives.edge_index + first], dim=1)
        out.num_nodes = first + negatives.num_nodes
        out.negatives_start = first
        out.num_negatives = int(negatives.batch_size)
        return out

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(num_negatives={self.num_negatives}, "
                f"batches={len(self)})")
