"""One experiment from a config: load, build, train, evaluate, save.

This is what ``gcl train`` and the benchmark harness run; in a notebook::

    from gcl.app.experiment import run_experiment
    exp = run_experiment("grace", "Cora", seed=0)
    print(exp.result)          # accuracy under the config's protocol
    exp.save("runs/cora")      # embeddings, metrics.json, config.yaml, loss.png

:func:`run_experiment` loads the config (with its overrides) and hands it to
:func:`run_config`, which runs an already-loaded config dict; the benchmark
harness calls the latter directly.
"""

from __future__ import annotations

import inspect
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import torch
import yaml
from torch import Tensor
from torch_geometric.data import HeteroData

import gcl
from gcl.app.config import load_config
from gcl.datasets import load, load_interactions
from gcl.eval import (
    PROTOCOLS,
    REPORTING_RULES,
    EvalResult,
    cluster_metrics,
    clustering,
    embedding_health,
    link_prediction,
    node_classification,
    ranking_split,
    report_over_epochs,
)
from gcl.methods import RECOMMENDERS, Method, build_method, resolve
from gcl.train import History, deterministic, fit, resolve_device
from gcl.train.checkpoint import get_rng_state, set_rng_state

__all__ = ["Experiment", "machine_info", "peak_memory_mb", "refit_checkpoint",
           "run_config", "run_experiment"]

_TASKS = ("classification", "clustering", "link", "ranking")


def peak_memory_mb(device: Optional[torch.device] = None) -> float:
    """Peak memory of this process in MiB: CUDA allocator peak on a GPU,
    otherwise the peak resident set size.

    On Linux the resident peak is ``VmHWM`` of ``/proc/self/status``: the
    high-water mark of this process image only. ``ru_maxrss`` (used
    elsewhere) also carries the peak of the process that started this one,
    since Linux keeps it across ``fork`` and ``exec``, so a benchmark child
    started by a large parent would be charged with the parent's memory.
    For a process started from a shell the two are equal.
    """
    if device is not None and device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 2**10  # kB
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10


def machine_info(device: Optional[torch.device] = None) -> dict[str, Any]:
    """Hardware and software versions, for results files."""
    import torch_geometric

    info = {"platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__,
            "gcl": gcl.__version__, "commit": _git_commit()}
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _git_commit() -> Optional[str]:
    # GCL_COMMIT first: a copied tree (a GPU machine) may carry a stale .git
    if os.environ.get("GCL_COMMIT"):
        return os.environ["GCL_COMMIT"]
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


