"""Load an OGB link-prediction data set (``ogbl-ddi``, ...) with its official split.

Raw files are read from ``<root>/ogb/<name_with_underscores>/`` (``RELEASE_v1.txt``,
``raw/``, ``split/``, ``mapping/``, the layout the ``ogb`` package creates), where the
root is resolved as in :func:`gcl.datasets.load` (argument, ``$GCL_DATA``, user cache).
The root may be read-only: OGB writes ``processed/`` next to ``raw/``, so it is pointed
at a writable mirror in the cache directory, ``<cache>/ogb/<key>/<name>/``, whose
``raw``, ``split`` and ``mapping`` are symlinks (or copies, where symlinks fail) to the
real folders and whose release note is a copy. Nothing is written under the root
unless a download was needed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.datasets import _ogb
from gcl.datasets.paths import data_root

__all__ = ["OGB_LINK_FEATURES", "load_ogb_link", "ogb_link_dir"]

#: Values of ``features`` accepted by :func:`load_ogb_link`.
OGB_LINK_FEATURES = (None, "identity", "onehot_degree")


def _meta(name: str) -> dict[str, str]:
    """OGB's ``master.csv`` entry of a homogeneous link-prediction set."""
    import pandas as pd
    from ogb import linkproppred

    master = pd.read_csv(Path(linkproppred.__file__).parent / "master.csv",
                         index_col=0, keep_default_na=False)
    homogeneous = [k for k in master.keys()
                   if master[k]["is hetero"] != "True"
                   and master[k]["task type"] == "link prediction"]
    if name not in master:
        raise ValueError(f"unknown OGB link data set {name!r}; known: "
                         f"{', '.join(homogeneous)}")
    if name not in homogeneous:
        raise ValueError(f"{name} is a heterogeneous / knowledge-graph set; "
                         f"load_ogb_link supports {', '.join(homogeneous)}")
    return dict(master[name])


def _required_files(meta: dict[str, str]) -> list[str]:
    """Files (relative to the data set folder) OGB needs without downloading."""
    split = f"split/{meta['split']}"
    return _ogb.raw_files(meta) + [f"{split}/{p}.pt"
                                   for p in ("train", "valid", "test")]


def ogb_link_dir(name: str = "ogbl-ddi",
                 root: str | os.PathLike[str] | None = None) -> Path:
    """The folder where an OGB link data set is expected under a data root.

    Args:
        name (str, optional): OGB name. (default: ``"ogbl-ddi"``)
        root (str | PathLike, optional): Data root, resolved as in
            :func:`gcl.datasets.load`. (default: :obj:`None`)

    Returns:
        Path: ``<root>/ogb/<name with '-' replaced by '_'>``, e.g.
        ``<root>/ogb/ogbl_ddi``.
    """
    return data_root(root) / "ogb" / name.replace("-", "_")


def _open(name: str, src: Path) -> tuple[Data, dict[str, Any]]:
    """OGB's ``PygLinkPropPredDataset`` over a writable mirror of ``src``."""
    from ogb.linkproppred import PygLinkPropPredDataset

    def read(root: Path) -> tuple[Data, dict[str, Any]]:
        dataset = PygLinkPropPredDataset(name, root=str(root))
        return dataset[0], dataset.get_edge_split()

    return _ogb.open_mirrored(src, read)


def _features(data: Data, features: str | None) -> Tensor | None:
    n = int(data.num_nodes)
    if features is None:
        return data.get("x")
    if features == "identity":
        return torch.eye(n)
    # onehot_degree: degree in data.edge_index, the training graph.
    from torch_geometric.utils import degree

    deg = degree(data.edge_index[0], n, dtype=torch.long)
    x = torch.zeros(n, int(deg.max()) + 1 if n else 1)
    x[torch.arange(n), deg] = 1.0
    return x


