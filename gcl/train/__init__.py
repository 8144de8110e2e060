"""The one training loop, :func:`fit`, and its parts.

:func:`fit` trains any method full-batch (or in mini-batches of sampled
subgraphs, :func:`neighbor_loader`, and across processes with
``torch.distributed``): seeding, device choice, progress
bar, periodic evaluation, early stopping (:class:`EarlyStopping`), atomic
checkpoints that load without running code (:class:`Checkpoint`), resume, and
a :class:`NonFiniteLossError` naming the epoch when the loss diverges. It
returns a :class:`History`. :func:`deterministic` runs it on PyTorch's
deterministic kernels where they exist (GPU runs that repeat).
"""

from gcl.train.checkpoint import Checkpoint
from gcl.train.determinism import deterministic
from gcl.train.early_stopping import EarlyStopping
from gcl.train.errors import NonFiniteLossError
from gcl.train.history import History
from gcl.train.loop import fit, resolve_device
from gcl.train.memory import (
    InsufficientMemoryError,
    available_memory,
    check_full_batch_memory,
    estimate_full_batch_memory,
)
from gcl.train.sampling import (
    GlobalNegativesLoader,
    TorchNeighborSampler,
    draw_nodes,
    neighbor_loader,
)

__all__ = [
    "fit",
    "History",
    "NonFiniteLossError",
    "EarlyStopping",
    "Checkpoint",
    "resolve_device",
    "deterministic",
    "neighbor_loader",
    "TorchNeighborSampler",
    "GlobalNegativesLoader",
    "draw_nodes",
    "InsufficientMemoryError",
    "available_memory",
    "estimate_full_batch_memory",
    "check_full_batch_memory",
]
