"""Where datasets are read from and where processed copies are cached.

* **Data root** (raw files, layout ``<root>/pyg/<Name>/raw/...``): the ``root``
  argument, else the ``GCL_DATA`` environment variable, else the user cache directory.
* **Cache directory** (``processed/`` and downloads, always writable): the
  ``GCL_CACHE`` environment variable, else the user cache directory.
* **User cache directory**: ``$XDG_CACHE_HOME/gcl``, else ``~/.cache/gcl``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

__all__ = ["bundled_root", "cache_dir", "data_root", "user_cache_dir"]

T = TypeVar("T")


def user_cache_dir() -> Path:
    """The per-user cache directory of gcl.

    Returns:
        Path: ``$XDG_CACHE_HOME/gcl`` if that variable is set, else ``~/.cache/gcl``.
    """
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "gcl"


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Resolve the data root.

    Args:
        root (str | PathLike, optional): Explicit root; wins when given.
            (default: :obj:`None`)

    Returns:
        Path: ``root``, else ``$GCL_DATA``, else :func:`user_cache_dir`, absolute.
    """
    if root is None:
        env = os.environ.get("GCL_DATA")
        root = env if env else user_cache_dir()
    return Path(root).expanduser().absolute()


def cache_dir() -> Path:
    """Resolve the writable cache directory for processed datasets and downloads.

    Returns:
        Path: ``$GCL_CACHE`` if set, else :func:`user_cache_dir`, absolute.
    """
    env = os.environ.get("GCL_CACHE")
    return Path(env if env else user_cache_dir()).expanduser().absolute()


def bundled_root() -> Path:
    """Root of the raw files shipped inside the package (Cora only).

    Returns:
        Path: ``gcl/datasets/bundled``; ``<it>/Cora/raw`` holds Planetoid's files.
    """
    return Path(__file__).resolve().parent / "bundled"


def _build_staged(final: Path, build: Callable[[Path], T]) -> T:
    """``build(staging)`` in a fresh folder beside ``final``, renamed to ``final``.

    The staging folder is made in ``final.parent`` (created if needed); after
    ``build`` returns it is renamed into place, so a cache folder is complete
    or absent. Where the rename fails (a concurrent build finished first; its
    result is equivalent) the staging folder is dropped. It never outlives the
    call.

    Returns:
        What ``build`` returned.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        out = build(staging)
        try:
            os.rename(staging, final)
        except OSError:
            pass  # a concurrent build finished first; its result is equivalent
        return out
    finally:
        shutil.rmtree(staging, ignore_errors=True)
