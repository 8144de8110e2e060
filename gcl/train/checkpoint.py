"""Training checkpoints: written atomically, loaded without running code."""

from __future__ import annotations

import os
import pickle
import random
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["Checkpoint", "get_rng_state", "set_rng_state", "to_plain"]


def get_rng_state() -> dict:
    """The states of torch's, NumPy's, Python's and CUDA's generators.

    Everything is a tensor or a plain Python value, so that the state loads
    with ``torch.load(..., weights_only=True)``: NumPy's MT19937 key is kept
    as an int64 tensor instead of an array.

    Returns:
        dict: ``torch``, ``numpy``, ``python`` and (with CUDA) ``cuda``
        states, for :func:`set_rng_state`.
    """
    _, key, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"key": torch.from_numpy(key.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restores the generators from :func:`get_rng_state`'s output.

    Args:
        state (Mapping): The saved states; the CUDA states are restored only
            when CUDA is available.
    """
    torch.set_rng_state(state["torch"].cpu())
    npy = state["numpy"]
    np.random.set_state(("MT19937", npy["key"].cpu().numpy().astype(np.uint32),
                         npy["pos"], npy["has_gauss"], npy["gauss"]))
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def to_plain(obj: Any) -> Any:
    """``obj`` with NumPy scalars and arrays turned into Python values.

    Evaluation metrics are often NumPy floats (scikit-learn returns them);
    as plain floats they load with ``weights_only=True``. Containers are
    copied, tensors and other values are kept.

    Args:
        obj (Any): A metric value or a (nested) dict, list or tuple of them.

    Returns:
        Any: The same structure with plain Python values.
    """
    if isinstance(obj, np.generic | np.ndarray):
        return obj.tolist()  # np.generic.tolist() gives the Python scalar
    if isinstance(obj, Mapping):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_plain(v) for v in obj)
    return obj


class Checkpoint:
    """A training-checkpoint file, written atomically and loaded safely.

    :meth:`save` writes to a temporary file in the same folder and renames it
    over ``path``, so an interrupted save never leaves a truncated
    checkpoint. :meth:`load` reads with ``torch.load(..., weights_only=True)``
    onto the CPU: only tensors and plain Python values (numbers, strings,
    lists, tuples, dicts) are accepted, so a checkpoint from someone else
    cannot run code when it is loaded.

    Args:
        path (str or Path): The checkpoint file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def exists(self) -> bool:
        """Whether the checkpoint file exists."""
        return self.path.exists()

    def save(self, state: Mapping[str, Any]) -> None:
        """Writes ``state`` atomically (temporary file, then rename).

        Args:
            state (Mapping): Tensors and plain Python values only (see
                :func:`to_plain`), or :meth:`load` refuses the file.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        os.close(fd)
        try:
            torch.save(dict(state), tmp)
            os.replace(tmp, self.path)  # atomic on POSIX and Windows
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def load(self) -> dict:
        """Reads the checkpoint onto the CPU with ``weights_only=True``.

        Returns:
            dict: The saved state.

        Raises:
            ValueError: If the file holds anything but tensors and plain
                Python values (e.g. a pickled object that would run code),
                or is not a checkpoint at all.
        """
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as err:
            found = re.search(r"GLOBAL ([\w.]+)", str(err))
            what = f" such as {found.group(1)}" if found else ""
            raise ValueError(
                f"refusing to load checkpoint {self.path}: it holds objects{what} "
                f"besides tensors and plain Python values. Loading them "
                f"could run arbitrary code, so it is not loaded. This version of "
                f"gcl never writes such objects (earlier versions saved NumPy's "
                f"RNG state as an array: train those runs again from the start)."
            ) from None
        if not isinstance(state, dict):
            raise ValueError(f"{self.path} is not a gcl checkpoint (it holds a "
                             f"{type(state).__name__}, not a dict)")
        return state

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({str(self.path)!r})"
