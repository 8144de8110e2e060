"""HeCo's heterogeneous sets as multiplex graphs of meta-path relations."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.utils import coalesce, remove_self_loops

from gcl.datasets.errors import DatasetNotFoundError
from gcl.datasets.paths import data_root

__all__ = ["HECO_METAPATHS", "heco_dir", "load_heco_multiplex"]

#: Meta-path graphs over the target nodes of each HeCo data set (file stems).
HECO_METAPATHS = {
    "acm": ("pap", "psp"),
    "dblp": ("apa", "apcpa", "aptpa"),
    "aminer": ("pap", "prp"),
    "freebase": ("mam", "mdm", "mwm"),
    "imdb": ("mam", "mdm", "mkm"),
}
_NAMES = {"acm": "ACM", "dblp": "DBLP", "aminer": "AMiner",
          "freebase": "Freebase", "imdb": "IMDB"}


def heco_dir(name: str, root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of a HeCo data set: ``<root>/heco/<name>``.

    Args:
        name (str): ``"acm"``, ``"dblp"``, ``"aminer"``, ``"freebase"`` or
            ``"imdb"`` (case-insensitive).
        root (str | PathLike, optional): Data root (see
            :func:`gcl.datasets.load`). (default: :obj:`None`)

    Raises:
        ValueError: Unknown ``name``.
        DatasetNotFoundError: The folder does not exist.
    """
    key = str(name).lower()
    if key not in HECO_METAPATHS:
        raise ValueError(f"unknown HeCo data set {name!r}; known: "
                         f"{', '.join(HECO_METAPATHS)}")
    folder = data_root(root) / "heco" / key
    if not folder.is_dir():
        raise DatasetNotFoundError(
            f"{_NAMES[key]}: no folder {folder}. Put HeCo's data/{key}/ files "
            f"(labels.npy, the meta-path .npz files, the split .npy files) "
            f"there, or set GCL_DATA to a root holding heco/{key}/.",
            name=_NAMES[key], raw_dir=str(folder))
    return folder


def load_heco_multiplex(
    name: str,
    root: str | os.PathLike[str] | None = None,
    metapaths: Sequence[str] | None = None,
    self_loops: bool = False,
    normalize: bool = True,
    sparse_features: bool = False,
) -> Data:
    r"""Loads a HeCo data set as a multiplex graph: one homogeneous graph
    per meta-path over the target nodes, with the target nodes' features.

    The files are those of HeCo (Wang et al., KDD 2021,
    https://github.com/liun-online/HeCo), read as HeCo's own loaders read
    them: ``labels.npy``, the target features ``<t>_feat.npz`` (row-normalised
    like HeCo's ``preprocess_features``: each row divided by its sum; ACM
    papers, DBLP authors, IMDB movies) or the identity where HeCo uses one
    (AMiner, Freebase; returned sparse), and the meta-path adjacencies
    ``<metapath>.npz`` (any non-zero is an edge; HeCo's include the diagonal,
    dropped unless ``self_loops``). IMDB's labels 1..3 are shifted to 0..2.
    The fixed splits are read by :func:`gcl.eval.load_heco_splits` from
    :func:`heco_dir`.

    Args:
        name (str): ``"acm"`` (PAP, PSP), ``"dblp"`` (APA, APCPA, APTPA),
            ``"aminer"`` (PAP, PRP), ``"freebase"`` (MAM, MDM, MWM) or
            ``"imdb"`` (MAM, MDM, MKM).
        root (str | PathLike, optional): Data root holding ``heco/<name>/``.
            (default: :obj:`None`, ``$GCL_DATA``)
        metapaths (Sequence[str], optional): Meta-paths to load.
            (default: all of :data:`HECO_METAPATHS`)
        self_loops (bool, optional): Keep the meta-path graphs' diagonal.
            (default: :obj:`False`)
        normalize (bool, optional): Row-normalise the features as HeCo does.
            (default: :obj:`True`)
        sparse_features (bool, optional): Return ``x`` as sparse COO.
            (default: :obj:`False`; identity features are always sparse)

    Returns:
        Data: ``x`` ``[N, F]``, ``y`` ``[N]`` (long), ``relations`` (a dict
        meta-path -> ``edge_index`` ``[2, E_r]``, coalesced, both directions),
        ``edge_index`` (their union, so the graph also passes as a plain
        homogeneous graph), ``name`` and ``metapaths`` (the keys of
        ``relations``, in order).
    """
    import scipy.sparse as sp

    key = str(name).lower()
    folder = heco_dir(key, root)
    known = HECO_METAPATHS[key]
    metapaths = tuple(known if metapaths is None else metapaths)
    unknown = [m for m in metapaths if m not in known]
    if unknown or not metapaths:
        raise ValueError(f"{_NAMES[key]} has meta-paths {', '.join(known)}; got "
                         f"{list(metapaths)}")
    y = np.load(folder / "labels.npy")
    y = torch.as_tensor(y.astype(np.int64) - int(y.min()))
    n = y.numel()

    feat = folder / f"{known[0][0]}_feat.npz"
    if feat.is_file():
        mat = sp.load_npz(feat).astype(np.float64)
        if normalize:
            rowsum = np.asarray(mat.sum(1)).ravel()
            inv = np.divide(1.0, rowsum, out=np.zeros_like(rowsum),
                            where=rowsum != 0)
            mat = sp.diags(inv) @ mat
        mat = mat.tocoo()
        x = torch.sparse_coo_tensor(
            np.vstack([mat.row, mat.col]), mat.data.astype(np.float32),
            mat.shape, check_invariants=False).coalesce()
        if not sparse_features:
            x = x.to_dense()
    else:  # HeCo's identity features (AMiner, Freebase)
        idx = torch.arange(n)
        x = torch.sparse_coo_tensor(torch.stack([idx, idx]), torch.ones(n),
                                    (n, n), check_invariants=False).coalesce()
    if x.size(0) != n:
        raise ValueError(f"{feat} has {x.size(0)} rows but labels.npy {n}")

    relations = {}
    for mp in metapaths:
        path = folder / f"{mp}.npz"
        if not path.is_file():
            raise DatasetNotFoundError(f"{_NAMES[key]}: missing {path}",
                                       name=_NAMES[key], raw_dir=str(folder),
                                       files=[path.name])
        adj = sp.load_npz(path).tocoo()
        if adj.shape != (n, n):
            raise ValueError(f"{path} has shape {adj.shape}, expected ({n}, {n})")
        keep = adj.data != 0
        ei = torch.as_tensor(np.vstack([adj.row[keep], adj.col[keep]]),
                             dtype=torch.long)
        if not self_loops:
            ei, _ = remove_self_loops(ei)
        relations[mp] = coalesce(ei, num_nodes=n)
    union = coalesce(torch.cat(list(relations.values()), dim=1), num_nodes=n)
    return Data(x=x, y=y, edge_index=union, relations=relations,
                name=_NAMES[key], metapaths=list(metapaths))