@dataclass
class Experiment:
    """A finished experiment: config, trained method, history and result."""

    config: dict
    method: Method
    history: History
    embeddings: Tensor
    result: EvalResult
    train_seconds: float
    eval_seconds: float
    peak_memory_mb: float
    machine: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    health: dict = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """A JSON-serialisable summary (metrics, protocol, timing, machine)."""
        cfg = self.config
        return {
            "method": cfg["method"], "dataset": cfg["dataset"],
            "seed": cfg["seed"], "epochs": self.history.epochs,
            "protocol": self.result.protocol,
            "metrics": self.result.metrics, "std": self.result.std,
            "seconds_per_epoch": self.history.seconds_per_epoch,
            # this process's fit only: a resumed run's earlier epochs ran in
            # earlier processes (seconds_per_epoch covers every epoch)
            "train_seconds": self.train_seconds,
            **({"resumed_from": self.history.resumed_from}
               if self.history.resumed_from is not None else {}),
            "eval_seconds": self.eval_seconds,
            "peak_memory_mb": self.peak_memory_mb,
            "final_loss": self.history.loss[-1] if self.history.loss else None,
            **({"loss_trace": trace} if (trace := _loss_trace(self.history))
               else {}),
            **({"embedding": self.health} if self.health else {}),
            # the scores during training (eval.every), not PamC's every epoch
            **({"evals": self.history.evals} if self.history.evals and
               cfg.get("eval", {}).get("protocol") != "clusters" else {}),
            **({"best_epoch": self.history.best_epoch}
               if self.history.best_epoch is not None else {}),
            **({"svd_seconds": self.result.details["svd_seconds"]}
               if "svd_seconds" in self.result.details else {}),
            **({"validation": val} if (val := _validation(self.result))
               else {}),
            "config_source": cfg.get("source"), "machine": self.machine,
            "tasks": {name: {"protocol": r.protocol, "metrics": r.metrics,
                             "std": r.std,
                             **{k: r.details[k] for k in _TASK_DETAILS
                                if k in r.details}}
                      for name, r in self.extra.items()},
        }

    def summary(self) -> str:
        """What ``gcl train`` prints: the main result, then one line per
        further task.
        """
        cfg, hist = self.config, self.history
        lines = [f"{cfg['method']} on {cfg['dataset']} (seed {cfg['seed']}, "
                 f"{hist.epochs} epochs, {hist.seconds_per_epoch:.3f} s/epoch): "
                 f"{self.result}"]
        lines += [f"  {name}: {res}" for name, res in self.extra.items()]
        if self.health.get("collapsed"):
            lines.append(f"  WARNING: {_COLLAPSED.format(**self.health)}")
        return "\n".join(lines)

    def save(self, out: Union[str, Path], plot: bool = True) -> Path:
        """Writes ``embeddings.pt``, ``metrics.json``, ``config.yaml``,
        ``history.json`` and (``plot=True``) ``loss.png`` into ``out``.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        torch.save(self.embeddings.cpu(), out / "embeddings.pt")
        (out / "metrics.json").write_text(json.dumps(
            {**self.record(), "result": self.result.to_dict()}, indent=2))
        (out / "config.yaml").write_text(yaml.safe_dump(self.config,
                                                        sort_keys=False))
        (out / "history.json").write_text(json.dumps(self.history.to_dict()))
        if plot:
            from gcl.viz import plot_loss

            plot_loss(self.history, out / "loss.png",
                      title=f"{self.config['method']} on {self.config['dataset']}")
        return out


# details of an extra task that its record keeps
_TASK_DETAILS = ("selected", "refit_epochs", "refit_seconds", "epoch", "epochs")

_COLLAPSED = ("the embeddings collapsed: every node has nearly the same "
              "embedding (spread {spread:.2e}, effective rank "
              "{effective_rank:.2f} of {dims}); the scores describe a failed "
              "run, not the method")


def _loss_trace(history: History, points: int = 100) -> Optional[dict[str, Any]]:
    """The training loss every ``every`` epochs (about ``points`` values,
    the last epoch always included), to see when a run went wrong.
    """
    loss = history.loss
    if not loss:
        return None
    every = max(1, -(-len(loss) // points))
    epochs = list(range(every, len(loss) + 1, every))
    if epochs[-1] != len(loss):
        epochs.append(len(loss))
    return {"every": every, "values": [loss[e - 1] for e in epochs]}


def _health(z: Any) -> dict[str, Any]:
    """:func:`gcl.eval.embedding_health` of a node embedding matrix; warns
    when it collapsed. Empty for anything else (user/item pairs).
    """
    if not isinstance(z, Tensor) or z.dim() != 2 or z.size(0) < 2:
        return {}
    health = embedding_health(z)
    if health["collapsed"]:
        warnings.warn(_COLLAPSED.format(**health), RuntimeWarning, stacklevel=3)
    return health


def _validation(result: Any) -> Optional[dict[str, Any]]:
    """The validation score a probe selected its epoch on (mean over its
    runs), for choosing between configurations without the test set; None
    for protocols without a validation split.
    """
    best = result.details.get("best_val")
    if not best or not all(isinstance(v, (int, float)) for v in best):
        return None
    return {"selection": result.details.get("selection"),
            "mean": sum(best) / len(best), "runs": list(best)}


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


def _run_ranking(cfg: dict[str, Any], root: Optional[str], dev: torch.device,
                 progress: bool, checkpoint: Union[str, Path, None], resume: bool,
                 tasks: list[str],
                 checkpoint_seconds: Optional[float] = None) -> Experiment:
    """A recommender on interaction data: the ranking task.

    The data come from :func:`gcl.datasets.load_interactions` with the
    config's ``data`` (``val_fraction``: a validation split carved from the
    training interactions with the config's seed). With a validation split,
    :func:`fit` scores it every ``eval.every`` epochs and keeps the weights
    of the best ``eval.monitor`` (default ``val_recall@20``) with
    ``eval.patience``; the test split is scored once, at the end, with the
    training and validation items masked (:func:`gcl.eval.ranking_split`).
    The extra result ``"ranking_masked_zero"`` scores the same embeddings
    with LightGCL ``old_setting``'s rule (known items scored 0 rather than
    removed, ``masking="zero"``), for comparison only.

    ``eval.refit: true`` adds ``"ranking_refit"``: a fresh model trained on
    *all* training interactions (validation ones included) for the number
    of epochs that validation chose, then scored once on test. Published
    recommender numbers train on the whole training split; this compares
    with them without selecting on test (``details["refit_epochs"]`` and
    ``details["refit_seconds"]``, training and scoring).
    """
    if resolve(cfg["method"]) not in RECOMMENDERS or \
            set(tasks) - {"ranking", "classification"}:
        raise ValueError(f"the ranking task needs a recommender "
                         f"({', '.join(RECOMMENDERS)}) and no other task, got "
                         f"{cfg['method']!r} with tasks {tasks}")
    data = _interactions(cfg, root)
    model = _recommender(cfg, data)
    ev = dict(cfg["eval"])
    ks = tuple(ev.get("ks", (20, 40)))
    has_val = data.val.numel() > 0
    if ev.get("refit", False) and not (has_val and int(ev.get("every", 0)) > 0):
        raise ValueError(_REFIT_NEEDS)

    def validate(method: Method, d: Any) -> dict[str, float]:
        u, i = method.embed(d)
        res = ranking_split(u, i, d, "val", ks=ks)
        return {f"val_{k}": v for k, v in res.metrics.items()}

    t0 = time.perf_counter()
    history = fit(model, data, epochs=cfg["train"]["epochs"],
                  lr=cfg["train"]["lr"],
                  weight_decay=cfg["train"].get("weight_decay", 0.0),
                  device=dev, seed=cfg["seed"], progress=progress,
                  checkpoint=checkpoint, resume=resume,
                  checkpoint_seconds=checkpoint_seconds,
                  eval_fn=validate if has_val else None,
                  eval_every=int(ev.get("every", 0)) if has_val else 0,
                  monitor=ev.get("monitor", "val_recall@20") if has_val else None,
                  patience=ev.get("patience") if has_val else None)
    train_s = time.perf_counter() - t0
    peak = peak_memory_mb(dev)
    t0 = time.perf_counter()
    user_emb, item_emb = model.embed(data.to(dev))
    result = ranking_split(user_emb, item_emb, data.to(dev), "test", ks=ks)
    eval_s = time.perf_counter() - t0
    # LightGCL old_setting's rule (training scores zeroed, not removed), for
    # comparison only: the main result removes them
    extra = {"ranking_masked_zero": ranking_split(
        user_emb, item_emb, data.to(dev), "test", ks=ks, masking="zero")}
    if ev.get("refit", False):
        extra["ranking_refit"] = _refit(cfg, root, dev, progress, history, ks,
                                        refit_checkpoint(checkpoint), resume,
                                        checkpoint_seconds)
    svd = getattr(model, "svd", None)
    if svd is not None and svd.svd_seconds_ is not None:
        result.details["svd_seconds"] = svd.svd_seconds_
    z = torch.cat([user_emb, item_emb]).cpu()
    return Experiment(cfg, model, history, z, result, train_s, eval_s, peak,
                      machine_info(dev), extra)


_REFIT_NEEDS = ("eval.refit needs a validation split (data.val_fraction > 0) "
                "scored during training (eval.every > 0, at most the epochs): "
                "it retrains for the number of epochs validation chose")


def _interactions(cfg: dict[str, Any], root: Optional[str], *,
                  all_training: bool = False) -> Any:
    """The config's interaction data, with a validation split carved from
    the training interactions by ``data.val_fraction`` (none when
    ``all_training``) and the config's seed.
    """
    data_kw = dict(cfg["data"])
    val_fraction = data_kw.pop("val_fraction", 0.0)
    return load_interactions(cfg["dataset"], root=root,
                             val_fraction=0.0 if all_training else val_fraction,
                             seed=data_kw.pop("split_seed", cfg["seed"]), **data_kw)


def _recommender(cfg: dict[str, Any], data: Any) -> Method:
    """The config's recommender, sized for ``data``."""
    return build_method(cfg["method"], None, num_users=data.num_users,
                        num_items=data.num_items, **cfg["model"])


