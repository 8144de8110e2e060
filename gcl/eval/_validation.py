"""Input checks shared by the evaluators: one place, one wording."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["check_embeddings", "check_labels", "check_runs"]


def check_embeddings(z: Any, name: str = "z") -> Tensor:
    """Returns ``z`` as a detached 2-D floating tensor (device unchanged).

    Raises a :class:`ValueError` for a wrong shape, a non-floating dtype or
    NaN/inf rows (naming how many and the first few).
    """
    if not isinstance(z, Tensor):
        z = torch.as_tensor(np.asarray(z))
    if z.dim() != 2 or z.size(0) == 0 or z.size(1) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D [num_nodes, dim] tensor, "
                         f"got shape {tuple(z.shape)}")
    if not z.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype "
                         f"{z.dtype}")
    bad = ~torch.isfinite(z).all(1)
    if bad.any():
        rows = bad.nonzero().view(-1)
        raise ValueError(
            f"{name} contains NaN or inf in {rows.numel()} of {z.size(0)} rows "
            f"(first rows: {rows[:5].tolist()}); the encoder diverged or the "
            f"input has non-finite features")
    return z.detach()


def check_labels(y: Any, num_rows: int, min_classes: int = 2,
                 allow_integral_float: bool = False) -> Tensor:
    """Returns class labels ``y`` as a CPU long tensor of length ``num_rows``.

    Labels must be integers in ``0..C-1`` with at least ``min_classes``
    classes. ``allow_integral_float`` accepts floats holding whole numbers
    (HeCo's ACM ``labels.npy`` is float64).
    """
    if not isinstance(y, Tensor):
        y = torch.as_tensor(np.asarray(y))
    if y.dim() != 1:
        raise ValueError(f"y must be 1-D [num_nodes], got shape {tuple(y.shape)}")
    if y.is_floating_point() and allow_integral_float:
        if not torch.equal(y, y.round()):
            raise ValueError("y must hold integer class labels, got fractions")
        y = y.long()
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(
            f"y must hold integer class labels (torch.long), got dtype {y.dtype}")
    if y.numel() != num_rows:
        raise ValueError(
            f"y has {y.numel()} labels but z has {num_rows} rows; they must "
            f"match (one label per node)")
    y = y.detach().cpu().long()
    if (y < 0).any():
        raise ValueError(
            f"y has {int((y < 0).sum())} negative labels; labels must be in "
            f"0..C-1 (unlabelled nodes are not supported)")
    if torch.unique(y).numel() < min_classes:
        raise ValueError(
            f"y has fewer than {min_classes} classes "
            f"({torch.unique(y).tolist()}); need at least {min_classes}")
    return y


def check_runs(runs: Any, default: int) -> int:
    """Returns ``runs`` (or ``default`` when :obj:`None`) as a positive int."""
    if runs is None:
        return default
    if isinstance(runs, bool) or not isinstance(runs, (int, np.integer)) or runs < 1:
        raise ValueError(f"runs must be a positive integer, got {runs!r}")
    return int(runs)
