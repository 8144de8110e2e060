"""Load an OGB node-property-prediction graph (``ogbn-arxiv``, ``ogbn-products``).

Raw files are read from ``<root>/ogb/<name_with_underscores>/`` (the folder the
``ogb`` package creates: ``RELEASE_v1.txt``, ``raw/``, ``split/``), processed in a
writable mirror in the cache (the root may be read-only), and downloaded by OGB's
own URL when missing and online. Neither set is in the offline data.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_undirected

from gcl.datasets import _ogb
from gcl.datasets.paths import data_root

__all__ = ["OGB_NODE_SETS", "load_ogb_node", "ogb_node_dir"]

#: The homogeneous OGB node sets :func:`load_ogb_node` reads.
OGB_NODE_SETS = ("ogbn-arxiv", "ogbn-products", "ogbn-proteins", "ogbn-papers100M")


def _meta(name: str) -> dict[str, str]:
    import pandas as pd
    from ogb import nodeproppred

    master = pd.read_csv(Path(nodeproppred.__file__).parent / "master.csv",
                         index_col=0, keep_default_na=False)
    if name not in OGB_NODE_SETS or name not in master:
        raise ValueError(f"unknown OGB node data set {name!r}; load_ogb_node "
                         f"supports {', '.join(OGB_NODE_SETS)}")
    return dict(master[name])


def _required_files(meta: dict[str, str]) -> list[str]:
    """Files (relative to the data set folder) OGB needs without downloading."""
    files = _ogb.raw_files(meta, ("raw/node-label.npz", "raw/node-label.csv.gz"))
    split = f"split/{meta['split']}"
    return files + [f"{split}/{p}.csv.gz" for p in ("train", "valid", "test")]


def ogb_node_dir(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<root>/ogb/<name, - as _>``, e.g. ``<root>/ogb/ogbn_arxiv``."""
    return data_root(root) / "ogb" / name.replace("-", "_")


def _open(name: str, src: Path):
    """OGB's ``PygNodePropPredDataset`` over a writable mirror of ``src``."""
    from ogb.nodeproppred import PygNodePropPredDataset

    def read(root: Path):
        dataset = PygNodePropPredDataset(name, root=str(root))
        return dataset[0], dataset.get_idx_split()

    return _ogb.open_mirrored(src, read)


def load_ogb_node(name: str = "ogbn-arxiv",
                  root: str | os.PathLike[str] | None = None,
                  undirected: bool = True) -> Data:
    r"""Load an OGB node-classification graph with its official split.

    From "Open Graph Benchmark: Datasets for Machine Learning on Graphs" (Hu et
    al., NeurIPS 2020, https://arxiv.org/abs/2005.00687): ``ogbn-arxiv``
    (169,343 papers, 1,166,243 citations, 128 features, 40 classes, split by
    year) and ``ogbn-products`` (2,449,029 products, 61,859,140 co-purchase
    edges, 100 features, 47 classes, split by sales rank), among
    :data:`OGB_NODE_SETS`. Both are too large for full-batch GRACE on most
    devices: train with ``gcl.fit(..., batch_size=...)``.

    The root is resolved as in :func:`gcl.datasets.load`; the files live in
    :func:`ogb_node_dir`. Processing happens in a mirror in ``$GCL_CACHE``, so
    the root may be read-only. Missing files are downloaded (not with
    ``GCL_OFFLINE=1``); offline, :class:`~gcl.datasets.DatasetNotFoundError`
    says where to put which files.

    Args:
        name (str, optional): OGB name. (default: ``"ogbn-arxiv"``)
        root (str | PathLike, optional): Data root holding ``ogb/``.
            (default: :obj:`None`)
        undirected (bool, optional): Add reverse edges (arxiv's citations are
            directed; the contrastive papers train on the symmetric graph).
            (default: :obj:`True`)

    Returns:
        Data: ``x`` (float32), ``edge_index``, ``y`` (``[N]``), boolean
        ``train_mask`` / ``val_mask`` / ``test_mask`` of the official split
        and ``name``.

    Raises:
        ValueError: Unknown ``name``.
        DatasetNotFoundError: Files absent and not downloadable.
    """
    meta = _meta(name)
    target = ogb_node_dir(name, root)
    files = _required_files(meta)
    graph, split = _open(name, _ogb.locate(name, meta, target, files))
    n = int(graph.num_nodes)
    edge_index = graph.edge_index
    if undirected:
        edge_index = to_undirected(edge_index, num_nodes=n)
    data = Data(x=graph.x.float() if graph.x is not None else None,
                edge_index=edge_index, y=graph.y.view(-1).long(), num_nodes=n)
    for part, key in (("train", "train_mask"), ("valid", "val_mask"),
                      ("test", "test_mask")):
        mask = torch.zeros(n, dtype=torch.bool)
        mask[split[part]] = True
        data[key] = mask
    data.name = name
    return data
