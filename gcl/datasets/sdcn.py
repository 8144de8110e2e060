"""SDCN's deep-clustering benchmarks (ACM, Citeseer) read from their text files.

*Structural Deep Clustering Network* (Bo et al., WWW 2020,
https://arxiv.org/abs/2002.01633; code https://github.com/bdy9527/SDCN) ships its
data sets as three text files per set, which PamC, DFCN, AGCN and SCGC reuse:

* ``<name>.txt``: the dense feature matrix, one node per line, blank-separated
  (stored gzipped as ``<name>.txt.gz``; ``np.loadtxt`` reads both);
* ``<name>_graph.txt``: one edge ``i j`` per line (0-based; both directions
  listed);
* ``<name>_label.txt``: one integer class per line.

:func:`read_sdcn` turns them into a PyG ``Data``; :func:`gcl.datasets.load`
(``"ACM-SDCN"``, ``"Citeseer-SDCN"``) calls it and adds the normalisation.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import remove_self_loops, to_undirected

from gcl.datasets.registry import DatasetSpec

__all__ = ["SDCN_LABEL_OFFSET", "read_sdcn"]

#: Smallest class id in each SDCN label file (subtracted, so ``y`` is 0-based):
#: Citeseer's ``cite_label.txt`` numbers its six classes 1..6.
SDCN_LABEL_OFFSET = {"acm": 0, "cite": 1}


def read_sdcn(spec: DatasetSpec, raw_dir: str | Path) -> Data:
    r"""Reads one SDCN data set from ``raw_dir`` as a PyG ``Data``.

    The files are read as SDCN's ``load_data`` and ``load_graph`` read them: the
    features as given (no normalisation), the labels shifted by
    :data:`SDCN_LABEL_OFFSET` so that they run over :math:`0..C-1` (Citeseer's
    1..6 become 0..5; ACM's are already 0..2), and the edge list made symmetric
    (SDCN symmetrises the adjacency; the files already list both directions),
    coalesced and without self-loops.

    Args:
        spec (DatasetSpec): A registry entry of the ``"sdcn"`` family.
        raw_dir (str | Path): Folder with ``<stem>.txt.gz`` (or ``<stem>.txt``),
            ``<stem>_graph.txt`` and ``<stem>_label.txt``.

    Returns:
        Data: ``x`` (float32 ``[N, F]``), ``edge_index`` (``[2, E]``), ``y``
        (long ``[N]``, 0-based) and ``num_nodes``.

    Raises:
        FileNotFoundError: A file is missing (its name is given).
        ValueError: The files disagree (row counts, edge ids out of range,
            labels outside :math:`0..C-1` after the shift) or are malformed.
    """
    if spec.family != "sdcn":
        raise ValueError(f"{spec.name} is not an SDCN data set")
    raw_dir = Path(raw_dir)
    stem = spec.folder
    paths = {}
    for name in spec.raw_files:
        path = spec.find_file(raw_dir, name)
        if path is None:
            raise FileNotFoundError(f"{spec.name}: missing {raw_dir / name}")
        paths[name] = path
    feat_path = paths[f"{stem}.txt.gz"]
    graph_path = paths[f"{stem}_graph.txt"]
    label_path = paths[f"{stem}_label.txt"]

    labels = _loadtxt(label_path, np.int64, 1)
    n = labels.size
    y = torch.from_numpy(labels - SDCN_LABEL_OFFSET.get(stem, 0))
    if n == 0:
        raise ValueError(f"{label_path} holds no labels")
    if int(y.min()) < 0 or int(y.max()) >= spec.num_classes:
        raise ValueError(
            f"{label_path}: labels run over {int(labels.min())}..{int(labels.max())}"
            f"; expected {SDCN_LABEL_OFFSET.get(stem, 0)}.."
            f"{SDCN_LABEL_OFFSET.get(stem, 0) + spec.num_classes - 1}")

    x = _loadtxt(feat_path, np.float32, 2)
    if x.ndim != 2 or x.shape[0] != n:
        raise ValueError(f"{feat_path} has shape {x.shape}; expected {n} rows "
                         f"(one per line of {label_path.name})")

    edges = _loadtxt(graph_path, np.int64, 2)
    if edges.size == 0:  # an empty file: a graph without edges
        edges = edges.reshape(0, 2)
    if edges.ndim != 2 or edges.shape[1] != 2:
        raise ValueError(f"{graph_path} must hold one 'i j' pair per line, got "
                         f"shape {edges.shape}")
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"{graph_path} has node ids in {edges.min()}.."
                         f"{edges.max()}; expected 0..{n - 1}")
    edge_index = torch.from_numpy(np.ascontiguousarray(edges.T))
    edge_index, _ = remove_self_loops(edge_index)
    edge_index = to_undirected(edge_index, num_nodes=n)
    return Data(x=torch.from_numpy(x), edge_index=edge_index, y=y, num_nodes=n)


def _loadtxt(path: Path, dtype: type, ndmin: int) -> np.ndarray:
    try:
        with warnings.catch_warnings():  # an empty file is reported below
            warnings.filterwarnings("ignore", "loadtxt: input contained no data")
            return np.loadtxt(path, dtype=dtype, ndmin=ndmin)
    except ValueError as err:
        raise ValueError(f"cannot parse {path}: {err}") from err
