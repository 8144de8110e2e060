"""Uniform edge dropping (GRACE's edge removal)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.utils import dropout_edge

from gcl.augment.base import Augmentor

__all__ = ["EdgeDrop", "subset_edges"]


def subset_edges(data: Data, keep: Tensor) -> Data:
    """Keeps the edges selected by ``keep`` (bool mask or index) in ``data``.

    Every edge-level attribute (``edge_index``, ``edge_weight``,
    ``edge_attr`` and any other attribute PyG recognises as edge-level) is
    indexed the same way, so they stay aligned with the kept edges.
    ``data`` must be a copy: its attributes are replaced, not written into.
    """
    for key in data.edge_attrs():
        value = data[key]
        data[key] = value[:, keep] if key == "edge_index" else value[keep]
    return data


class EdgeDrop(Augmentor):
    r"""Removes each edge with probability :math:`p`.

    From `"Deep Graph Contrastive Representation Learning"
    <https://arxiv.org/abs/2006.04131>`_ (GRACE). By default every *directed*
    entry of ``edge_index`` is kept independently with probability
    :math:`1 - p`, exactly like the official code (PyG ``dropout_edge`` with
    ``force_undirected=False``), so a view of an undirected graph is in
    general directed. With ``force_undirected=True`` both directions of an
    edge share one draw (pairs are matched by their endpoints, no matter the
    order of ``edge_index``), and self-loops are drawn once.

    Edge weights and attributes are subset with the same mask.

    Args:
        p (float): Drop probability in :math:`[0, 1]`.
        force_undirected (bool, optional): Drop both directions of an edge
            together. (default: :obj:`False`)
    """

    def __init__(self, p: float, force_undirected: bool = False):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"EdgeDrop probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.force_undirected = force_undirected

    def forward(self, data: Data) -> Data:
        """Returns a copy of ``data`` with edges dropped."""
        self._check(data)
        if self.p == 0.0 or data.edge_index is None:
            return data
        edge_index = data.edge_index
        if self.force_undirected:
            n = data.num_nodes
            lo, hi = edge_index.min(dim=0).values, edge_index.max(dim=0).values
            _, pair = torch.unique(lo * n + hi, return_inverse=True)
            draw = torch.rand(int(pair.max()) + 1, device=edge_index.device)
            keep = draw[pair] >= self.p
        else:
            _, keep = dropout_edge(edge_index, p=self.p)
        return subset_edges(data, keep)

    def __repr__(self) -> str:
        extra = ", force_undirected=True" if self.force_undirected else ""
        return f"{self.__class__.__name__}(p={self.p}{extra})"
