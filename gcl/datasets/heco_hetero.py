r"""HeCo's heterogeneous sets (and MEOW's IMDB) as PyG ``HeteroData``.

The files are those of HeCo ("Self-supervised Heterogeneous Graph Neural
Network with Co-contrastive Learning", Wang et al., KDD 2021,
https://github.com/liun-online/HeCo, ``data/``) and of MEOW (Yu et al., SDM
2023, https://github.com/jianxiangyu/MEOW, ``data/imdb``), laid out as
``<root>/heco/<name>/``. :func:`load_heco_hetero` reads the relation edge
lists (``pa.txt``, ...), composes the meta-path graphs with path counts from
them (:func:`~gcl.datasets.add_metapaths`), and adds the features, labels, the
shipped 20/40/60 splits and HeCo's positive pairs. :data:`HECO_SCHEMAS` holds
each set's network schema.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from gcl.datasets.errors import DatasetNotFoundError
from gcl.datasets.heco import heco_dir
from gcl.datasets.metapath import add_metapaths
from gcl.datasets.metapath2vec import metapath2vec_features
from gcl.datasets.paths import cache_dir, data_root

__all__ = ["HECO_SCHEMAS", "HeteroSchema", "load_heco_hetero"]

#: Labelled target nodes per class of the shipped splits.
HECO_SHOTS = (20, 40, 60)
_FEATURES = ("heco", "meow", "metapath2vec")
_PARTS = ("train", "val", "test")


@dataclass(frozen=True)
class HeteroSchema:
    r"""The network schema of one HeCo-format data set.

    Args:
        name (str): Canonical name, e.g. ``"ACM-HeCo"``.
        folder (str): Folder under ``<root>/heco/``.
        target (str): The labelled node type.
        num_nodes (dict[str, int]): Node count per type, target first.
        relations (dict[str, tuple[str, str]]): Relation file stem (``"pa"``
            for ``pa.txt``, one ``id id`` pair per row) -> the node types of
            its two columns.
        metapaths (dict[str, tuple[str, ...]]): Meta-path name (HeCo's file
            stem) -> node types along it, in HeCo's order of meta-paths.
        features (dict[str, dict[str, str]]): Per style (``"heco"``,
            ``"meow"``): node type -> feature file; types not listed get
            one-hot (identity) features. A name ending in ``!`` is used
            without row normalisation.
        schema_neighbors (tuple[str, ...]): HeCo's network-schema neighbour
            types, in the order of its ``nei_*`` lists and ``sample_rate``.
        sample_rate (tuple[int, ...]): HeCo's neighbours sampled per type
            (``code/utils/params.py``).
        pos_num (int, optional): HeCo's positives per node (``data/pos.py``);
            :obj:`None` where no ``pos.npz`` ships.
        num_classes (int): Number of classes.
        class_counts (tuple[int, ...]): Target nodes per class (data README).
        eval_lr (float, optional): HeCo's probe learning rate ``eva_lr``.
        description (str): One line for docs.
    """

    name: str
    folder: str
    target: str
    num_nodes: dict[str, int]
    relations: dict[str, tuple[str, str]]
    metapaths: dict[str, tuple[str, ...]]
    features: dict[str, dict[str, str]]
    schema_neighbors: tuple[str, ...]
    sample_rate: tuple[int, ...]
    pos_num: int | None
    num_classes: int
    class_counts: tuple[int, ...]
    eval_lr: float | None = None
    description: str = ""
    unavailable: dict[str, str] = field(default_factory=dict)

    def relation_files(self) -> list[str]:
        """The relation edge-list files, e.g. ``["pa.txt", "ps.txt"]``."""
        return [f"{stem}.txt" for stem in self.relations]

    def raw_files(self, features: str = "heco",
                  positives: bool = True) -> tuple[str, ...]:
        """The files :func:`load_heco_hetero` reads with these options.

        Args:
            features (str, optional): Feature style, a key of
                :attr:`features`, or ``"metapath2vec"`` (learned from the
                relations, no file). (default: ``"heco"``)
            positives (bool, optional): Include ``pos.npz`` where it ships.
                (default: :obj:`True`)
        """
        files = ["labels.npy", *self.relation_files()]
        files += sorted(set(f.rstrip("!") for f in
                            self.features.get(features, {}).values()))
        files += [f"{p}_{k}.npy" for k in HECO_SHOTS for p in _PARTS]
        if positives and self.pos_num is not None:
            files.append("pos.npz")
        return tuple(files)


HECO_SCHEMAS: dict[str, HeteroSchema] = {s.name: s for s in (
    HeteroSchema(
        name="ACM-HeCo", folder="acm", target="paper",
        num_nodes={"paper": 4019, "author": 7167, "subject": 60},
        relations={"pa": ("paper", "author"), "ps": ("paper", "subject")},
        metapaths={"pap": ("paper", "author", "paper"),
                   "psp": ("paper", "subject", "paper")},
        features={"heco": {"paper": "p_feat.npz"},
                  "meow": {"paper": "p_feat.npz", "author": "a_feat.npz"}},
        schema_neighbors=("author", "subject"), sample_rate=(7, 1), pos_num=5,
        num_classes=3, class_counts=(1993, 965, 1061), eval_lr=0.05,
        description="HeCo's ACM: papers (1902-d bag of words), authors, "
        "subjects; PAP, PSP"),
    HeteroSchema(
        name="DBLP-HeCo", folder="dblp", target="author",
        num_nodes={"author": 4057, "paper": 14328, "conference": 20,
                   "term": 7723},
        relations={"pa": ("paper", "author"), "pc": ("paper", "conference"),
                   "pt": ("paper", "term")},
        metapaths={"apa": ("author", "paper", "author"),
                   "apcpa": ("author", "paper", "conference", "paper", "author"),
                   "aptpa": ("author", "paper", "term", "paper", "author")},
        features={"heco": {"author": "a_feat.npz"},
                  "meow": {"author": "a_feat.npz", "paper": "p_feat.npz",
                           "term": "t_feat.npz!"}},
        schema_neighbors=("paper",), sample_rate=(6,), pos_num=1000,
        num_classes=4, class_counts=(1197, 745, 1109, 1006), eval_lr=0.01,
        description="HeCo's DBLP: authors (334-d keywords), papers, "
        "conferences, terms; APA, APCPA, APTPA"),
    HeteroSchema(
        name="AMiner-HeCo", folder="aminer", target="paper",
        num_nodes={"paper": 6564, "author": 13329, "reference": 35890},
        relations={"pa": ("paper", "author"), "pr": ("paper", "reference")},
        metapaths={"pap": ("paper", "author", "paper"),
                   "prp": ("paper", "reference", "paper")},
        features={"heco": {}, "meow": {}},
        schema_neighbors=("author", "reference"), sample_rate=(3, 8),
        pos_num=15, num_classes=4, class_counts=(1333, 1114, 526, 3591),
        eval_lr=0.01,
        unavailable={"meow": "MEOW's AMiner features (64-d pretrained "
                     "feat_*.w1000.l100.npy) are not in the HeCo files"},
        description="HeCo's AMiner: papers, authors, references (one-hot "
        "features); PAP, PRP"),
    HeteroSchema(
        name="Freebase-HeCo", folder="freebase", target="movie",
        num_nodes={"movie": 3492, "director": 2502, "actor": 33401,
                   "writer": 4459},
        relations={"md": ("movie", "director"), "ma": ("movie", "actor"),
                   "mw": ("movie", "writer")},
        metapaths={"mdm": ("movie", "director", "movie"),
                   "mam": ("movie", "actor", "movie"),
                   "mwm": ("movie", "writer", "movie")},
        features={"heco": {}, "meow": {}},
        schema_neighbors=("director", "actor", "writer"), sample_rate=(1, 18, 2),
        pos_num=80, num_classes=3, class_counts=(1327, 618, 1547), eval_lr=0.01,
        description="HeCo's Freebase: movies, directors, actors, writers "
        "(one-hot features); MDM, MAM, MWM"),
    HeteroSchema(
        name="IMDB-MEOW", folder="imdb", target="movie",
        num_nodes={"movie": 4275, "actor": 5432, "director": 2083,
                   "keyword": 7313},
        relations={"ma": ("movie", "actor"), "md": ("movie", "director"),
                   "mk": ("movie", "keyword")},
        metapaths={"mam": ("movie", "actor", "movie"),
                   "mdm": ("movie", "director", "movie"),
                   "mkm": ("movie", "keyword", "movie")},
        features={"heco": {"movie": "m_feat.npz"},
                  "meow": {"movie": "m_feat.npz"}},
        schema_neighbors=("actor", "director", "keyword"), sample_rate=(),
        pos_num=None, num_classes=3, class_counts=(1112, 1594, 1569),
        eval_lr=0.01,
        description="MEOW's IMDB: movies (5927-d keyword counts), actors, "
        "directors, keywords; MAM, MDM, MKM"),
)}

_FOLDERS = {s.folder: s for s in HECO_SCHEMAS.values()}


def _schema(name: str | HeteroSchema) -> HeteroSchema:
    if isinstance(name, HeteroSchema):
        return name
    key = str(name).lower().replace("_", "-")
    for s in HECO_SCHEMAS.values():
        if key in (s.name.lower(), s.folder):
            return s
    raise ValueError(f"unknown HeCo-format data set {name!r}; known: "
                     f"{', '.join(HECO_SCHEMAS)} (or their folders "
                     f"{', '.join(_FOLDERS)})")


def _need(folder: Path, schema: HeteroSchema, names: Sequence[str]) -> None:
    missing = [f for f in names if not (folder / f).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"{schema.name}: missing {', '.join(missing)} in {folder}. Copy "
            f"them from the official repository's data/{schema.folder}/ "
            f"(liun-online/HeCo; jianxiangyu/MEOW for imdb).",
            name=schema.name, raw_dir=str(folder), files=list(missing))


def _read_edges(path: Path, n_src: int, n_dst: int) -> Tensor:
    arr = np.loadtxt(path, ndmin=2)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.size == 0:
        raise ValueError(f"{path} must hold rows of two node ids, got shape "
                         f"{arr.shape}")
    if not np.array_equal(arr, np.round(arr)):
        raise ValueError(f"{path} holds non-integer node ids")
    ei = torch.from_numpy(arr.astype(np.int64).T.copy())
    for side, n in ((0, n_src), (1, n_dst)):
        lo, hi = int(ei[side].min()), int(ei[side].max())
        if lo < 0 or hi >= n:
            raise ValueError(f"{path}: column {side} has ids {lo}..{hi}, "
                             f"outside 0..{n - 1}")
    return ei


def _identity(n: int) -> Tensor:
    idx = torch.arange(n)
    return torch.sparse_coo_tensor(torch.stack([idx, idx]), torch.ones(n),
                                   (n, n), is_coalesced=True,
                                   check_invariants=False)


def _read_features(path: Path, n: int, normalize: bool) -> Tensor:
    import scipy.sparse as sp

    try:
        mat = sp.load_npz(path).tocsr().astype(np.float64)
    except (ValueError, KeyError, TypeError):  # DBLP's t_feat.npz is a dense .npy array
        mat = np.load(path, allow_pickle=False)
        if not isinstance(mat, np.ndarray):
            raise ValueError(f"{path} is neither a scipy sparse matrix nor an "
                             f"array") from None
        mat = sp.csr_matrix(mat.astype(np.float64))
    if mat.shape[0] != n:
        raise ValueError(f"{path} has {mat.shape[0]} rows, expected {n}")
    if normalize:  # HeCo's preprocess_features: rows / row sums, zero rows kept
        rowsum = np.asarray(mat.sum(1)).ravel()
        inv = np.divide(1.0, rowsum, out=np.zeros_like(rowsum), where=rowsum != 0)
        mat = sp.diags(inv) @ mat
    x = torch.from_numpy(np.asarray(mat.todense(), dtype=np.float32))
    if not torch.isfinite(x).all():
        raise ValueError(f"{path} has non-finite feature values")
    return x


def _read_split(path: Path, n: int) -> Tensor:
    idx = np.load(path)
    if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer) or idx.size == 0:
        raise ValueError(f"{path} must hold a non-empty 1-D integer index array, "
                         f"got {idx.dtype} with shape {idx.shape}")
    if idx.min() < 0 or idx.max() >= n:
        raise ValueError(f"{path} has indices outside 0..{n - 1}")
    return torch.from_numpy(idx.astype(np.int64))


def load_heco_hetero(
    name: str | HeteroSchema,
    root: str | os.PathLike[str] | None = None,
    *,
    features: str = "heco",
    normalize: bool = True,
    metapaths: bool | Sequence[str] = True,
    positives: bool = True,
) -> HeteroData:
    r"""Loads a HeCo-format heterogeneous data set as one ``HeteroData``.

    Sets (:data:`HECO_SCHEMAS`): ``"ACM-HeCo"`` (papers, authors, subjects),
    ``"DBLP-HeCo"`` (authors, papers, conferences, terms), ``"AMiner-HeCo"``
    (papers, authors, references), ``"Freebase-HeCo"`` (movies, directors,
    actors, writers) from HeCo's repository and ``"IMDB-MEOW"`` (movies,
    actors, directors, keywords) from MEOW's; the folder names (``"acm"``,
    ...) are accepted too.

    What the returned graph holds (``t`` the target type, e.g. ``"paper"``):

    - ``data[t].y``: labels ``0..C-1`` (IMDB's ``1..3`` shifted).
    - Features ``x`` for every node type as HeCo's loaders give them
      (``features="heco"``): the shipped target features (ACM papers, DBLP
      authors; IMDB movies as MEOW loads them) row-normalised like HeCo's
      ``preprocess_features``, and **one-hot** features (a sparse identity)
      wherever HeCo uses ``sp.eye`` (all AMiner and Freebase types, ACM
      authors and subjects, DBLP papers; also DBLP's conferences and terms,
      which HeCo does not use). ``features="meow"`` takes MEOW's choices
      instead: ACM author features ``a_feat.npz``; DBLP paper features
      ``p_feat.npz`` (row-normalised) and the dense 50-d term features
      ``t_feat.npz`` (raw). The one-hot matrices are sparse COO: a dense
      AMiner reference identity would take 5 GB. ``features="metapath2vec"``
      learns 64-d metapath2vec embeddings on the set's meta-paths
      (:func:`~gcl.datasets.metapath2vec_features`, default settings, cached
      under ``GCL_CACHE``): per-meta-path target features ``x_<name>``,
      ``x`` their mean, and the other types' from the walks that visit
      them. This re-learns what MEOW's AMiner files hold
      (``feat_*.w1000.l100.npy``, not shipped); it is not those files.
    - Relation edges ``(a, "to", b)`` and their reverses ``(b, "to", a)``
      from the ``*.txt`` files (HeCo's ``nei_*`` neighbour lists are the
      target-side rows of these).
    - Meta-path graphs ``(t, name, t)`` (``name`` the file stem, e.g.
      ``"pap"``) with ``edge_weight`` = **path counts**, diagonal included,
      composed from the relations (:func:`~gcl.datasets.add_metapaths`);
      ``data.metapath_dict`` maps them to their relations and
      ``data.metapaths`` lists the names in HeCo's order. Their support equals
      HeCo's binary ``<name>.npz`` files (and, for IMDB, the counts equal
      MEOW's files), as the tests check.
    - The shipped splits: ``data[t].train_mask``, ``val_mask``, ``test_mask``
      of shape ``[N_t, 3]`` (one column per ``data.shots`` = ``[20, 40,
      60]`` labelled nodes per class), and ``data.splits``, ``{k: (train_idx,
      val_idx, test_idx)}`` in file order. The index tensors are exact;
      MEOW's IMDB ``train_40``/``train_60`` repeat 1 and 5 nodes, which a
      mask cannot express, so :func:`gcl.eval.heco_protocol` uses them.
    - HeCo's positives (``positives=True``, where ``pos.npz`` ships): the
      pairs ``data[t].positive_index`` ``[2, P]`` (anchor, positive), as
      read from the file; :func:`~gcl.datasets.heco_positives` recomputes
      them.
    - ``data.target_node_type``, ``data.name``.

    Args:
        name (str | HeteroSchema): Data set name or folder,
            case-insensitive, or the schema of another set in HeCo's format
            (files in ``<root>/heco/<schema.folder>/``).
        root (str | PathLike, optional): Data root holding ``heco/<folder>/``.
            (default: :obj:`None`, ``$GCL_DATA``, else the user cache)
        features (str, optional): ``"heco"``, ``"meow"`` or
            ``"metapath2vec"``, see above.
            (default: ``"heco"``)
        normalize (bool, optional): Row-normalise the shipped features as the
            official loaders do. (default: :obj:`True`)
        metapaths (bool | Sequence[str], optional): Compose all meta-path
            graphs (:obj:`True`), none, or the named ones. DBLP's APCPA and
            APTPA have 5.0 M and 7.0 M pairs. (default: :obj:`True`)
        positives (bool, optional): Read HeCo's ``pos.npz``.
            (default: :obj:`True`)

    Returns:
        HeteroData: The graph.

    Raises:
        ValueError: Unknown ``name``, ``features`` or meta-path, or malformed
            files (ids out of range, wrong row counts, bad splits).
        DatasetNotFoundError: The folder or a needed file is missing.
    """
    import scipy.sparse as sp

    schema = _schema(name)
    if features not in _FEATURES:
        raise ValueError(f"features must be one of {_FEATURES}, got {features!r}")
    if features in schema.unavailable:
        raise ValueError(f"{schema.name}: features={features!r} is not "
                         f"available: {schema.unavailable[features]}")
    if metapaths is True:
        chosen = list(schema.metapaths)
    elif metapaths is False or metapaths is None:
        chosen = []
    else:
        chosen = [str(m).lower() for m in metapaths]
        unknown = [m for m in chosen if m not in schema.metapaths]
        if unknown:
            raise ValueError(f"{schema.name} has meta-paths "
                             f"{', '.join(schema.metapaths)}; got {unknown}")
    if schema.folder in _FOLDERS:
        folder = heco_dir(schema.folder, root)
    else:
        folder = data_root(root) / "heco" / schema.folder
        if not folder.is_dir():
            raise DatasetNotFoundError(f"{schema.name}: no folder {folder}",
                                       name=schema.name, raw_dir=str(folder))
    feat_files = schema.features.get(features, {})
    _need(folder, schema, schema.raw_files(features, positives=False))

    t = schema.target
    sizes = schema.num_nodes
    data = HeteroData()
    for ntype, n in sizes.items():
        fname = feat_files.get(ntype)
        if fname is None:
            data[ntype].x = _identity(n)
        else:
            raw = fname.endswith("!")
            data[ntype].x = _read_features(folder / fname.rstrip("!"), n,
                                           normalize and not raw)
        data[ntype].num_nodes = n

    y = np.load(folder / "labels.npy")
    if y.ndim != 1 or y.shape[0] != sizes[t]:
        raise ValueError(f"{folder / 'labels.npy'} must hold {sizes[t]} labels, "
                         f"got shape {y.shape}")
    if not np.array_equal(y, np.round(y)):
        raise ValueError(f"{folder / 'labels.npy'} holds non-integer labels")
    y = torch.from_numpy(y.astype(np.int64))
    data[t].y = y - int(y.min())

    for stem, (a, b) in schema.relations.items():
        ei = _read_edges(folder / f"{stem}.txt", sizes[a], sizes[b])
        data[a, "to", b].edge_index = ei
        data[b, "to", a].edge_index = ei.flip(0)

    n = sizes[t]
    data.shots = list(HECO_SHOTS)
    splits = {}
    masks = {p: torch.zeros(n, len(HECO_SHOTS), dtype=torch.bool) for p in _PARTS}
    for j, k in enumerate(HECO_SHOTS):
        parts = tuple(_read_split(folder / f"{p}_{k}.npy", n) for p in _PARTS)
        for p, idx in zip(_PARTS, parts):
            masks[p][idx, j] = True
        splits[k] = parts
    for p, m in masks.items():
        data[t][f"{p}_mask"] = m
    data.splits = splits

    if chosen:
        paths = {}
        for mp in chosen:
            types = schema.metapaths[mp]
            paths[mp] = [(u, "to", v) for u, v in zip(types[:-1], types[1:])]
        data = add_metapaths(data, paths)
    else:
        data.metapath_dict = {}
    data.metapaths = chosen

    if positives and schema.pos_num is not None:
        path = folder / "pos.npz"
        _need(folder, schema, ["pos.npz"])
        pos = sp.load_npz(path).tocsr()
        if pos.shape != (n, n):
            raise ValueError(f"{path} has shape {pos.shape}, expected ({n}, {n})")
        pos.eliminate_zeros()
        pos = pos.tocoo()
        pi = torch.from_numpy(np.vstack([pos.row, pos.col]).astype(np.int64))
        data[t].positive_index = pi[:, torch.argsort(pi[0] * n + pi[1])]

    if features == "metapath2vec":
        metapath2vec_features(data, schema.metapaths, t,
                              cache=cache_dir() / "heco" / schema.folder)
    data.target_node_type = t
    data.name = schema.name
    return data
