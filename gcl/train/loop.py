"""The one training loop: :func:`fit`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Optional, Union

import torch
from torch_geometric import seed_everything
from torch_geometric.data import Data

try:  # tqdm.auto warns in Jupyter without ipywidgets: use the text bar then
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm import tqdm

from gcl.methods.base import Method
from gcl.train.checkpoint import Checkpoint, get_rng_state, set_rng_state, to_plain
from gcl.train.early_stopping import EarlyStopping
from gcl.train.errors import NonFiniteLossError
from gcl.train.history import History

__all__ = ["fit", "resolve_device"]

#: Layout version of the checkpoint dict; :func:`fit` refuses other versions.
CHECKPOINT_FORMAT = 2

EvalFn = Callable[[Method, Data], dict]


def resolve_device(device: Union[str, torch.device, None] = "auto") -> torch.device:
    """``"auto"`` picks CUDA when available, else CPU."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def fit(
    method: Method,
    data: Data,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: Optional[torch.optim.Optimizer] = None,
    device: Union[str, torch.device, None] = "auto",
    seed: Optional[int] = None,
    eval_fn: Optional[EvalFn] = None,
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
    ``method.set_epoch(epoch)`` (the schedule hook), sets each parameter
    group's learning rate to ``method.learning_rate(epoch, initial_lr)``
    unless that is :obj:`None` (the default: the rate is left alone), and
    takes one optimisation step on ``loss = method(data)``, evaluates when due, feeds
    the monitored value to an :class:`EarlyStopping` tracker and writes a
    :class:`Checkpoint` when due.

    Mini-batch methods (the recommenders) return the epoch's batches from
    ``method.epoch_batches(data)`` (drawn from torch's RNG, so seeded runs repeat
    them); the epoch then takes one step per batch on ``loss =
    method(data, batch)`` and records the mean batch loss. Full-batch
    methods return :obj:`None` there (the default).

    Args:
        method (Method): The contrastive method.
        data (Data): The training graph (moved to ``device``), or the
            :class:`~gcl.datasets.InteractionData` of a recommender.
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
            the best monitored epoch at the end, also when that epoch came
            before a resumed interruption. (default: :obj:`True`)
        checkpoint (str or Path, optional): File for atomic checkpoints
            (model, optimizer, RNG states, history, early-stopping state with
            the best weights); see :class:`Checkpoint`. (default: :obj:`None`)
        checkpoint_every (int, optional): Checkpoint period in epochs; the
            last epoch is always saved. (default: :obj:`50`)
        resume (bool, optional): Continue from ``checkpoint`` when it
            exists. A resumed run continues exactly where it stopped. The
            file is loaded with ``weights_only=True``: one holding anything
            but tensors and plain values is refused, never unpickled.
            (default: :obj:`False`)
        progress (bool, optional): Show a tqdm progress bar.
            (default: :obj:`True`)

    Returns:
        History: losses and seconds per epoch, evaluations, early stopping.

    Raises:
        ValueError: For bad arguments, a malformed graph or one that does not
            fit the method (:func:`gcl.datasets.check_graph` with
            :func:`gcl.datasets.expected_input`), or a checkpoint that cannot
            be loaded safely.
        NonFiniteLossError: If the loss becomes NaN or inf (names the epoch).
    """
    _check_arguments(epochs, eval_fn, monitor, mode, checkpoint,
                     checkpoint_every, resume)
    method.check_input(data)
    dev = resolve_device(device)
    if seed is not None:
        seed_everything(seed)
        method.reset_parameters()
    method, data = method.to(dev), data.to(dev)
    method.prepare(data)
    if optimizer is None:
        optimizer = torch.optim.Adam(method.parameters(), lr=lr,
                                     weight_decay=weight_decay)
    stopper = EarlyStopping("min" if monitor == "loss" else mode, patience,
                            min_delta, restore_best)
    ckpt = Checkpoint(checkpoint) if checkpoint is not None else None
    history = History()
    if resume and ckpt.exists():
        history = _resume(ckpt, method, optimizer, stopper)
    start = (history.resumed_from or 0) + 1
    bar = tqdm(range(start, epochs + 1), disable=not progress, leave=False,
               desc=type(method).__name__, initial=start - 1, total=epochs)
    for epoch in bar:
        loss, seconds = _train_step(method, optimizer, data, epoch, dev)
        history.loss.append(loss)
        history.seconds.append(seconds)
        bar.set_postfix(loss=f"{loss:.4f}")
        metrics = None
        if eval_fn is not None and (
                (eval_every and epoch % eval_every == 0) or epoch == epochs):
            metrics = dict(eval_fn(method, data))
            history.evals.append({"epoch": epoch, **metrics})
        value = _monitored(monitor, loss, metrics)
        stop = value is not None and stopper.step(value, epoch, method)
        history.best_epoch = stopper.best_epoch
        if stop:
            history.stopped_epoch = epoch
        if ckpt is not None and (stop or epoch == epochs
                                 or epoch % checkpoint_every == 0):
            _save(ckpt, epoch, method, optimizer, history, stopper)
        if stop:
            break
    bar.close()
    stopper.restore(method)
    method.eval()
    return history


def _check_arguments(epochs: int, eval_fn: Optional[EvalFn], monitor: Optional[str],
                     mode: str, checkpoint: Union[str, Path, None],
                     checkpoint_every: int, resume: bool) -> None:
    """Raises a :class:`ValueError` for arguments of :func:`fit` that clash."""
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if monitor is not None and monitor != "loss" and eval_fn is None:
        raise ValueError(f"monitor={monitor!r} needs an eval_fn to compute it")
    if mode not in ("max", "min"):
        raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs a checkpoint path")
    if checkpoint is not None and checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")


def _train_step(method: Method, optimizer: torch.optim.Optimizer, data: Data,
                epoch: int, dev: torch.device) -> tuple[float, float]:
    """One optimisation step; returns the loss and the seconds it took.

    Raises:
        NonFiniteLossError: If the loss is NaN or inf (before the update).
    """
    t0 = time.perf_counter()
    method.train()
    method.set_epoch(epoch)
    _set_learning_rate(method, optimizer, epoch)
    batches = method.epoch_batches(data)
    if batches is None:
        value = _step(method, optimizer, epoch, data)
    else:
        total, count = 0.0, 0
        for batch in batches:
            total += _step(method, optimizer, epoch, data, batch)
            count += 1
        value = total / max(count, 1)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return value, time.perf_counter() - t0


def _set_learning_rate(method: Method, optimizer: torch.optim.Optimizer,
                       epoch: int) -> None:
    """Applies the method's learning-rate hook to every parameter group
    (``initial_lr`` is kept in the group, as torch's schedulers do, so it is
    checkpointed with the optimiser).
    """
    for group in optimizer.param_groups:
        lr = method.learning_rate(epoch, group.setdefault("initial_lr", group["lr"]))
        if lr is not None:
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr >= 0):
                raise ValueError(f"{type(method).__name__}.learning_rate({epoch}) "
                                 f"returned {lr!r}, not a finite rate >= 0")
            group["lr"] = float(lr)


def _step(method: Method, optimizer: torch.optim.Optimizer, epoch: int,
          data: Data, *batch) -> float:
    """One optimisation step on ``method(data, *batch)``; returns the loss."""
    optimizer.zero_grad()
    loss = method(data, *batch)
    value = float(loss.detach())
    if not math.isfinite(value):
        raise NonFiniteLossError(epoch, value)
    loss.backward()
    optimizer.step()
    return value


def _monitored(monitor: Optional[str], loss: float,
               metrics: Optional[dict]) -> Optional[float]:
    """The value early stopping checks this epoch, or None when there is none."""
    if monitor == "loss":
        return loss
    if monitor is None or metrics is None:
        return None
    if monitor not in metrics:
        raise KeyError(f"eval_fn returned {sorted(metrics)}, "
                       f"no monitored key {monitor!r}")
    return float(metrics[monitor])


def _save(ckpt: Checkpoint, epoch: int, method: Method,
          optimizer: torch.optim.Optimizer, history: History,
          stopper: EarlyStopping) -> None:
    """Writes everything a resumed run needs, as tensors and plain values."""
    ckpt.save({"format": CHECKPOINT_FORMAT, "epoch": epoch,
               "method": method.state_dict(), "optimizer": optimizer.state_dict(),
               "history": to_plain(history.to_dict()),
               "early_stopping": stopper.state_dict(), "rng": get_rng_state()})


def _resume(ckpt: Checkpoint, method: Method, optimizer: torch.optim.Optimizer,
            stopper: EarlyStopping) -> History:
    """Loads :func:`_save`'s state into the objects; returns the history."""
    state = ckpt.load()
    if state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{ckpt.path} has checkpoint format "
                         f"{state.get('format')!r}, this gcl reads format "
                         f"{CHECKPOINT_FORMAT}: train that run again from the start")
    method.load_state_dict(state["method"])
    optimizer.load_state_dict(state["optimizer"])
    stopper.load_state_dict(state["early_stopping"])
    set_rng_state(state["rng"])
    history = History(**state["history"])
    history.resumed_from = state["epoch"]
    return history
