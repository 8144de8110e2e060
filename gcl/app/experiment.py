"""One experiment from a config: load, build, train, evaluate, save.

This is what ``gcl train`` and the benchmark harness run; in a notebook::

    from gcl.app.experiment import run_experiment
    exp = run_experiment("grace", "Cora", seed=0)
    print(exp.result)          # accuracy under the config's protocol
    exp.save("runs/cora")      # embeddings, metrics.json, config.yaml, loss.png

:func:`run_experiment` loads the config (with its overrides) and hands it to
:func:`run_config`, which runs an already-loaded config dict; the benchmark
harness calls the latter directly. A node-embedding method is trained and
scored here (its protocol, optionally at scored epochs under the reporting
rules); a recommender goes to :func:`gcl.app.ranking.run_ranking`. Both
return an :class:`~gcl.app.record.Experiment`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Optional, Union

import torch
from torch import Tensor
from torch_geometric.data import HeteroData

from gcl.app.config import load_config, protocol_options
from gcl.app.ranking import run_ranking
from gcl.app.record import (
    Experiment,
    OtherLoad,
    check_health,
    machine_info,
    peak_memory_mb,
    validation_score,
)
from gcl.datasets import load
from gcl.eval import (
    PROTOCOLS,
    REPORTING_RULES,
    EvalResult,
    cluster_metrics,
    clustering,
    link_prediction,
    node_classification,
    report_over_epochs,
)
from gcl.methods import RECOMMENDERS, Method, build_method, resolve
from gcl.train import History, deterministic, fit, resolve_device
from gcl.train.checkpoint import get_rng_state, set_rng_state

# Experiment is what run_config returns; its record lives in gcl.app.record
__all__ = ["Experiment", "run_config", "run_experiment"]

_TASKS = ("classification", "clustering", "link", "ranking")


def run_experiment(method: str, dataset: str, *, seed: Optional[int] = None,
                   epochs: Optional[int] = None, overrides: Iterable[str] = (),
                   root: Optional[str] = None, device: str = "auto",
                   protocol: Optional[str] = None, progress: bool = True,
                   checkpoint: Union[str, Path, None] = None,
                   resume: bool = False,
                   tasks: Iterable[str] = ("classification",),
                   deterministic_algorithms: bool = False) -> Experiment:
    """Trains and evaluates ``method`` on ``dataset`` with its config.

    Args:
        method (str): Method name (``"grace"``).
        dataset (str): Dataset name; its config ``gcl/configs/<method>/`` must
            exist.
        seed (int, optional): Overrides the config's seed.
        epochs (int, optional): Overrides ``train.epochs``.
        overrides (Iterable[str]): Dotted ``key=value`` overrides.
        root (str, optional): Data root (see :func:`gcl.datasets.load`).
        device (str, optional): ``"auto"``, ``"cpu"``, ``"cuda"``...
        protocol (str, optional): Overrides ``eval.protocol``.
        progress (bool, optional): Show the progress bar.
        checkpoint (str or Path, optional): Checkpoint file for :func:`fit`.
        resume (bool, optional): Resume from ``checkpoint``.
        tasks (Iterable[str], optional): Evaluations to run besides training:
            ``"classification"`` (the config's protocol), ``"clustering"``
            (k-means on the same embeddings) and ``"link"`` (a second model
            trained on the 85 % training edges only, scored on held-out
            edges; see :func:`gcl.eval.link_prediction`). The first task is
            the experiment's main ``result``. (default: classification)
        deterministic_algorithms (bool, optional): See :func:`run_config`.
            (default: :obj:`False`)
    """
    tasks = _check_tasks(tasks)
    extra = list(overrides)
    if seed is not None:
        extra.append(f"seed={seed}")
    if epochs is not None:
        extra.append(f"train.epochs={epochs}")
    if protocol is not None:
        extra.append(f"eval.protocol={protocol}")
    cfg = load_config(method, dataset, extra)
    return run_config(cfg, root=root, device=device, progress=progress,
                      checkpoint=checkpoint, resume=resume, tasks=tasks,
                      deterministic_algorithms=deterministic_algorithms)


def _labels(data: Any) -> Optional[Tensor]:
    """The node labels: ``data.y``, or the target type's for a
    ``HeteroData`` (``data[data.target_node_type].y``).
    """
    if isinstance(data, HeteroData):
        try:
            target = data.target_node_type
        except (AttributeError, KeyError):
            raise ValueError("a heterogeneous graph needs data.target_node_type "
                             "(the labelled node type)") from None
        return data[target].get("y")
    return data.get("y")


def _check_tasks(tasks: Iterable[str]) -> list[str]:
    tasks = list(tasks)
    unknown = set(tasks) - set(_TASKS)
    if not tasks or unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; choose from "
                         f"{', '.join(_TASKS)}")
    return tasks


def _step_clusters(method: Method, data: Any) -> dict[str, float]:
    """ACC, NMI, ARI and macro-F1 of the clusters of the step just taken,
    before its update (``method.assignment_``; PamC's per-epoch score).
    """
    return cluster_metrics(data.y, method.assignment_)


def _reporting(eval_cfg: dict, clusters: bool,
               epochs: int) -> tuple[str, int, int]:
    """The config's reporting settings, checked before training: ``eval.rule``
    and, for a node protocol, ``eval.every`` and ``eval.start`` (score the
    embeddings every ``every`` epochs, and after the last; 0: only after the
    last; the selecting rules choose among the epochs after ``start``, so a
    selecting rule needs ``epochs > start``). Protocol ``clusters`` scores
    every epoch and has no validation split.
    """
    rule = eval_cfg.get("rule", "final")
    if clusters:
        if "every" in eval_cfg or "start" in eval_cfg:
            raise ValueError("eval.every and eval.start schedule the probe of a "
                             "node protocol; protocol 'clusters' scores every "
                             "epoch")
        rules = [r for r in REPORTING_RULES if r != "val_selected"]
        if rule not in rules:
            raise ValueError(f"eval.rule {rule!r} does not apply to protocol "
                             f"'clusters' (no validation split); choose from "
                             f"{', '.join(rules)}")
        return rule, 1, 0
    every, start = eval_cfg.get("every", 0), eval_cfg.get("start", 0)
    for key, value in (("every", every), ("start", start)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"eval.{key} must be an integer >= 0, got "
                             f"{value!r}")
    if start and not every:
        raise ValueError("eval.start needs eval.every (the epochs to score)")
    if rule not in REPORTING_RULES:
        raise ValueError(f"unknown eval.rule {rule!r}; choose from "
                         f"{', '.join(REPORTING_RULES)}")
    if rule != "final" and not every:
        raise ValueError(f"eval.rule {rule!r} chooses among scored epochs: "
                         "set eval.every")
    if rule != "final" and epochs <= start:
        raise ValueError(f"eval.rule {rule!r} chooses among the epochs scored "
                         f"after eval.start = {start}, but training ends at "
                         f"epoch {epochs}: lower eval.start or raise "
                         f"train.epochs")
    return rule, every, start


def _epoch_probe(cfg: dict[str, Any], y: Optional[Tensor],
                 eval_kw: dict[str, Any]) -> Any:
    """The ``eval_fn`` of :func:`fit` that scores the current embeddings
    with the config's protocol: its test metrics and ``val``, the mean
    validation score the probe selected on. The random generators are
    restored afterwards, so that a run scored during training trains
    exactly as one that is not.
    """
    def probe(method: Method, data: Any) -> dict[str, float]:
        state = get_rng_state()
        try:
            res = node_classification(method.embed(data), y,
                                      protocol=cfg["eval"]["protocol"],
                                      seed=cfg["seed"], data=data, **eval_kw)
        finally:
            set_rng_state(state)
        val = validation_score(res)
        return {**res.metrics, **({"val": val["mean"]} if val else {})}

    return probe


def _rule_results(final: EvalResult, history: History, rule: str,
                  protocol: str, start: int = 0) -> dict[str, EvalResult]:
    """The results of a run scored during training under every reporting
    rule that applies: ``rule`` (the config's) as ``"classification"``, the
    others under their names. ``final`` is the trained model's result and
    stands for the rule ``"final"``; the selecting rules choose among the
    scored epochs after ``start`` (``val_selected`` only where the scores
    hold a validation value: not for protocol ``clusters``), and are left
    out when no epoch after ``start`` was scored (a run shortened below
    ``start``) unless ``rule`` is one of them. With early stopping that
    restores the best weights (HeCo, MEOW), ``final`` is the restored
    model, which the scored epochs need not include.
    """
    scored = any(e["epoch"] > start for e in history.evals)
    rules = [r for r in REPORTING_RULES
             if (r != "val_selected" or protocol != "clusters")
             and (r in ("final", rule) or scored)]
    return {("classification" if r == rule else r): final if r == "final" else
            report_over_epochs(history.evals, final.metrics, r,
                               protocol=protocol, after=start)
            for r in rules}


def _batching(cfg: dict[str, Any]) -> dict[str, Any]:
    """The mini-batch and distributed options of :func:`fit` in the config's
    ``train`` section (``batch_size``, ``num_neighbors``, ``num_negatives``,
    ``distributed``).
    """
    train = cfg["train"]
    return {k: train[k] for k in ("batch_size", "num_neighbors",
                                  "num_negatives", "distributed")
            if train.get(k) is not None}


def run_config(cfg: dict[str, Any], *, root: Optional[str] = None,
               device: str = "auto", progress: bool = True,
               checkpoint: Union[str, Path, None] = None, resume: bool = False,
               tasks: Iterable[str] = ("classification",),
               checkpoint_seconds: Optional[float] = None,
               deterministic_algorithms: bool = False) -> Experiment:
    """Trains and evaluates a loaded config (what :func:`run_experiment`
    runs once it has loaded the config).

    Args:
        cfg (dict): A config as :func:`gcl.app.config.load_config` returns it,
            overrides applied (``method``, ``dataset``, ``seed``, ``model``,
            ``train``, ``data``, ``eval``). It is not modified. ``train``
            may hold early stopping on the training loss (``monitor: loss``,
            ``patience``, ``min_delta``, ``restore_best``; HeCo, MEOW). A
            heterogeneous data set (``HeteroData``) is evaluated on its
            ``target_node_type`` (protocol ``heco``).
        root (str, optional): Data root (see :func:`gcl.datasets.load`).
        device (str, optional): ``"auto"``, ``"cpu"``, ``"cuda"``...
        progress (bool, optional): Show the progress bar.
        checkpoint (str or Path, optional): Checkpoint file for :func:`fit`.
        resume (bool, optional): Resume from ``checkpoint``.
        checkpoint_seconds (float, optional): Also checkpoint whenever this
            many seconds passed since the last save (see :func:`fit`).
        tasks (Iterable[str], optional): Evaluations, as in
            :func:`run_experiment`. (default: classification)
        deterministic_algorithms (bool, optional): Train and evaluate
            inside :func:`gcl.train.deterministic` (PyTorch's deterministic
            kernels, for GPU runs that repeat); the experiment's ``machine``
            then says ``"deterministic": true`` and lists the operations
            that had no deterministic kernel under
            ``"nondeterministic_ops"``. (default: :obj:`False`)
    """
    with deterministic(deterministic_algorithms) as alerts:
        exp = _run_config(cfg, root, device, progress, checkpoint, resume,
                          tasks, checkpoint_seconds)
    if deterministic_algorithms:
        exp.machine.update(deterministic=True, nondeterministic_ops=alerts)
    return exp


def _run_config(cfg: dict[str, Any], root: Optional[str], device: str,
                progress: bool, checkpoint: Union[str, Path, None],
                resume: bool, tasks: Iterable[str],
                checkpoint_seconds: Optional[float]) -> Experiment:
    tasks = _check_tasks(tasks)
    dev = resolve_device(device)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    if "ranking" in tasks or resolve(cfg["method"]) in RECOMMENDERS:
        return run_ranking(cfg, root, dev, progress, checkpoint, resume, tasks,
                            checkpoint_seconds)
    data = load(cfg["dataset"], root=root, **cfg["data"])
    model = build_method(cfg["method"], data.num_features, **cfg["model"])
    y = _labels(data)
    # protocol "clusters": the method's own clusters, scored every epoch
    clusters = cfg["eval"].get("protocol") == "clusters"
    rule, every, start = _reporting(cfg["eval"], clusters,
                                    cfg["train"]["epochs"])
    eval_kw = protocol_options(cfg["eval"])
    if "device" in inspect.signature(
            PROTOCOLS.get(cfg["eval"]["protocol"], node_classification)
    ).parameters:
        eval_kw.setdefault("device", dev)  # the probe trains where the model did
    eval_fn = _step_clusters if clusters else (
        _epoch_probe(cfg, y, eval_kw) if every else None)
    train = cfg["train"]
    t0 = time.perf_counter()
    with OtherLoad() as others:  # did the run have the cores it used?
        history = fit(model, data, epochs=train["epochs"], lr=train["lr"],
                      weight_decay=train.get("weight_decay", 0.0),
                      device=dev, seed=cfg["seed"], progress=progress,
                      checkpoint=checkpoint, resume=resume,
                      checkpoint_seconds=checkpoint_seconds,
                      eval_fn=eval_fn, eval_every=every,
                      # early stopping on the training loss (HeCo, MEOW)
                      monitor=train.get("monitor"),
                      patience=train.get("patience"),
                      min_delta=train.get("min_delta", 0.0),
                      restore_best=train.get("restore_best", True),
                      **_batching(cfg))
    train_s = time.perf_counter() - t0
    peak = peak_memory_mb(dev)
    z = model.embed(data.to(dev))
    t0 = time.perf_counter()
    results = {}
    for task in tasks:
        if task == "classification" and clusters:
            final = report_over_epochs([], cluster_metrics(
                data.y, model.predict(data)), "final", protocol="clusters")
            results.update(_rule_results(final, history, rule, "clusters"))
        elif task == "classification":
            results[task] = node_classification(
                z, y, protocol=cfg["eval"]["protocol"], seed=cfg["seed"],
                data=data, **eval_kw)
            if every:
                results.update(_rule_results(results[task], history, rule,
                                             results[task].protocol, start))
        elif task == "clustering":
            results[task] = clustering(z, y, seed=cfg["seed"])
        elif isinstance(data, HeteroData):
            raise ValueError("the link task needs a homogeneous graph; "
                             f"{cfg['dataset']} is heterogeneous")
        else:
            results[task] = link_prediction(
                lambda g: build_method(cfg["method"], g.num_features,
                                       **cfg["model"]), data.cpu(),
                lambda m, g: fit(m, g, epochs=cfg["train"]["epochs"],
                                 lr=cfg["train"]["lr"],
                                 weight_decay=cfg["train"].get("weight_decay",
                                                               0.0),
                                 device=dev, seed=cfg["seed"], progress=False,
                                 **_batching(cfg)),
                seed=cfg["seed"])
    eval_s = time.perf_counter() - t0
    main = results.pop(tasks[0])
    return Experiment(cfg, model, history, z.cpu(), main, train_s, eval_s,
                      peak, machine_info(dev, others), results, check_health(z))
