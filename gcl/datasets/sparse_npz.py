r"""Read a ``gnn-benchmark`` ``.npz`` graph with sparse features, never dense.

PyG's :class:`~torch_geometric.datasets.Amazon` and
:class:`~torch_geometric.datasets.Coauthor` read their raw ``.npz`` files with
:func:`torch_geometric.io.read_npz`, which builds the dense :math:`N \times F`
feature matrix (476 MiB for Coauthor-CS, 1.1 GiB for Coauthor-Physics) and
binarises it. :class:`~gcl.datasets.SparseFeatures` then turns it back into a
sparse tensor holding under 1 % of the entries. :func:`read_npz_sparse` builds
the same sparse tensor straight from the file's CSR arrays
(``attr_data``/``attr_indices``/``attr_indptr``/``attr_shape``), and
:func:`row_normalize_sparse` row-normalises it on its values, so that
``load(name, sparse_features=True)`` never holds the dense matrix.
"""

from __future__ import annotations

import os

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data
from torch_geometric.io import parse_npz

__all__ = ["read_npz_sparse", "row_normalize_sparse"]

_GRAPH_KEYS = ("adj_data", "adj_indices", "adj_indptr", "adj_shape", "labels")


def read_npz_sparse(path: str | os.PathLike[str], to_undirected: bool = True) -> Data:
    r"""Reads a ``gnn-benchmark`` ``.npz`` file with ``x`` as a sparse tensor.

    Gives what :func:`torch_geometric.io.read_npz` gives, except that ``x`` is
    a coalesced sparse COO ``float32`` tensor (the layout
    :class:`~gcl.datasets.SparseFeatures` returns) built from the CSR arrays
    without the dense matrix. Values are binarised as PyG does
    (``x[x > 0] = 1``: positive entries become 1, others are kept), after
    summing duplicate entries as SciPy's ``todense`` does; entries that are
    zero afterwards are not stored. ``edge_index`` and ``y`` come from PyG's
    own :func:`~torch_geometric.io.parse_npz` (self-loops removed, made
    undirected), so they are the ones PyG's dataset holds, in the same order.

    Args:
        path (str | PathLike): The ``.npz`` file (e.g. ``ms_academic_cs.npz``).
        to_undirected (bool, optional): Make the graph undirected, as
            ``Amazon`` and ``Coauthor`` do. (default: :obj:`True`)

    Returns:
        Data: ``x`` (sparse COO, ``[N, F]``), ``edge_index`` (``[2, E]``),
        ``y`` (``[N]``).
    """
    with np.load(path) as f:
        num_nodes, num_features = (int(s) for s in f["attr_shape"])
        indptr = torch.from_numpy(f["attr_indptr"].astype(np.int64))
        col = torch.from_numpy(f["attr_indices"].astype(np.int64))
        val = torch.from_numpy(np.ascontiguousarray(f["attr_data"]))
        # The graph and labels through PyG's own reader, on zero-width features.
        graph = parse_npz({
            "attr_data": np.zeros(0, dtype=np.float32),
            "attr_indices": np.zeros(0, dtype=np.int64),
            "attr_indptr": np.zeros(num_nodes + 1, dtype=np.int64),
            "attr_shape": (num_nodes, 0),
            **{key: f[key] for key in _GRAPH_KEYS},
        }, to_undirected=to_undirected)
    row = torch.repeat_interleave(torch.arange(num_nodes), indptr.diff())
    x = torch.sparse_coo_tensor(torch.stack([row, col]), val,
                                (num_nodes, num_features),
                                check_invariants=True).coalesce()  # file input
    values = x.values().to(torch.float)
    values = torch.where(values > 0, torch.ones_like(values), values)
    x = _sparse(x.indices(), values, x.size())
    return Data(x=x, edge_index=graph.edge_index, y=graph.y)


def row_normalize_sparse(x: Tensor) -> Tensor:
    r"""Row-normalises a sparse COO matrix to sum to one, as a dense one is.

    .. math::
        \mathbf{x}_i \leftarrow \frac{\mathbf{x}_i}{\max(1, \sum_j x_{ij})}

    the division of :class:`~gcl.datasets.RowNormalizeFeatures` (and of PyG's
    ``NormalizeFeatures`` when the smallest entry is 0), computed on the
    stored values with a sum over rows: an empty row stays empty, as a zero
    row of a dense matrix stays zero. The values equal the dense
    transform's wherever the row sums are exact in ``float32`` (always for
    binary features).

    Args:
        x (Tensor): Sparse COO matrix ``[N, F]``, floating point.

    Returns:
        Tensor: The coalesced normalised matrix (entries that became 0 are
        dropped).
    """
    x = x.coalesce()
    row = x.indices()[0]
    values = x.values()
    sums = values.new_zeros(x.size(0)).index_add_(0, row, values)
    return _sparse(x.indices(), values / sums.clamp(min=1.0)[row], x.size())


def _sparse(indices: Tensor, values: Tensor, size: torch.Size) -> Tensor:
    """Coalesced COO tensor from sorted, unique indices, without the zeros."""
    keep = values != 0
    return torch.sparse_coo_tensor(indices[:, keep], values[keep], size,
                                   is_coalesced=True, check_invariants=False)
