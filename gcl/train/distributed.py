r"""Process-group helpers of :func:`gcl.fit`'s ``distributed=True`` mode.

:func:`gcl.fit` trains with :class:`~torch.nn.parallel.DistributedDataParallel`
when launched by ``torchrun`` (or inside a process group you initialised):
every process samples its own share of the seed nodes each epoch
(:class:`torch.utils.data.DistributedSampler`, the same permutation on all
processes), encodes its subgraphs, gathers the other processes'
embeddings as negatives (:func:`gcl.losses.gather_negatives`) and DDP
averages the gradients, which makes them those of the global batch.
"""

from __future__ import annotations

import inspect
import os
from typing import Optional

import torch
import torch.distributed as dist
from torch import Tensor

from gcl.methods.base import Method
from gcl.methods.minibatch import batch_step

__all__ = ["init_distributed", "is_main_process", "rank_and_world",
           "BatchObjective", "all_reduce_mean", "ddp"]


def init_distributed(device: Optional[torch.device] = None) -> torch.device:
    """Joins (or reuses) the default process group; returns this process's
    device.

    Without an initialised group, one is created from ``torchrun``'s
    environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``,
    ``MASTER_PORT``) with the ``nccl`` back end on CUDA and ``gloo`` on the
    CPU. On CUDA each process takes ``cuda:LOCAL_RANK`` unless ``device``
    names one.

    Raises:
        ValueError: If no group is initialised and the environment does not
            describe one (not launched by ``torchrun``).
    """
    cuda = torch.cuda.is_available() and (device is None or
                                          torch.device(device).type == "cuda")
    if not dist.is_initialized():
        missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")
                   if k not in os.environ]
        if missing:
            raise ValueError(
                f"distributed=True needs a torch.distributed process group: "
                f"launch with torchrun (e.g. torchrun --nproc_per_node 2 "
                f"train.py) or call torch.distributed.init_process_group first "
                f"(missing environment variables {', '.join(missing)})")
        dist.init_process_group("nccl" if cuda else "gloo")
    if device is not None and torch.device(device).index is not None:
        return torch.device(device)
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank() %
                                   max(1, torch.cuda.device_count())))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu") if device is None else torch.device(device)


def rank_and_world() -> tuple[int, int]:
    """``(rank, world_size)``, ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main_process() -> bool:
    """Whether this is rank 0 (or there is no process group)."""
    return rank_and_world()[0] == 0


def all_reduce_mean(value: float, device: torch.device) -> float:
    """The mean of ``value`` over all processes."""
    t = torch.tensor([float(value)], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()


class BatchObjective(torch.nn.Module):
    """``forward(batch) -> loss`` of a method's mini-batch step
    (:func:`gcl.methods.batch_step`), the module that DDP wraps so that the
    gradients of every parameter (encoder, projection head, centres) are
    averaged over the processes.
    """

    def __init__(self, method: Method):
        super().__init__()
        self.method = method

    def forward(self, batch) -> Tensor:
        """The loss of one mini-batch step on ``batch``."""
        return batch_step(self.method, batch).loss


def ddp(module: torch.nn.Module, device: torch.device,
        find_unused_parameters: bool = False
        ) -> torch.nn.parallel.DistributedDataParallel:
    """``module`` in :class:`~torch.nn.parallel.DistributedDataParallel`.

    Buffers (a method's fitted graph statistics, equal on every process)
    are not re-broadcast before each forward pass. ``find_unused_parameters``
    is for methods whose steps may leave parameters unused
    (:attr:`gcl.methods.Method.may_skip_parameters`, gCooL's centres); it
    costs a traversal of the autograd graph per step, so it is off otherwise.
    """
    params = inspect.signature(torch.nn.parallel.DistributedDataParallel).parameters
    sync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in params
            else {"broadcast_buffers": False})
    return torch.nn.parallel.DistributedDataParallel(
        module, device_ids=[device.index] if device.type == "cuda" else None,
        find_unused_parameters=find_unused_parameters, **sync)
