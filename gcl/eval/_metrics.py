r"""Classification metrics in torch, batched over runs.

Single-label multi-class: accuracy equals micro-F1. Macro-F1 follows
``sklearn.metrics.f1_score(average="macro")`` on 1-D label vectors: the
per-class :math:`F_1 = 2\,TP / (2\,TP + FP + FN)` is averaged over the classes
that occur in ``y_true`` or in ``y_pred``.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["classification_metrics", "batched_classification_metrics"]


def batched_classification_metrics(
    y_true: Tensor,
    y_pred: Tensor,
    mask: Tensor | None = None,
    num_classes: int | None = None,
) -> dict[str, Tensor]:
    r"""Accuracy, micro-F1 and macro-F1 of several runs at once.

    Args:
        y_true (torch.Tensor): True labels, shape ``[N]`` (shared by all runs)
            or ``[R, N]``.
        y_pred (torch.Tensor): Predicted labels, shape ``[R, N]``.
        mask (torch.Tensor, optional): Boolean ``[R, N]`` (or ``[N]``) mask of
            the nodes each run is scored on. (default: all nodes)
        num_classes (int, optional): Number of classes :math:`C`. (default:
            ``max(y_true, y_pred) + 1``)

    Returns:
        dict[str, torch.Tensor]: ``"accuracy"``, ``"micro_f1"`` and
        ``"macro_f1"``, each of shape ``[R]``. Runs with an empty mask get NaN.
    """
    if y_pred.dim() == 1:
        y_pred = y_pred.unsqueeze(0)
    r, n = y_pred.shape
    y_true = y_true.expand(r, n)
    if mask is None:
        mask = torch.ones(r, n, dtype=torch.bool, device=y_pred.device)
    mask = mask.expand(r, n)
    if num_classes is None:
        num_classes = int(max(y_true.max(), y_pred.max())) + 1
    c = num_classes
    run = torch.arange(r, device=y_pred.device).unsqueeze(1).expand(r, n)[mask]
    t, p = y_true[mask], y_pred[mask]
    hit = t == p
    count = mask.sum(1).to(torch.float64)
    acc = torch.zeros(r, dtype=torch.float64, device=run.device).index_add_(
        0, run, hit.to(torch.float64)) / count
    tp = torch.bincount(run[hit] * c + t[hit], minlength=r * c).view(r, c)
    n_true = torch.bincount(run * c + t, minlength=r * c).view(r, c)
    n_pred = torch.bincount(run * c + p, minlength=r * c).view(r, c)
    denom = (n_true + n_pred).to(torch.float64)
    present = denom > 0
    f1 = torch.where(present, 2 * tp / denom.clamp_min(1), torch.zeros_like(denom))
    macro = f1.sum(1) / present.sum(1)
    return {"accuracy": acc, "micro_f1": acc.clone(), "macro_f1": macro}


def classification_metrics(
    y_true: Tensor, y_pred: Tensor, num_classes: int | None = None
) -> dict[str, float]:
    r"""Accuracy, micro-F1 and macro-F1 of one prediction.

    Macro-F1 matches ``sklearn.metrics.f1_score(y_true, y_pred,
    average="macro")``: classes absent from both ``y_true`` and ``y_pred`` are
    left out of the average.

    Args:
        y_true (torch.Tensor): True labels, shape ``[N]``.
        y_pred (torch.Tensor): Predicted labels, shape ``[N]``.
        num_classes (int, optional): Number of classes. (default: inferred)

    Returns:
        dict[str, float]: ``{"accuracy", "micro_f1", "macro_f1"}`` in
        :math:`[0, 1]`.
    """
    y_true = torch.as_tensor(y_true).long().view(-1)
    y_pred = torch.as_tensor(y_pred).long().view(-1)
    if y_true.numel() != y_pred.numel() or y_true.numel() == 0:
        raise ValueError(
            f"y_true and y_pred must be non-empty and of equal length; got "
            f"{y_true.numel()} and {y_pred.numel()}")
    out = batched_classification_metrics(y_true, y_pred.unsqueeze(0),
                                         num_classes=num_classes)
    return {k: float(v[0]) for k, v in out.items()}
