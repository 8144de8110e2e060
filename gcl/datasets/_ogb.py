"""What the OGB loaders (:mod:`gcl.datasets.ogb_link`,
:mod:`gcl.datasets.ogb_node`) share: the files a set needs, finding them in
the data root or the cache, downloading them, and opening OGB's own dataset
class over a writable mirror of a possibly read-only folder.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from gcl.datasets import _network
from gcl.datasets.errors import DatasetNotFoundError
from gcl.datasets.paths import _build_staged, cache_dir

T = TypeVar("T")


def raw_files(meta: dict[str, str], labels: tuple[str, ...] = ()) -> list[str]:
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


def missing(folder: Path, files: list[str]) -> list[str]:
    return [f for f in files if not (folder / f).is_file()]


@contextmanager
def no_weights_only_load() -> Iterator[None]:
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


def not_found(name: str, target: Path, files: list[str], why: str) -> str:
    absent = missing(target, files)
    msg = (f"OGB data set {name!r} was not found and could not be downloaded "
           f"({why}).\nPut the folder the ogb package creates into:\n    {target}\n"
           f"Expected files there: {', '.join(files)}")
    if absent and len(absent) < len(files):
        msg += f"\nMissing there: {', '.join(absent)}"
    msg += ("\nSet the GCL_DATA environment variable (or pass root=...) to a folder "
            "laid out as <root>/ogb/<name>/ to use another data root "
            f"(current root: {target.parent.parent}).")
    alt = target.parent.parent / target.name
    if not missing(alt, files):
        msg += (f"\nNote: the files exist in {alt}; pass "
                f"root={target.parent.parent.parent} instead.")
    return msg


def download(name: str, meta: dict[str, str], target: Path,
              files: list[str]) -> Path:
    """Download OGB's zip into the cache, then move the folder to ``target``
    (or keep it in ``<cache>/downloads/ogb/`` when the root is not writable).
    """
    url = meta["url"]
    if _network.offline_forced():
        raise DatasetNotFoundError(not_found(name, target, files, "GCL_OFFLINE is "
                                              "set"), name, str(target), files)
    if not _network.online(url):
        raise DatasetNotFoundError(
            not_found(name, target, files, f"no network: cannot reach {url}"),
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
                not_found(name, target, files, f"download failed: {err!r}"),
                name, str(target), files) from err
        src = staging / meta["download_name"]
        if missing(src, files):
            raise DatasetNotFoundError(
                not_found(name, target, files, f"the download from {url} lacks "
                           f"{', '.join(missing(src, files))}"),
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


def locate(name: str, meta: dict[str, str], target: Path,
            files: list[str]) -> Path:
    """The folder holding ``files`` of an OGB set: ``target`` (the data
    root's copy), else a previous download in the user cache, else a new
    download there (:func:`download`, which raises when offline).
    """
    if not missing(target, files):
        return target
    cached = cache_dir() / "downloads" / "ogb" / target.name
    if not missing(cached, files):
        return cached
    return download(name, meta, target, files)


def cache_key(src: Path) -> str:
    import ogb
    import torch_geometric

    ident = (f"{src.resolve()}|ogb={ogb.__version__}|"
             f"torch_geometric={torch_geometric.__version__}")
    return hashlib.sha1(ident.encode()).hexdigest()[:16]


def link(src: Path, dst: Path) -> None:
    try:
        dst.symlink_to(src.resolve(), target_is_directory=src.is_dir())
    except (OSError, NotImplementedError):
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)


def build_mirror(src: Path, mirror: Path) -> None:
    """``mirror`` with links to ``src``'s folders and a copy of its files."""
    mirror.mkdir(parents=True, exist_ok=True)
    for entry in sorted(src.iterdir()):
        if entry.name == "processed":
            continue  # a processed/ folder of someone else: never reuse it
        dst = mirror / entry.name
        if entry.is_dir():
            link(entry, dst)
        else:
            shutil.copyfile(entry, dst)  # RELEASE_v1.txt: small, writable copy


def open_mirrored(src: Path, read: Callable[[Path], T]) -> T:
    """``read(root)`` with OGB's dataset class rooted at a writable mirror of
    ``src`` (``<cache>/ogb/<key>/<src.name>``: links to ``src``'s folders, so
    that OGB writes ``processed/`` into the cache, never into ``src``).

    A mirror that was processed before is reused (links removed by hand are
    restored); a new one is built in a staging folder and renamed into place,
    so concurrent first loads are safe. ``read`` runs inside
    :func:`no_weights_only_load` (OGB's split files are loaded there too).
    """
    final = cache_dir() / "ogb" / cache_key(src)
    with no_weights_only_load():
        if (final / src.name / "processed").is_dir():
            for entry in src.iterdir():  # links removed by hand: restore them
                dst = final / src.name / entry.name
                if entry.is_dir() and not dst.exists():
                    if dst.is_symlink():
                        dst.unlink()
                    link(entry, dst)
            return read(final)

        def build(staging: Path) -> T:
            build_mirror(src, staging / src.name)
            return read(staging)

        return _build_staged(final, build)
