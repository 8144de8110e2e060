r"""A memory estimate of full-batch training, checked before the first epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import torch
from torch_geometric.data import Data

from gcl.losses.infonce import _default_block

__all__ = ["InsufficientMemoryError", "available_memory",
           "estimate_full_batch_memory", "check_full_batch_memory"]

# Per view and per weight matrix [out, in]: the layer's output, its
# propagation and its activation are kept for the backward pass, plus the
# gradient in flight.
_ACTIVATIONS_PER_LAYER = 4
# InfoNCE keeps a few [block, 2N] blocks alive at once (logits, exp, grad).
_LOSS_BLOCKS = 4


class InsufficientMemoryError(MemoryError):
    """Full-batch training would not fit in the device's memory.

    Attributes:
        estimate (int): Estimated peak bytes of one training step.
        available (int): Bytes available on the device.
    """

    def __init__(self, estimate: int, available: int, device: torch.device):
        self.estimate, self.available = int(estimate), int(available)
        super().__init__(
            f"full-batch training needs about {_gib(estimate)} on {device}, but "
            f"only {_gib(available)} is available: train in mini-batches with "
            f"fit(..., batch_size=1024, num_neighbors=[10, 10]) (command line: "
            f"--batch-size 1024 --num-neighbors 10 10), or pass "
            f"check_memory=False to try anyway")


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


def available_memory(device: torch.device) -> Optional[int]:
    """Bytes free for a new allocation on ``device``: CUDA's free memory
    (:func:`torch.cuda.mem_get_info`), or the CPU's ``MemAvailable`` from
    ``/proc/meminfo``; :obj:`None` when unknown (other systems, other
    devices).
    """
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type == "cpu":
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            return None
    return None


def estimate_full_batch_memory(method: torch.nn.Module, data: Data,
                               device: torch.device) -> int:
    r"""Estimated peak bytes of one full-batch step of a two-view method.

    A deliberately simple upper-side estimate (element size :math:`s`,
    :math:`N` nodes, :math:`F` features, :math:`E` edges): the graph when it
    has to be copied to the device (:math:`NFs + 16E`); two views
    (:math:`2NFs + 2 \cdot 24E`: masked features, kept edges, the
    normalised sparse adjacency); for each view and each weight matrix
    ``[out, in]`` of the method (encoder, projection head, centres) four
    ``[N, out]`` activations; the InfoNCE blocks (:math:`4 \cdot B \cdot
    2N s`, :math:`B` the rows of its default block on the device) or,
    when the loss may cache them (``cache_mb``), its strips (:math:`2N^2 s`);
    parameters with Adam's state (:math:`4P s`).

    Args:
        method (torch.nn.Module): The method.
        data (Data): The training graph.
        device (torch.device): Where training runs.

    Returns:
        int: Bytes.
    """
    x = data.x
    n, f = data.num_nodes, (x.size(1) if x is not None and x.dim() == 2 else 0)
    e = data.edge_index.size(1) if data.edge_index is not None else 0
    s = x.element_size() if x is not None else 4
    if x is not None and x.is_sparse:
        feat = x._nnz() * (s + 16)
    else:
        feat = n * f * s
    total = 0
    if x is not None and x.device != torch.device(device):
        total += feat + 16 * e
    total += 2 * feat + 2 * 24 * e
    widths = sum(p.size(0) for p in method.parameters() if p.dim() == 2)
    total += 2 * _ACTIVATIONS_PER_LAYER * n * widths * s
    strips = 2 * n * n * s
    loss = _loss_module(method)
    cache = float(getattr(loss, "cache_mb", 0.0) or 0.0) * 2**20
    block = _default_block(2 * n, torch.device(device))  # the loss's own choice
    total += strips if strips <= cache else _LOSS_BLOCKS * block * 2 * n * s
    total += 4 * sum(p.numel() for p in method.parameters()) * s
    return int(total)


def _loss_module(method: torch.nn.Module) -> Optional[torch.nn.Module]:
    for module in (method, getattr(method, "base", None)):
        loss = getattr(module, "loss", None)
        if isinstance(loss, torch.nn.Module):
            return loss
    return None


def check_full_batch_memory(method: torch.nn.Module, data: Data,
                            device: torch.device,
                            limit: Optional[int] = None) -> Optional[int]:
    """Raises :class:`InsufficientMemoryError` when the estimate of
    :func:`estimate_full_batch_memory` exceeds the available memory.

    Args:
        method (torch.nn.Module): The method.
        data (Data): The training graph.
        device (torch.device): Where training runs.
        limit (int, optional): Bytes available (default: :obj:`None`,
            :func:`available_memory`).

    Returns:
        int or None: The estimate, or :obj:`None` when the available memory
        is unknown or ``data`` is not a homogeneous graph with nodes (the estimate is
        for two-view methods on :class:`~torch_geometric.data.Data`;
        recommenders train in mini-batches and heterogeneous methods are
        not covered): nothing is checked then.
    """
    if not isinstance(data, Data) or not data.num_nodes:
        return None
    available = available_memory(device) if limit is None else int(limit)
    if available is None:
        return None
    estimate = estimate_full_batch_memory(method, data, device)
    if estimate > available:
        raise InsufficientMemoryError(estimate, available, torch.device(device))
    return estimate
