"""Deterministic GPU arithmetic for a run, and a list of what was not.

On a GPU, PyG's message passing sums messages with atomic adds whose order
changes from run to run, so two runs with the same seed follow different
trajectories; at a large learning rate they can end several points apart
(GRACE on Amazon Photo, seed 0, lr 0.1: 92.06 and 85.42 on two GPU runs of
the same code, ``benchmarks/notes/grace.md``). :func:`deterministic` switches
PyTorch to its deterministic kernels for the duration of a run, where they
exist, and records the operations that have none instead of failing on them.
On the CPU every kernel gcl uses is deterministic already.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["deterministic"]

# cuBLAS needs a fixed workspace to be deterministic (CUDA >= 10.2); see
# https://docs.nvidia.com/cuda/cublas/index.html#results-reproducibility
_CUBLAS = "CUBLAS_WORKSPACE_CONFIG"
# torch's alert under warn_only=True: "<op> does not have a deterministic
# implementation, but you set 'torch.use_deterministic_algorithms(True,
# warn_only=True)'..."
_ALERT = re.compile(r"^(.*?) does not have a deterministic implementation")


@contextmanager
def deterministic(enabled: bool = True) -> Iterator[list[str]]:
    r"""Runs the enclosed code with PyTorch's deterministic algorithms.

    Inside, :func:`torch.use_deterministic_algorithms` is on with
    ``warn_only=True`` (an operation without a deterministic kernel runs
    anyway, and its name is collected instead of raising), cuDNN's
    benchmark autotuning is off, and ``CUBLAS_WORKSPACE_CONFIG`` is
    ``":4096:8"`` unless already set (cuBLAS reads it when its handle is
    created, so enter the context before the first CUDA matrix product of
    the process). Everything is restored on exit. Seeds are not touched:
    seed as usual (``gcl.fit(seed=...)``).

    .. code-block:: python

        with gcl.train.deterministic() as nondeterministic:
            gcl.fit(model, data, epochs=2000, seed=0, device="cuda")
        assert not nondeterministic, nondeterministic

    Args:
        enabled (bool, optional): :obj:`False` makes the context a no-op
            (handy for a flag). (default: :obj:`True`)

    Yields:
        list[str]: Filled while the context runs with the name of each
        operation, once, that ran without a deterministic kernel (empty:
        the run was deterministic). Other warnings pass through.
    """
    alerts: list[str] = []
    if not enabled:
        yield alerts
        return
    was_on = torch.are_deterministic_algorithms_enabled()
    was_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    was_benchmark = torch.backends.cudnn.benchmark
    set_cublas = _CUBLAS not in os.environ
    if set_cublas:
        os.environ[_CUBLAS] = ":4096:8"
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    show = warnings.showwarning

    def collect(message, category, filename, lineno, file=None, line=None):
        match = _ALERT.match(str(message))
        if match is None:
            show(message, category, filename, lineno, file, line)
        elif match.group(1) not in alerts:
            alerts.append(match.group(1))

    try:
        with warnings.catch_warnings():
            # every alert reaches `collect`, not only the first per place
            warnings.filterwarnings("always", message=_ALERT.pattern[1:])
            warnings.showwarning = collect
            yield alerts
    finally:
        torch.use_deterministic_algorithms(was_on, warn_only=was_warn_only)
        torch.backends.cudnn.benchmark = was_benchmark
        if set_cublas:
            os.environ.pop(_CUBLAS, None)