def refit_checkpoint(checkpoint: Union[str, Path, None]) -> Optional[Path]:
    """Where ``eval.refit`` checkpoints its second training run: beside the
    run's own checkpoint (``seed0.pt`` -> ``seed0.refit.pt``), or nowhere.
    """
    if checkpoint is None:
        return None
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(f"{checkpoint.stem}.refit{checkpoint.suffix}")


def _refit(cfg: dict[str, Any], root: Optional[str], dev: torch.device,
           progress: bool, history: History, ks: tuple[int, ...],
           checkpoint: Optional[Path] = None,
           resume: bool = True,
           checkpoint_seconds: Optional[float] = None) -> EvalResult:
    """``eval.refit``: a fresh recommender trained on every training
    interaction for the epochs validation chose, scored once on test
    (checkpointed into ``checkpoint`` like the run itself, so a run cut off
    in its refit resumes there).
    """
    if history.best_epoch is None:  # validation never scored
        raise ValueError(_REFIT_NEEDS)
    full = _interactions(cfg, root, all_training=True)
    model = _recommender(cfg, full)
    t0 = time.perf_counter()
    fit(model, full, epochs=history.best_epoch, lr=cfg["train"]["lr"],
        weight_decay=cfg["train"].get("weight_decay", 0.0), device=dev,
        seed=cfg["seed"], progress=progress, checkpoint=checkpoint,
        resume=resume, checkpoint_seconds=checkpoint_seconds)
    full = full.to(dev)
    user_emb, item_emb = model.embed(full)
    result = ranking_split(user_emb, item_emb, full, "test", ks=ks)
    result.details.update(refit_epochs=history.best_epoch,
                          refit_seconds=time.perf_counter() - t0)
    return result


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


