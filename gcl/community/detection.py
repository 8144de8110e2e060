r"""Community detection (Leiden, Louvain) on the undirected simple graph."""

from __future__ import annotations

import random
from typing import Optional, Union

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

__all__ = ["detect", "undirected_pairs"]

_METHODS = ("leiden", "louvain")


def _graph_input(data: Union[Data, Tensor],
                 num_nodes: Optional[int]) -> tuple[Tensor, int]:
    """Returns ``(edge_index, num_nodes)`` of a ``Data`` or an ``edge_index``,
    checking shape, dtype and range.
    """
    if isinstance(data, Data):
        edge_index = data.edge_index
        if edge_index is None:
            raise ValueError("data.edge_index is missing")
        if num_nodes is None:
            num_nodes = data.num_nodes
    elif isinstance(data, Tensor):
        edge_index = data
    else:
        raise TypeError(f"expected a torch_geometric.data.Data or an "
                        f"edge_index tensor, got {type(data).__name__}")
    if edge_index.dim() != 2 or edge_index.size(0) != 2 or \
            edge_index.dtype != torch.long:
        raise ValueError(f"edge_index must be a [2, E] long tensor, got shape "
                         f"{tuple(edge_index.shape)} and dtype {edge_index.dtype}")
    if num_nodes is None:
        num_nodes = int(edge_index.max()) + 1 if edge_index.numel() else 0
    num_nodes = int(num_nodes)
    if num_nodes <= 0:
        raise ValueError(f"the graph has no nodes (num_nodes={num_nodes})")
    if edge_index.numel() and (int(edge_index.min()) < 0
                               or int(edge_index.max()) >= num_nodes):
        raise ValueError(
            f"edge_index refers to node {int(edge_index.max())} (or "
            f"{int(edge_index.min())}) but there are {num_nodes} nodes "
            f"(0..{num_nodes - 1})")
    return edge_index, num_nodes


def undirected_pairs(edge_index: Tensor, num_nodes: int) -> Tensor:
    r"""Returns the edges of the undirected simple graph of ``edge_index``.

    Every entry :math:`(u, v)` becomes the pair :math:`(\min(u, v), \max(u,
    v))` and duplicates are removed, so :math:`(u, v)` and :math:`(v, u)`,
    and repeated entries, give one edge; a self-loop :math:`(u, u)` is kept
    once. This is the edge set of networkx's ``Graph`` built from the entries
    (``to_networkx(data, to_undirected=True)`` for a symmetric
    ``edge_index``).

    Args:
        edge_index (torch.Tensor): Edge indices, ``[2, E]``.
        num_nodes (int): Number of nodes :math:`N`.

    Returns:
        torch.Tensor: The pairs, ``[2, m]``, sorted, with ``row <= col``.
    """
    lo = torch.minimum(edge_index[0], edge_index[1])
    hi = torch.maximum(edge_index[0], edge_index[1])
    key = torch.unique(lo * num_nodes + hi)
    return torch.stack([key // num_nodes, key % num_nodes])


def _import(name: str):
    try:
        return __import__(name)
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"community detection needs the '{name}' package "
            f"(pip install igraph leidenalg)") from e


def detect(data: Union[Data, Tensor], method: str = "leiden", seed: int = 0,
           resolution: float = 1.0, n_iterations: int = 2,
           num_nodes: Optional[int] = None) -> Tensor:
    r"""Partitions the nodes into communities by modularity optimisation.

    The graph is treated as undirected, unweighted and simple (see
    :func:`undirected_pairs`): CSGCL's official code builds
    ``to_networkx(data, to_undirected=True)`` and runs cdlib on it. Isolated
    nodes get a community of their own.

    * ``"leiden"``: `"From Louvain to Leiden: guaranteeing well-connected
      communities" <https://arxiv.org/abs/1810.08473>`_ (Traag et al., 2019)
      through ``leidenalg.find_partition`` with
      ``ModularityVertexPartition`` — what cdlib's ``leiden`` (CSGCL's
      default ``--cd leiden``) calls — or, for ``resolution != 1``,
      ``RBConfigurationVertexPartition`` with that resolution (identical at
      resolution 1). cdlib passes no seed, so the official communities change
      from run to run; here ``seed`` is handed to leidenalg and the result
      repeats exactly for a given graph, seed and leidenalg version.
    * ``"louvain"``: `"Fast unfolding of communities in large networks"
      <https://arxiv.org/abs/0803.0476>`_ (Blondel et al., 2008) through
      igraph's ``community_multilevel``. igraph draws from the Python object
      set by ``igraph.set_random_number_generator``; this function installs a
      private ``random.Random(seed)`` for the call and then restores Python's
      ``random`` module (igraph's default), so the result repeats and the
      global ``random`` state is left alone. (cdlib's ``louvain`` uses the
      ``python-louvain`` package instead, a different implementation of the
      same algorithm.)

    Args:
        data (torch_geometric.data.Data or torch.Tensor): The graph, or its
            ``edge_index`` (``[2, E]``).
        method (str, optional): ``"leiden"`` or ``"louvain"``.
            (default: :obj:`"leiden"`)
        seed (int, optional): Random seed of the detection.
            (default: :obj:`0`)
        resolution (float, optional): Modularity resolution :math:`\gamma`;
            1 is Newman's modularity. (default: :obj:`1.0`)
        n_iterations (int, optional): Leiden iterations; a negative value
            iterates until the partition stops changing. leidenalg's and
            cdlib's default is 2. (default: :obj:`2`)
        num_nodes (int, optional): Number of nodes when ``data`` is an
            ``edge_index``. (default: :obj:`None`, ``max index + 1``)

    Returns:
        torch.LongTensor: The community of every node, ``[N]``, numbered
        :math:`0..K-1` (on the device of ``edge_index``).
    """
    edge_index, n = _graph_input(data, num_nodes)
    method = str(method).lower()
    if method not in _METHODS:
        raise ValueError(f"unknown community detection method {method!r}; "
                         f"choose from {', '.join(_METHODS)}")
    if not resolution > 0:
        raise ValueError(f"resolution must be positive, got {resolution}")
    if n_iterations == 0:
        raise ValueError("n_iterations must be positive (or negative: until "
                         "convergence), got 0")
    ig = _import("igraph")
    pairs = undirected_pairs(edge_index, n).t().cpu().numpy()
    graph = ig.Graph(n=n)
    graph.add_edges(pairs)  # from the array: faster than Graph(edges=...)
    if method == "leiden":
        la = _import("leidenalg")
        if resolution == 1.0:
            part = la.find_partition(graph, la.ModularityVertexPartition,
                                     n_iterations=n_iterations, seed=int(seed))
        else:
            part = la.find_partition(graph, la.RBConfigurationVertexPartition,
                                     n_iterations=n_iterations, seed=int(seed),
                                     resolution_parameter=float(resolution))
        membership = part.membership
    else:
        ig.set_random_number_generator(random.Random(int(seed)))
        try:
            membership = graph.community_multilevel(
                resolution=float(resolution)).membership
        finally:
            ig.set_random_number_generator(random)
    membership = torch.from_numpy(np.asarray(membership, dtype=np.int64))
    # Both libraries number communities 0..K-1 already; the sorted relabelling
    # keeps those labels and would only close gaps.
    _, membership = torch.unique(membership, return_inverse=True)
    return membership.to(edge_index.device)
