"""The one training loop: :func:`fit`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import Optional, Union

import torch
import torch.distributed as dist
from torch import Tensor
from torch_geometric import seed_everything
from torch_geometric.data import Data

try:  # tqdm.auto warns in Jupyter without ipywidgets: use the text bar then
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm import tqdm

from gcl.losses import gather_negatives
from gcl.methods.base import Method
from gcl.methods.minibatch import supports_batches
from gcl.train.checkpoint import Checkpoint, get_rng_state, set_rng_state, to_plain
from gcl.train.distributed import (
    BatchObjective,
    all_reduce_mean,
    ddp,
    init_distributed,
    rank_and_world,
)
from gcl.train.early_stopping import EarlyStopping
from gcl.train.errors import NonFiniteLossError
from gcl.train.history import History
from gcl.train.memory import check_full_batch_memory
from gcl.train.sampling import (
    GlobalNegativesLoader,
    check_num_negatives,
    check_num_neighbors,
    neighbor_loader,
)

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
    checkpoint_seconds: Optional[float] = None,
    resume: bool = False,
    progress: bool = True,
    batch_size: Optional[int] = None,
    num_neighbors: Optional[Sequence[int]] = None,
    num_negatives: Optional[int] = None,
    num_workers: int = 0,
    distributed: bool = False,
    check_memory: bool = True,
    memory_limit: Optional[int] = None,
) -> History:
    r"""Trains ``method`` on ``data`` with Adam, full-batch by default.

    Every method uses this loop: ``method.prepare(data)`` once (graph
    statistics such as communities or centralities), then each epoch calls
    ``method.set_epoch(epoch)`` (the schedule hook), sets each parameter
    group's learning rate to ``method.learning_rate(epoch, initial_lr)``
    unless that is :obj:`None` (the default: the rate is left alone), and
    takes one optimisation step on ``loss = method(data)``, evaluates when due, feeds
    the monitored value to an :class:`EarlyStopping` tracker and writes a
    :class:`Checkpoint` when due.

    **Full batch** (default): one step per epoch on the whole graph. Before
    it, the peak memory of a step is estimated
    (:func:`~gcl.train.memory.estimate_full_batch_memory`) and a run that
    cannot fit in the device's free memory stops at once with an
    :class:`~gcl.train.memory.InsufficientMemoryError` naming the estimate
    and the batch option.

    **Mini-batch** (``batch_size``): ``method.prepare(data)`` still runs once
    on the full graph (communities, strengths, centralities: the statistics
    the augmentors and losses index per batch); every epoch then visits the
    nodes in shuffled batches of ``batch_size`` seeds, each with a sampled
    ``num_neighbors`` subgraph (:func:`~gcl.train.neighbor_loader`), and
    takes one step per batch on :func:`gcl.methods.batch_step`: negatives
    come from the batch. The epoch's loss is the mean of its batch losses;
    ``set_epoch`` (the schedules) still runs once per epoch. Two-view
    methods (GRACE, GCA, CSGCL, gCooL) and POT around one support it.

    **Sampled global negatives** (``num_negatives`` :math:`= M`, with
    ``batch_size`` :math:`= B`): each batch also draws :math:`M` nodes
    uniformly at random from the whole graph (afresh per batch, from torch's
    generator), samples their ``num_neighbors`` subgraphs the same way and
    encodes their two views with the seeds'
    (:class:`~gcl.train.GlobalNegativesLoader`); their embeddings are
    negatives only (:func:`gcl.losses.extra_negatives`). The InfoNCE
    terms average over the :math:`B` seeds, each anchor :math:`u_i` against
    the :math:`B + M` rows of the other view and the :math:`B + M - 1`
    others of its own:

    .. math::
        \ell_i = -\log \frac{e^{\theta(u_i, v_i)/\tau + c_i}}
        {\sum_{j \leq B+M} e^{\theta(u_i, v_j)/\tau + c_j}
        + \sum_{j \leq B+M, j \neq i} e^{\theta(u_i, u_j)/\tau + c_j}}

    (:math:`c_j` CSGCL's Team-up bias :math:`\gamma S_j / \tau` of node
    :math:`j`'s strength, 0 otherwise). gCooL's DeCA and ReSC and POT's
    term stay on the seeds. With ``distributed`` every process draws its
    own :math:`M` nodes and the negatives of all processes are gathered
    like their seeds.

    **Distributed** (``distributed=True``, under ``torchrun``): every
    process trains on its share of each epoch's seeds, the method is wrapped
    in :class:`~torch.nn.parallel.DistributedDataParallel`, the InfoNCE
    losses gather the other processes' batch embeddings as negatives with
    correct gradients and split the anchor rows across processes
    (:func:`gcl.losses.gather_negatives`); the global batch is
    ``batch_size`` times the number of processes. Without ``batch_size``
    each process takes all of its share in one batch with full
    neighbourhoods (full-batch training split across processes). Rank 0
    shows progress, evaluates and writes checkpoints; each rank draws its
    own augmentations and neighbours (seed ``seed + rank``).

    **Recommenders**: methods return the epoch's batches from
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
            metric. The loss of a full-batch step is computed before its
            update, so with ``"loss"`` the tracker sees it (and keeps the
            weights) before the update: ``restore_best`` restores the
            weights that produced the lowest training loss, as HeCo's code
            does. (default: :obj:`None`, no early stopping)
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
        checkpoint_seconds (float, optional): Also save whenever this many
            seconds passed since the last save (or the start), so a long run
            on a slow machine loses at most that much work.
            (default: :obj:`None`)
        resume (bool, optional): Continue from ``checkpoint`` when it
            exists. A resumed run continues exactly where it stopped; one
            that early stopping had ended trains no further (the best
            weights are restored, as at the end of the run). The
            file is loaded with ``weights_only=True``: one holding anything
            but tensors and plain values is refused, never unpickled.
            (default: :obj:`False`)
        progress (bool, optional): Show a tqdm progress bar.
            (default: :obj:`True`)
        batch_size (int, optional): Seed nodes per mini-batch;
            :obj:`None` trains full-batch. (default: :obj:`None`)
        num_neighbors (Sequence[int], optional): Neighbours sampled per hop
            of a mini-batch, ``-1`` for all. (default: :obj:`None`, 10 per
            encoder layer; all neighbours when ``distributed`` without
            ``batch_size``)
        num_negatives (int, optional): Nodes :math:`M` drawn uniformly from
            the whole graph per mini-batch as extra negatives (see above);
            needs ``batch_size``. (default: :obj:`None`, negatives from the
            batch only)
        num_workers (int, optional): Loader worker processes.
            (default: :obj:`0`)
        distributed (bool, optional): Train with ``torch.distributed``
            (see above). (default: :obj:`False`)
        check_memory (bool, optional): Estimate the memory of full-batch
            training first and stop if it cannot fit.
            (default: :obj:`True`)
        memory_limit (int, optional): Bytes available to the check instead
            of the device's free memory. (default: :obj:`None`)

    Returns:
        History: losses and seconds per epoch, evaluations, early stopping.

    Raises:
        ValueError: For bad arguments, a malformed graph or one that does not
            fit the method (:func:`gcl.datasets.check_graph` with
            :func:`gcl.datasets.expected_input`), or a checkpoint that cannot
            be loaded safely.
        NonFiniteLossError: If the loss becomes NaN or inf (names the epoch;
            an epoch of many batches is checked once, at its end).
        InsufficientMemoryError: If full-batch training cannot fit.
    """
    _check_arguments(epochs, eval_fn, monitor, mode, checkpoint,
                     checkpoint_every, resume)
    if optimizer is None:
        _check_rates(lr, weight_decay)
    minibatch = batch_size is not None or distributed
    if minibatch:
        num_neighbors = _check_batching(method, batch_size, num_neighbors,
                                        distributed, num_workers)
    _check_num_negatives(num_negatives, batch_size, data)
    method.check_input(data)
    rank = 0
    if distributed:
        dev = init_distributed(None if device in (None, "auto")
                               else resolve_device(device))
        rank = rank_and_world()[0]
    else:
        dev = resolve_device(device)
    if seed is not None:
        seed_everything(seed)
        method.reset_parameters()
    loader = dist_sampler = None
    if minibatch:
        # Statistics of the full graph, once; batches index them.
        data = data.cpu()
        method.prepare(data)
        method = method.to(dev)
        loader, dist_sampler = _loader(data, batch_size, num_neighbors,
                                       distributed, seed, num_workers)
        if num_negatives is not None:
            loader = GlobalNegativesLoader(loader, data, num_negatives,
                                           num_neighbors,
                                           num_workers=num_workers)
        model = BatchObjective(method)
        if distributed:
            _check_same_graph(data, dev)
            model = ddp(model, dev, method.may_skip_parameters)
            if seed is not None and rank > 0:
                seed_everything(seed + rank)  # own views and neighbours
    else:
        if check_memory:
            check_full_batch_memory(method, data, dev, memory_limit)
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
        if distributed and seed is not None and rank > 0:
            seed_everything(seed + rank + 7919 * history.resumed_from)
    start = (history.resumed_from or 0) + 1
    if history.stopped_epoch is not None:  # early stopping ended that run:
        start = epochs + 1  # no more epochs, only the best weights restored
    main = rank == 0
    last_save = time.monotonic()
    bar = tqdm(range(start, epochs + 1), disable=not (progress and main),
               leave=False, desc=type(method).__name__, initial=start - 1,
               total=epochs)
    for epoch in bar:
        # With monitor="loss", a full-batch step shows its loss to the
        # tracker before the update, so the kept weights are those that
        # produced the best loss (HeCo's rule).
        pre = (lambda v, e=epoch: stopper.step(v, e, method)) \
            if monitor == "loss" and not minibatch else None
        if minibatch:
            loss, seconds = _train_epoch(model, method, optimizer, loader,
                                         dist_sampler, epoch, dev, distributed)
            pre_stop = None
        else:
            loss, seconds, pre_stop = _train_step(method, optimizer, data,
                                                  epoch, dev, pre)
        history.loss.append(loss)
        history.seconds.append(seconds)
        bar.set_postfix(loss=f"{loss:.4f}")
        metrics = None
        if main and eval_fn is not None and (
                (eval_every and epoch % eval_every == 0) or epoch == epochs):
            metrics = dict(eval_fn(method, data))
            history.evals.append({"epoch": epoch, **metrics})
        value = _monitored(monitor, loss, metrics)
        if pre_stop is not None:
            stop = pre_stop
        else:
            stop = value is not None and stopper.step(value, epoch, method)
        if distributed:  # rank 0 decides, every rank stops together
            flag = torch.tensor([int(stop)], device=dev)
            dist.broadcast(flag, 0)
            stop = bool(flag.item())
        history.best_epoch = stopper.best_epoch
        if stop:
            history.stopped_epoch = epoch
        due = checkpoint_seconds is not None and \
            time.monotonic() - last_save >= checkpoint_seconds
        if main and ckpt is not None and (stop or epoch == epochs or due
                                          or epoch % checkpoint_every == 0):
            _save(ckpt, epoch, method, optimizer, history, stopper)
            last_save = time.monotonic()
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


def _check_rates(lr: float, weight_decay: float) -> None:
    """Raises for an ``lr`` or ``weight_decay`` that Adam would reject late
    or obscurely (a string, NaN, a negative rate).
    """
    for name, value, ok in (("lr", lr, lambda v: v > 0),
                            ("weight_decay", weight_decay, lambda v: v >= 0)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not math.isfinite(value) or not ok(value):
            bound = "> 0" if name == "lr" else ">= 0"
            raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")


def _check_batching(method: Method, batch_size: Optional[int],
                    num_neighbors: Optional[Sequence[int]], distributed: bool,
                    num_workers: int) -> list[int]:
    """Validates the mini-batch options; returns the fan-out per hop."""
    if batch_size is not None and (int(batch_size) != batch_size or batch_size < 2):
        raise ValueError(f"batch_size must be an integer >= 2 (a batch needs "
                         f"negatives), got {batch_size}")
    if num_workers < 0:
        raise ValueError(f"num_workers must be >= 0, got {num_workers}")
    if not supports_batches(method):
        raise ValueError(
            f"{type(method).__name__} has no mini-batch form: batch_size and "
            f"distributed support two-view methods (GRACE, GCA, CSGCL, gCooL) "
            f"and POT around one")
    if num_neighbors is not None:
        return check_num_neighbors(num_neighbors)
    layers = int(getattr(method.encoder, "num_layers", 2))
    return [-1 if batch_size is None else 10] * layers


def _check_num_negatives(num_negatives: Optional[int],
                         batch_size: Optional[int], data: Data) -> None:
    """Validates ``num_negatives`` (sampled global negatives per batch)."""
    if num_negatives is None:
        return
    check_num_negatives(num_negatives, getattr(data, "num_nodes", None))
    if batch_size is None:
        raise ValueError("num_negatives (sampled global negatives) needs "
                         "mini-batch training: set batch_size too")


def _loader(data: Data, batch_size: Optional[int], num_neighbors: list[int],
            distributed: bool, seed: Optional[int], num_workers: int):
    """The epoch's batches: shuffled node batches, or this process's share
    of a permutation common to all processes.
    """
    if not distributed:
        # A last batch of one node has no negative: drop it (a different
        # node each epoch).
        return neighbor_loader(data, batch_size, num_neighbors, shuffle=True,
                               drop_last=data.num_nodes % batch_size == 1,
                               num_workers=num_workers), None
    rank, world = rank_and_world()
    sampler = torch.utils.data.DistributedSampler(
        range(data.num_nodes), num_replicas=world, rank=rank, shuffle=True,
        seed=seed or 0, drop_last=True)
    share = len(sampler)
    if share < 2:
        raise ValueError(f"{data.num_nodes} nodes over {world} processes leave "
                         f"{share} per process; InfoNCE needs at least 2")
    size = share if batch_size is None else min(int(batch_size), share)
    # Equal batches everywhere: every process runs the same collectives.
    return neighbor_loader(data, size, num_neighbors, shuffle=False,
                           drop_last=True, sampler=sampler,
                           num_workers=num_workers), sampler


def _check_same_graph(data: Data, dev: torch.device) -> None:
    """Every process must hold the same graph (or their collectives would
    not match and training would hang).
    """
    mine = torch.tensor([data.num_nodes, data.edge_index.size(1)], device=dev)
    sizes = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, mine)
    if any(not torch.equal(s, mine) for s in sizes):
        raise ValueError(
            f"distributed=True needs the same graph on every process, got "
            f"(nodes, edges) = {[tuple(s.tolist()) for s in sizes]}: load it "
            f"the same way (and with the same seed) on every rank")


def _train_epoch(model: torch.nn.Module, method: Method,
                 optimizer: torch.optim.Optimizer, loader, dist_sampler,
                 epoch: int, dev: torch.device,
                 distributed: bool) -> tuple[float, float]:
    """One epoch of mini-batch steps; returns the mean batch loss and the
    seconds it took.

    Raises:
        NonFiniteLossError: If the epoch's mean batch loss is NaN or inf
            (see :func:`_epoch_mean`).
    """
    t0 = time.perf_counter()
    if dist_sampler is not None:
        dist_sampler.set_epoch(epoch)
    method.train()
    method.set_epoch(epoch)
    total, count = None, 0
    for batch in loader:
        batch = batch.to(dev)
        optimizer.zero_grad()
        with gather_negatives() if distributed else nullcontext():
            loss = model(batch)
        loss.backward()
        optimizer.step()
        total = _add_loss(total, loss)
        count += 1
    # the global loss: every process sees the same value and stops alike
    value = _epoch_mean(total, count, epoch, dev, distributed)
    return value, time.perf_counter() - t0


def _add_loss(total: Optional[Tensor], loss: Tensor) -> Tensor:
    """The epoch's running sum of batch losses, kept on the loss's device in
    float64 (the same additions as summing Python floats): reading each
    batch's loss would make the host wait for the device at every step.
    """
    loss = loss.detach().double()
    return loss if total is None else total + loss


def _epoch_mean(total: Optional[Tensor], count: int, epoch: int,
                dev: torch.device, distributed: bool = False) -> float:
    """The mean batch loss of an epoch, read once (one synchronisation per
    epoch); over all processes when ``distributed``.

    A NaN or infinite batch loss makes the sum non-finite (nothing cancels
    it), so a diverged batch is caught here, at the end of its epoch: the
    run stops with the epoch named, after that epoch's updates (a full-batch
    step is checked before its update).

    Raises:
        NonFiniteLossError: If the mean is NaN or inf.
    """
    value = float(total) / count if count else 0.0
    if distributed:
        value = all_reduce_mean(value, dev)
    if not math.isfinite(value):
        raise NonFiniteLossError(epoch, value)
    return value


def _train_step(method: Method, optimizer: torch.optim.Optimizer, data: Data,
                epoch: int, dev: torch.device,
                before_update: Optional[Callable[[float], bool]] = None
                ) -> tuple[float, float, Optional[bool]]:
    """One epoch's optimisation step(s); returns the loss, the seconds it
    took and, for a full-batch step with ``before_update``, what that
    callback returned (called with the loss before the weights change);
    :obj:`None` otherwise.

    Raises:
        NonFiniteLossError: If the loss is NaN or inf: a full-batch step's
            before its update, a batched epoch's at its end
            (:func:`_epoch_mean`).
    """
    t0 = time.perf_counter()
    method.train()
    method.set_epoch(epoch)
    _set_learning_rate(method, optimizer, epoch)
    batches = method.epoch_batches(data)
    seen = None
    if batches is None:
        value, seen = _step(method, optimizer, epoch, data,
                            before_update=before_update)
    else:
        total, count = None, 0
        for batch in batches:
            optimizer.zero_grad()
            loss = method(data, batch)
            loss.backward()
            optimizer.step()
            total = _add_loss(total, loss)
            count += 1
        value = _epoch_mean(total, count, epoch, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    return value, time.perf_counter() - t0, seen


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
          data: Data, before_update: Optional[Callable[[float], bool]] = None
          ) -> tuple[float, Optional[bool]]:
    """One full-batch optimisation step on ``method(data)``; returns the
    loss and what ``before_update(loss)`` returned (called before the
    update).
    """
    optimizer.zero_grad()
    loss = method(data)
    value = float(loss.detach())
    if not math.isfinite(value):
        raise NonFiniteLossError(epoch, value)
    seen = before_update(value) if before_update is not None else None
    loss.backward()
    optimizer.step()
    return value, seen


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
