"""Node splits for evaluation: random train/val/test splits and public masks."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["random_split", "masks_to_splits", "get_masks"]

Split = tuple[Tensor, Tensor, Tensor]


def random_split(
    num_nodes: int,
    train: float = 0.1,
    val: float = 0.1,
    generator: torch.Generator | None = None,
) -> Split:
    r"""A random train/val/test split of the nodes, as in GCA's ``rand:0.1``.

    One ``torch.randperm`` of the nodes is cut into ``int(num_nodes * train)``
    training nodes, ``int(num_nodes * val)`` validation nodes (both rounded
    down, as ``int`` in GCA's ``get_idx_split``) and the rest as test nodes.
    For Cora (2708 nodes) that is 270 / 270 / 2168; for Amazon-Photo (7650)
    765 / 765 / 6120.

    Args:
        num_nodes (int): Number of nodes :math:`N`.
        train (float, optional): Fraction of training nodes. (default: ``0.1``)
        val (float, optional): Fraction of validation nodes; ``0`` gives an
            empty validation part. (default: ``0.1``)
        generator (torch.Generator, optional): Random generator, for repeatable
            splits. (default: torch's global generator)

    Returns:
        tuple[Tensor, Tensor, Tensor]: Disjoint ``train_idx``, ``val_idx`` and
        ``test_idx`` (int64) whose union is ``range(num_nodes)``.
    """
    num_nodes = int(num_nodes)
    if not 0.0 < train < 1.0 or not 0.0 <= val < 1.0 or train + val >= 1.0:
        raise ValueError(
            f"need 0 < train < 1, 0 <= val < 1 and train + val < 1; got "
            f"train={train}, val={val}")
    n_train, n_val = int(num_nodes * train), int(num_nodes * val)
    if n_train < 1 or num_nodes - n_train - n_val < 1:
        raise ValueError(
            f"{num_nodes} nodes are too few for train={train}, val={val}: the "
            f"split would have {n_train} training and "
            f"{num_nodes - n_train - n_val} test nodes")
    perm = torch.randperm(num_nodes, generator=generator)
    return (perm[:n_train], perm[n_train:n_train + n_val],
            perm[n_train + n_val:])


def _as_mask(mask: Any, name: str, num_nodes: int) -> Tensor:
    if mask is None:
        raise ValueError(f"the {name} mask is missing")
    mask = torch.as_tensor(mask).detach().cpu()
    if mask.dtype != torch.bool:
        raise ValueError(f"{name} must be a boolean mask, got dtype {mask.dtype}")
    if mask.dim() not in (1, 2) or mask.size(0) != num_nodes:
        raise ValueError(
            f"{name} must have shape [N] or [N, num_splits] with N={num_nodes}, "
            f"got {tuple(mask.shape)}")
    return mask if mask.dim() == 2 else mask.unsqueeze(1)


def masks_to_splits(
    train_mask: Tensor, val_mask: Tensor, test_mask: Tensor
) -> list[Split]:
    r"""Index splits from boolean node masks, one per split column.

    Masks are ``[N]`` (one split, e.g. the Planetoid public split) or
    ``[N, S]`` (``S`` splits, e.g. WikiCS's 20 train/val columns with a shared
    ``[N]`` test mask). 1-D masks are shared by all columns.

    Args:
        train_mask (torch.Tensor): Boolean ``[N]`` or ``[N, S]``.
        val_mask (torch.Tensor): Boolean ``[N]`` or ``[N, S]``.
        test_mask (torch.Tensor): Boolean ``[N]`` or ``[N, S]``.

    Returns:
        list[tuple[Tensor, Tensor, Tensor]]: ``S`` triples ``(train_idx,
        val_idx, test_idx)``.

    Raises:
        ValueError: If a mask is not boolean, shapes disagree, a part is empty
            or two parts of a split overlap.
    """
    n = torch.as_tensor(train_mask).size(0) if train_mask is not None else 0
    masks = [_as_mask(m, nm, n) for m, nm in
             ((train_mask, "train_mask"), (val_mask, "val_mask"),
              (test_mask, "test_mask"))]
    cols = {m.size(1) for m in masks} - {1}
    if len(cols) > 1:
        raise ValueError(
            f"2-D masks must have the same number of split columns, got "
            f"{[m.size(1) for m in masks]}")
    s = cols.pop() if cols else 1
    masks = [m.expand(n, s) for m in masks]
    splits = []
    for j in range(s):
        tr, va, te = (m[:, j] for m in masks)
        for part, name in ((tr, "train"), (va, "val"), (te, "test")):
            if not part.any():
                raise ValueError(f"the {name} mask of split {j} is empty")
        for (a, an), (b, bn) in (((tr, "train"), (va, "val")),
                                 ((tr, "train"), (te, "test")),
                                 ((va, "val"), (te, "test"))):
            if (a & b).any():
                raise ValueError(
                    f"the {an} and {bn} masks of split {j} overlap in "
                    f"{int((a & b).sum())} nodes")
        splits.append(tuple(m.nonzero().view(-1) for m in (tr, va, te)))
    return splits


def get_masks(data: Any) -> tuple[Tensor, Tensor, Tensor]:
    """``(train_mask, val_mask, test_mask)`` of a PyG ``Data`` object.

    Raises:
        ValueError: If ``data`` lacks one of the masks.
    """
    missing = [k for k in ("train_mask", "val_mask", "test_mask")
               if getattr(data, k, None) is None]
    if missing:
        raise ValueError(
            f"data has no {', '.join(missing)}; the public-split protocol needs "
            f"train/val/test masks (pass data= with masks, e.g. a Planetoid "
            f"graph, or masks=(train_mask, val_mask, test_mask))")
    return data.train_mask, data.val_mask, data.test_mask
