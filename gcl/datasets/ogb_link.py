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

import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from gcl.datasets import loader as _loader
from gcl.datasets.errors import DatasetNotFoundError
from gcl.datasets.paths import cache_dir, data_root

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


def _raw_files(meta: dict[str, str], labels: tuple[str, ...] = ()) -> list[str]:
    """The release marker and ``raw/`` files of an OGB set (``labels``: the
    node-property sets' label files, binary name first, then CSV name).
    """
    files = [f"RELEASE_v{meta['version']}.txt"]
    if meta["binary"] == "True":
        files += ["raw/data.npz", *labels[:1]]
    else:
        files += ["raw/edge.csv.gz", "raw/num-node-list.csv.gz",
                  "raw/num-edge-list.csv.gz", *labels[1:]]
        if meta["has_node_attr"] == "True":
            files.append("raw/node-feat.csv.gz")
        if meta["has_edge_attr"] == "True":
            files.append("raw/edge-feat.csv.gz")
        for key in ("additional node files", "additional edge files"):
            if meta[key] != "None":
                files += [f"raw/{f}.csv.gz" for f in meta[key].split(",")]
    return files


def _required_files(meta: dict[str, str]) -> list[str]:
    """Files (relative to the data set folder) OGB needs without downloading."""
    split = f"split/{meta['split']}"
    return _raw_files(meta) + [f"{split}/{p}.pt" for p in ("train", "valid", "test")]


def _missing(folder: Path, files: list[str]) -> list[str]:
    return [f for f in files if not (folder / f).is_file()]


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


@contextmanager
def _no_weights_only_load() -> Iterator[None]:
    """``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` while OGB loads, then restored.

    ogb 1.3.6 calls ``torch.load`` without ``weights_only``; with torch >= 2.6 the
    default ``weights_only=True`` rejects OGB's processed file and its split files
    (numpy arrays). The variable is set only around OGB's own loads of files it
    wrote or the data set ships, so users need not set it.
    """
    key = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
    old = os.environ.get(key)
    os.environ[key] = "1"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*TORCH_FORCE_NO_WEIGHTS_ONLY")
            warnings.filterwarnings("ignore", message=".*weights_only=False")
            warnings.filterwarnings("ignore", message=r".*'data' attribute")
            yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _not_found(name: str, target: Path, files: list[str], why: str) -> str:
    missing = _missing(target, files)
    msg = (f"OGB data set {name!r} was not found and could not be downloaded "
           f"({why}).\nPut the folder the ogb package creates into:\n    {target}\n"
           f"Expected files there: {', '.join(files)}")
    if missing and len(missing) < len(files):
        msg += f"\nMissing there: {', '.join(missing)}"
    msg += ("\nSet the GCL_DATA environment variable (or pass root=...) to a folder "
            "laid out as <root>/ogb/<name>/ to use another data root "
            f"(current root: {target.parent.parent}).")
    alt = target.parent.parent / target.name
    if not _missing(alt, files):
        msg += (f"\nNote: the files exist in {alt}; pass "
                f"root={target.parent.parent.parent} instead.")
    return msg


def _download(name: str, meta: dict[str, str], target: Path,
              files: list[str]) -> Path:
    """Download OGB's zip into the cache, then move the folder to ``target``
    (or keep it in ``<cache>/downloads/ogb/`` when the root is not writable).
    """
    url = meta["url"]
    if _loader._offline_forced():
        raise DatasetNotFoundError(_not_found(name, target, files, "GCL_OFFLINE is "
                                              "set"), name, str(target), files)
    if not _loader._online(url):
        raise DatasetNotFoundError(
            _not_found(name, target, files, f"no network: cannot reach {url}"),
            name, str(target), files)
    from ogb.utils.url import download_url, extract_zip

    downloads = cache_dir() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=downloads))
    try:
        try:
            path = download_url(url, str(staging))
            extract_zip(path, str(staging))
        except Exception as err:  # urllib, zip and HTTP errors
            raise DatasetNotFoundError(
                _not_found(name, target, files, f"download failed: {err!r}"),
                name, str(target), files) from err
        src = staging / meta["download_name"]
        if _missing(src, files):
            raise DatasetNotFoundError(
                _not_found(name, target, files, f"the download from {url} lacks "
                           f"{', '.join(_missing(src, files))}"),
                name, str(target), files)
        for dest in (target, downloads / "ogb" / target.name):
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                tmp = dest.parent / f".{dest.name}.partial"
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(src, tmp)
                os.replace(tmp, dest)
            except OSError as err:
                if dest != target:
                    raise
                warnings.warn(f"{name}: downloaded, but could not write to {target} "
                              f"({err}); kept it in the cache instead", stacklevel=3)
                continue
            return dest
        raise AssertionError("unreachable")  # pragma: no cover
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _locate(name: str, meta: dict[str, str], target: Path,
            files: list[str]) -> Path:
    """The folder holding ``files`` of an OGB set: ``target`` (the data
    root's copy), else a previous download in the user cache, else a new
    download there (:func:`_download`, which raises when offline).
    """
    if not _missing(target, files):
        return target
    cached = cache_dir() / "downloads" / "ogb" / target.name
    if not _missing(cached, files):
        return cached
    return _download(name, meta, target, files)


def _cache_key(src: Path) -> str:
    import ogb
    import torch_geometric

    ident = (f"{src.resolve()}|ogb={ogb.__version__}|"
             f"torch_geometric={torch_geometric.__version__}")
    return hashlib.sha1(ident.encode()).hexdigest()[:16]


def _link(src: Path, dst: Path) -> None:
    try:
        dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())
    except (OSError, NotImplementedError):
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def _build_mirror(src: Path, mirror: Path) -> None:
    """``mirror`` with links to ``src``'s folders and a copy of its files."""
    mirror.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.iterdir()):
        if entry.name == "processed":
            continue  # a processed/ folder of someone else: never reuse it
        dst = mirror / entry.name
        if entry.is_dir():
            _link(entry, dst)
        else:
            shutil.copyfile(entry, dst)  # RELEASE_v1.txt: small, writable copy


def _open(name: str, src: Path) -> tuple[Data, dict[str, Any]]:
    """OGB's ``PygLinkPropPredDataset`` over a writable mirror of ``src``."""
    from ogb.linkproppred import PygLinkPropPredDataset

    base = cache_dir() / "ogb"
    final = base / _cache_key(src)
    dir_name = src.name
    with _no_weights_only_load():
        if (final / dir_name / "processed").is_dir():
            for entry in src.iterdir():  # links removed by hand: restore them
                dst = final / dir_name / entry.name
                if entry.is_dir() and not dst.exists():
                    if dst.is_symlink():
                        dst.unlink()
                    _link(entry, dst)
            dataset = PygLinkPropPredDataset(name, root=str(final))
            return dataset[0], dataset.get_edge_split()
        base.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=base))
        try:
            _build_mirror(src, staging / dir_name)
            dataset = PygLinkPropPredDataset(name, root=str(staging))
            data, split_edge = dataset[0], dataset.get_edge_split()
            try:
                os.rename(staging, final)
            except OSError:
                pass  # a concurrent load finished first; its result is equivalent
            return data, split_edge
        finally:
            shutil.rmtree(staging, ignore_errors=True)


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
    data, split_edge = _open(name, _locate(name, meta, target, files))
    data.x = _features(data, features)
    data.name = name
    return data, split_edge
