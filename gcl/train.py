"""The one training loop: :func:`fit`."""

from __future__ import annotations

import math
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
from torch_geometric import seed_everything
from torch_geometric.data import Data
from tqdm.auto import tqdm

from gcl.methods.base import Method, check_graph

__all__ = ["History", "NonFiniteLossError", "fit", "resolve_device"]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message names the epoch."""

    def __init__(self, epoch: int, value: float):
        self.epoch, self.value = epoch, value
        super().__init__(
            f"loss is {value} at epoch {epoch}: training diverged. Try a lower "
            f"learning rate or a higher temperature, and check the input "
            f"features for extreme values.")


@dataclass
class History:
    """What :func:`fit` returns.

    Attributes:
        loss (list[float]): Training loss per epoch.
        seconds (list[float]): Wall-clock seconds per epoch (training step
            only, evaluation excluded).
        evals (list[dict]): ``{"epoch": e, **metrics}`` for each evaluation.
        best_epoch (int or None): Epoch with the best monitored value, when
            early stopping or evaluation monitors one.
        stopped_epoch (int or None): Epoch at which early stopping stopped.
        resumed_from (int or None): Last epoch found in the checkpoint.
    """

    loss: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    evals: list = field(default_factory=list)
    best_epoch: Optional[int] = None
    stopped_epoch: Optional[int] = None
    resumed_from: Optional[int] = None

    @property
    def epochs(self) -> int:
        """Number of epochs trained."""
        return len(self.loss)

    @property
    def seconds_per_epoch(self) -> float:
        """Median seconds per epoch (robust to the first, slower one)."""
        return float(np.median(self.seconds)) if self.seconds else float("nan")

    def to_dict(self) -> dict:
        """A JSON-serialisable copy."""
        return asdict(self)


def resolve_device(device: Union[str, torch.device, None] = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_atomic(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)  # atomic on POSIX and Windows
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def fit(
    method: Method,
    data: Data,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: Optional[torch.optim.Optimizer] = None,
    device: Union[str, torch.device, None] = "auto",
    seed: Optional[int] = None,
    eval_fn: Optional[Callable[[Method, Data], dict]] = None,
    eval_every: int = 0,
    monitor: Optional[str] = None,
    mode: str = "max",
    patience: Optional[int] = None,
    min_delta: float = 0.0,
    restore_best: bool = True,
    checkpoint: Union[str, Path, None] = None,
    checkpoint_every: int = 50,
    resume: bool = False,
    progress: bool = True,
) -> History:
    r"""Trains ``method`` on ``data`` full-batch with Adam.

    Every method uses this loop: ``method.prepare(data)`` once (graph
    statistics such as communities or centralities), then each epoch calls
    ``method.set_epoch(epoch)`` (the schedule hook) and takes one
    optimisation step on ``loss = method(data)``.

    Args:
        method (Method): The contrastive method.
        data (Data): The training graph (moved to ``device``).
        epochs (int): Number of epochs (steps).
        lr (float, optional): Adam learning rate. (default: :obj:`1e-3`)
        weight_decay (float, optional): Adam weight decay.
            (default: :obj:`0.0`)
        optimizer (torch.optim.Optimizer, optional): Use this optimizer
            instead of Adam. (default: :obj:`None`)
        device (str, optional): ``"auto"`` (CUDA if available), ``"cpu"``,
            ``"cuda:0"`` ... (default: :obj:`"auto"`)
        seed (int, optional): Seeds Python, NumPy and torch, then resets the
            method's parameters (``reset_parameters``) so a seeded run
            repeats whatever happened before the call; :obj:`None` keeps the
            current weights and RNG state. (default: :obj:`None`)
        eval_fn (Callable, optional): ``eval_fn(method, data) -> dict`` of
            metrics, called every ``eval_every`` epochs and after the last.
            It must only use training/validation information if its output
            is monitored. (default: :obj:`None`)
        eval_every (int, optional): Evaluation period; 0 evaluates after the
            last epoch only. (default: :obj:`0`)
        monitor (str, optional): Early-stopping quantity: ``"loss"`` or a key
            of ``eval_fn``'s dict (e.g. a validation accuracy). Never a test
            metric. (default: :obj:`None`, no early stopping)
        mode (str, optional): ``"max"`` or ``"min"`` for ``monitor``
            (``"loss"`` is always minimised). (default: :obj:`"max"`)
        patience (int, optional): Stop after this many checks without an
            improvement of at least ``min_delta``. (default: :obj:`None`)
        min_delta (float, optional): Minimum improvement. (default: ``0``)
        restore_best (bool, optional): With ``monitor``, load the weights of
            the best monitored epoch at the end. (default: :obj:`True`)
        checkpoint (str or Path, optional): File for atomic checkpoints
            (model, optimizer, RNG states, history). (default: :obj:`None`)
        checkpoint_every (int, optional): Checkpoint period in epochs; the
            last epoch is always saved. (default: :obj:`50`)
        resume (bool, optional): Continue from ``checkpoint`` when it
            exists. A resumed run continues exactly where it stopped.
            (default: :obj:`False`)
        progress (bool, optional): Show a tqdm progress bar.
            (default: :obj:`True`)

    Returns:
        History: losses and seconds per epoch, evaluations, early stopping.

    Raises:
        NonFiniteLossError: If the loss becomes NaN or inf (names the epoch).
    """
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if monitor is not None and monitor != "loss" and eval_fn is None:
        raise ValueError(f"monitor={monitor!r} needs an eval_fn to compute it")
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    check_graph(data)
    dev = resolve_device(device)
    if seed is not None:
        seed_everything(seed)
        method.reset_parameters()
    method = method.to(dev)
    data = data.to(dev)
    method.prepare(data)
    if optimizer is None:
        optimizer = torch.optim.Adam(method.parameters(), lr=lr,
                                     weight_decay=weight_decay)
    history = History()
    ckpt = Path(checkpoint) if checkpoint is not None else None
    start = 1
    sign = -1.0 if (monitor == "loss" or mode == "min") else 1.0
    best, bad = -math.inf, 0
    best_state: Optional[dict] = None
    if resume and ckpt is not None and ckpt.exists():
        state = torch.load(ckpt, map_location=dev, weights_only=False)
        method.load_state_dict(state["method"])
        optimizer.load_state_dict(state["optimizer"])
        history = History(**state["history"])
        best, bad = state["best"], state["bad"]
        _set_rng_state(state["rng"])
        start = state["epoch"] + 1
        history.resumed_from = state["epoch"]

    def save(epoch: int) -> None:
        if ckpt is not None:
            _save_atomic({"epoch": epoch, "method": method.state_dict(),
                          "optimizer": optimizer.state_dict(),
                          "history": history.to_dict(), "best": best,
                          "bad": bad, "rng": _rng_state()}, ckpt)

    bar = tqdm(range(start, epochs + 1), disable=not progress, leave=False,
               desc=type(method).__name__, initial=start - 1, total=epochs)
    for epoch in bar:
        t0 = time.perf_counter()
        method.train()
        method.set_epoch(epoch)
        optimizer.zero_grad()
        loss = method(data)
        value = float(loss.detach())
        if not math.isfinite(value):
            raise NonFiniteLossError(epoch, value)
        loss.backward()
        optimizer.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        history.loss.append(value)
        history.seconds.append(time.perf_counter() - t0)
        bar.set_postfix(loss=f"{value:.4f}")

        checked = None
        if eval_fn is not None and (
                (eval_every and epoch % eval_every == 0) or epoch == epochs):
            metrics = dict(eval_fn(method, data))
            history.evals.append({"epoch": epoch, **metrics})
            if monitor is not None and monitor != "loss":
                if monitor not in metrics:
                    raise KeyError(f"eval_fn returned {sorted(metrics)}, "
                                   f"no monitored key {monitor!r}")
                checked = float(metrics[monitor])
        if monitor == "loss":
            checked = value
        stop = False
        if checked is not None:
            if sign * checked > best + min_delta:
                best, bad, history.best_epoch = sign * checked, 0, epoch
                if restore_best:
                    best_state = {k: v.detach().clone()
                                  for k, v in method.state_dict().items()}
            else:
                bad += 1
                stop = patience is not None and bad >= patience
        if stop:
            history.stopped_epoch = epoch
        if ckpt is not None and (stop or epoch == epochs
                                 or epoch % checkpoint_every == 0):
            save(epoch)
        if stop:
            break
    bar.close()
    if best_state is not None:
        method.load_state_dict(best_state)
    method.eval()
    return history