def load_ogb_link(
    name: str = "ogbl-ddi",
    root: str | os.PathLike[str] | None = None,
    features: str | None = None,
) -> tuple[Data, dict[str, dict[str, Tensor]]]:
    r"""Load an OGB link-prediction graph and its official edge split.

    From "Open Graph Benchmark: Datasets for Machine Learning on Graphs" (Hu et
    al., NeurIPS 2020, https://arxiv.org/abs/2005.00687). Supports the
    homogeneous ``ogbl-*`` sets (``ogbl-ddi``, ``ogbl-collab``, ``ogbl-ppa``,
    ``ogbl-citation2``, ``ogbl-vessel``); only ``ogbl-ddi`` is in the offline data.
    Evaluate with :func:`gcl.eval.ogb_link_prediction` (Hits@K).

    Files are read from ``<root>/ogb/<name_with_underscores>/`` (see
    :func:`ogb_link_dir`), with the root resolved as in :func:`gcl.datasets.load`
    (argument, else ``$GCL_DATA``, else the user cache). The root may be read-only:
    processing happens in a mirror in ``$GCL_CACHE`` and is reused. If the files are
    missing they are downloaded (not with ``GCL_OFFLINE=1``); offline,
    :class:`~gcl.datasets.DatasetNotFoundError` says where to put which files. The
    ``torch.load`` incompatibility of ogb 1.3.6 with torch >= 2.6 is handled
    inside (``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` is set during the load and
    restored afterwards); users need not set anything.

    ``ogbl-ddi`` (4267 drugs, 1,067,911 training interactions) has **no node
    features**, and every encoder in :mod:`gcl` needs ``data.x``. Choose one:

    - ``features=None`` (default): ``data.x`` as OGB gives it (:obj:`None` for
      ddi); set it yourself, e.g. a learnable ``torch.nn.Embedding``;
    - ``"identity"``: ``torch.eye(N)``, one learnable input column per node
      (the usual choice for ddi; 4267 x 4267 float32 = 73 MB, dense);
    - ``"onehot_degree"``: one-hot node degree in the training graph,
      ``[N, max_degree + 1]`` (ddi: max degree 2234, so 4267 x 2235, 38 MB).
      Degrees come from ``data.edge_index`` (training edges only), so they leak
      no held-out edge.

    A feature option replaces ``data.x`` also for sets that have features.

    Args:
        name (str, optional): OGB name. (default: ``"ogbl-ddi"``)
        root (str | PathLike, optional): Data root holding ``ogb/``.
            (default: :obj:`None`)
        features (str, optional): :obj:`None`, ``"identity"`` or
            ``"onehot_degree"``. (default: :obj:`None`)

    Returns:
        tuple[Data, dict]: ``data`` with ``edge_index`` = the training graph (both
        directions; ddi: ``[2, 2135822]``), ``num_nodes``, ``x`` and ``name``; and
        ``split_edge``, OGB's ``get_edge_split()`` dictionary
        ``split_edge[part][key]`` with parts train, valid and test, key edge
        in every part and edge_neg in valid and test, each ``[E, 2]`` (ddi:
        valid 133489 / 101882, test 133489 / 95599).

    Raises:
        ValueError: Unknown or heterogeneous ``name``, unknown ``features``.
        DatasetNotFoundError: Files absent and not downloadable.

    Example:
        >>> from gcl.datasets import load_ogb_link  # doctest: +SKIP
        >>> data, split_edge = load_ogb_link("ogbl-ddi", features="identity")
        >>> valid = split_edge["valid"]
        >>> data.num_nodes, valid["edge"].shape
        (4267, torch.Size([133489, 2]))
    """
    if features not in OGB_LINK_FEATURES:
        raise ValueError(f"features must be one of {OGB_LINK_FEATURES}, got "
                         f"{features!r}")
    meta = _meta(name)
    target = ogb_link_dir(name, root)
    files = _required_files(meta)
    data, split_edge = _open(name, _ogb.locate(name, meta, target, files))
    data.x = _features(data, features)
    data.name = name
    return data, split_edge
