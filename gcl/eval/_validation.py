"""Input checks shared by the evaluators: one place, one wording.

Every evaluator in :mod:`gcl.eval` checks its embeddings, labels and counts
here, so one problem gets one message wherever it is found.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "as_tensor",
    "check_embeddings",
    "check_labels",
    "check_inputs",
    "check_positive_int",
    "check_runs",
]

# numpy dtype kinds that convert to a torch tensor: bool, int, uint, float, complex.
_NUMERIC_KINDS = "biufc"


def as_tensor(x: Any, name: str) -> Tensor:
    """``x`` as a dense tensor (shared memory where possible).

    Raises:
        ValueError: For :obj:`None`, a sparse tensor, or an array whose dtype
            is not numeric (strings, objects).
    """
    if x is None:
        raise ValueError(f"{name} is missing")
    if isinstance(x, Tensor):
        if x.layout != torch.strided:
            raise ValueError(f"{name} is a sparse tensor ({x.layout}); pass a "
                             f"dense one ({name}.to_dense())")
        return x
    arr = np.asarray(x)
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.dtype != np.uint8:
        arr = arr.astype(np.int64)  # torch has no general uint16/32/64 support
    return torch.as_tensor(arr)


def check_embeddings(z: Any, name: str = "z", *,
                     dtype: torch.dtype | None = None) -> Tensor:
    """Returns ``z`` as a detached 2-D floating tensor (device unchanged).

    Args:
        z (torch.Tensor or array-like): Embeddings ``[N, d]``.
        name (str, optional): Name used in error messages. (default: ``"z"``)
        dtype (torch.dtype, optional): Cast to this dtype after the checks.
            (default: :obj:`None`, keep ``z``'s dtype)

    Raises:
        ValueError: For a wrong shape, a non-floating dtype or NaN/inf rows
            (naming how many and the first few).
    """
    z = as_tensor(z, name)
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
    z = z.detach()
    return z if dtype is None else z.to(dtype)


def check_labels(
    y: Any,
    num_rows: int | None,
    min_classes: int = 2,
    allow_integral_float: bool = False,
    *,
    name: str = "y",
    allow_negative: bool = False,
    negative_hint: str = "unlabelled nodes are not supported",
) -> Tensor:
    """Returns integer labels ``y`` as a CPU long tensor.

    Args:
        y (torch.Tensor or array-like): Labels ``[N]``.
        num_rows (int, optional): The number of embedding rows ``y`` must
            match; :obj:`None` skips that check.
        min_classes (int, optional): Fewest distinct values required.
            (default: ``2``)
        allow_integral_float (bool, optional): Accept floats holding whole
            numbers (HeCo's ACM ``labels.npy`` is float64).
            (default: :obj:`False`)
        name (str, optional): Name used in error messages. (default: ``"y"``)
        allow_negative (bool, optional): Accept negative values (cluster ids).
            (default: :obj:`False`)
        negative_hint (str, optional): Why negative labels are refused, for
            the message. (default: ``"unlabelled nodes are not supported"``)

    Raises:
        ValueError: For a wrong shape or dtype, fractional values, a length
            other than ``num_rows``, negative labels or too few classes.
    """
    y = as_tensor(y, name)
    if y.dim() != 1:
        raise ValueError(f"{name} must be 1-D [num_nodes], got shape "
                         f"{tuple(y.shape)}")
    if y.is_floating_point() and allow_integral_float:
        if not torch.equal(y, y.round()):
            raise ValueError(f"{name} must hold integer class labels, got "
                             f"fractions")
        y = y.long()
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise ValueError(f"{name} must hold integer class labels (torch.long), got "
                         f"dtype {y.dtype}")
    if num_rows is not None and y.numel() != num_rows:
        raise ValueError(
            f"{name} has {y.numel()} labels but z has {num_rows} rows; they must "
            f"match (one label per node)")
    y = y.detach().cpu().long()
    if not allow_negative and (y < 0).any():
        rows = (y < 0).nonzero().view(-1)
        raise ValueError(
            f"{name} has {rows.numel()} negative labels (first rows: "
            f"{rows[:5].tolist()}); {name} must be non-negative integer class "
            f"labels ({negative_hint})")
    if min_classes > 0 and torch.unique(y).numel() < min_classes:
        raise ValueError(
            f"{name} has fewer than {min_classes} classes "
            f"({torch.unique(y).tolist()}); need at least {min_classes}")
    return y


def check_inputs(z: Any, y: Any, *,
                 allow_integral_float: bool = False) -> tuple[Tensor, Tensor, int]:
    """Checks the embeddings and labels of a node classifier.

    Args:
        z (torch.Tensor or array-like): Embeddings ``[N, d]``.
        y (torch.Tensor or array-like): Labels ``[N]`` in ``0..C-1``.
        allow_integral_float (bool, optional): Accept whole-number float
            labels, see :func:`check_labels`. (default: :obj:`False`)

    Returns:
        tuple[Tensor, Tensor, int]: CPU float32 ``z``, CPU long ``y`` and the
        number of classes :math:`C` = ``y.max() + 1``.
    """
    z = check_embeddings(z).cpu().to(torch.float32)
    y = check_labels(y, z.size(0), allow_integral_float=allow_integral_float)
    num_classes = int(y.max()) + 1
    if num_classes > max(z.size(0), 2):
        raise ValueError(
            f"y has class label {num_classes - 1} but only {z.size(0)} rows: "
            f"labels must be class indices 0..C-1 (remap them, e.g. with "
            f"torch.unique(y, return_inverse=True)[1])")
    return z, y, num_classes


def check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> Any:
    """Returns ``value`` as an ``int`` (or :obj:`None` where allowed).

    Raises:
        ValueError: Unless ``value`` is a positive integer (not a bool).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value < 1:
        raise ValueError(f"{name} must be a positive integer"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def check_runs(runs: Any, default: int) -> int:
    """Returns ``runs`` (or ``default`` when :obj:`None`) as a positive int."""
    if runs is None:
        return default
    return check_positive_int(runs, "runs")