def _cluster_rules(model: Method, data: Any, history: History,
                   eval_cfg: dict) -> dict[str, EvalResult]:
    """The results of protocol ``clusters`` under the rules that need no
    validation split: the config's ``eval.rule`` as ``"classification"``
    (the main result), the other under its own name.
    """
    rule = eval_cfg.get("rule", "final")
    rules = [r for r in REPORTING_RULES if r != "val_selected"]
    if rule not in rules:
        raise ValueError(f"eval.rule {rule!r} does not apply to protocol "
                         f"'clusters' (no validation split); choose from "
                         f"{', '.join(rules)}")
    final = cluster_metrics(data.y, model.predict(data))
    return {("classification" if r == rule else r): report_over_epochs(
        history.evals, final, r, protocol="clusters") for r in rules}


def _probe_schedule(eval_cfg: dict) -> tuple[int, int]:
    """``eval.every`` and ``eval.start`` of a node protocol: score the
    embeddings every ``every`` epochs (and after the last; 0: only after
    the last) and let the reporting rules choose among the epochs after
    ``start``.
    """
    every, start = eval_cfg.get("every", 0), eval_cfg.get("start", 0)
    for key, value in (("every", every), ("start", start)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"eval.{key} must be an integer >= 0, got "
                             f"{value!r}")
    if start and not every:
        raise ValueError("eval.start needs eval.every (the epochs to score)")
    rule = eval_cfg.get("rule", "final")
    if rule not in REPORTING_RULES:
        raise ValueError(f"unknown eval.rule {rule!r}; choose from "
                         f"{', '.join(REPORTING_RULES)}")
    if rule != "final" and not every:
        raise ValueError(f"eval.rule {rule!r} chooses among scored epochs: "
                         "set eval.every")
    return every, start


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
        val = _validation(res)
        return {**res.metrics, **({"val": val["mean"]} if val else {})}

    return probe


def _probe_rules(final: EvalResult, history: History,
                 eval_cfg: dict, start: int) -> dict[str, EvalResult]:
    """A node protocol scored during training, under every reporting rule:
    the config's ``eval.rule`` as ``"classification"`` (``"final"`` keeps
    the full result of the trained model), the others under their names;
    the selecting rules choose among the scored epochs after ``start``.
    """
    rule = eval_cfg.get("rule", "final")
    out = {}
    for r in REPORTING_RULES:
        res = final if r == "final" else report_over_epochs(
            history.evals, final.metrics, r, protocol=final.protocol,
            after=start)
        out["classification" if r == rule else r] = res
    return out


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
        return _run_ranking(cfg, root, dev, progress, checkpoint, resume, tasks,
                            checkpoint_seconds)
    data = load(cfg["dataset"], root=root, **cfg["data"])
    model = build_method(cfg["method"], data.num_features, **cfg["model"])
    y = _labels(data)
    # protocol "clusters": the method's own clusters, scored every epoch
    clusters = cfg["eval"].get("protocol") == "clusters"
    eval_kw = {k: v for k, v in cfg["eval"].items()
               if k not in ("protocol", "rule", "every", "start")}
    if "device" in inspect.signature(
            PROTOCOLS.get(cfg["eval"]["protocol"], node_classification)
    ).parameters:
        eval_kw.setdefault("device", dev)  # the probe trains where the model did
    if clusters and ("every" in cfg["eval"] or "start" in cfg["eval"]):
        raise ValueError("eval.every and eval.start schedule the probe of a "
                         "node protocol; protocol 'clusters' scores every epoch")
    every, start = (0, 0) if clusters else _probe_schedule(cfg["eval"])
    probe = _epoch_probe(cfg, y, eval_kw) if every else None
    train = cfg["train"]
    t0 = time.perf_counter()
    history = fit(model, data, epochs=train["epochs"], lr=train["lr"],
                  weight_decay=train.get("weight_decay", 0.0),
                  device=dev, seed=cfg["seed"], progress=progress,
                  checkpoint=checkpoint, resume=resume,
                  checkpoint_seconds=checkpoint_seconds,
                  eval_fn=_step_clusters if clusters else probe,
                  eval_every=1 if clusters else every,
                  # early stopping on the training loss (HeCo, MEOW)
                  monitor=train.get("monitor"), patience=train.get("patience"),
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
            results.update(_cluster_rules(model, data, history, cfg["eval"]))
        elif task == "classification":
            results[task] = node_classification(
                z, y, protocol=cfg["eval"]["protocol"], seed=cfg["seed"],
                data=data, **eval_kw)
            if every:
                results.update(_probe_rules(results[task], history,
                                            cfg["eval"], start))
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
                      peak, machine_info(dev), results, _health(z))
