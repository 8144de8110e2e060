"""What a finished experiment keeps: the trained method, its history and
results (:class:`Experiment`), and the record ``gcl bench`` writes of it
(:meth:`Experiment.record`: metrics, timing, peak memory, machine, the loss
trace, the embeddings' health and the extra tasks).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import torch
import yaml
from torch import Tensor

import gcl
from gcl.eval import EvalResult, embedding_health
from gcl.methods import Method
from gcl.train import History

__all__ = ["Experiment", "OtherLoad", "check_health", "contended",
           "cpu_model", "machine_info", "peak_memory_mb", "validation_score"]


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


def machine_info(device: Optional[torch.device] = None,
                 others: Optional[OtherLoad] = None) -> dict[str, Any]:
    """Hardware and software versions, for results files.

    ``cpu`` is the processor's model name and ``cpu_capability`` the
    instruction set torch's CPU kernels use (``"AVX2"``, ``"AVX512"``...):
    two processors that differ there may round a run's products
    differently, so a seeded CPU run repeats bit for bit only where both
    agree. With ``others``, the :class:`OtherLoad` measured around the
    training, ``cores`` (the machine's) and ``other_cores`` (how many of
    them other processes kept busy on average meanwhile) are added: a CPU
    run's seconds per epoch mean little where those and its threads needed
    more than all cores.
    """
    import torch_geometric

    info = {"platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine(),
            "cpu": cpu_model(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
            "torch_geometric": torch_geometric.__version__,
            "gcl": gcl.__version__, "commit": _COMMIT}
    if device is not None and device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    if others is not None:  # None where /proc/stat is unreadable (not Linux)
        load = others.cores
        info.update(cores=os.cpu_count(),
                    other_cores=None if load != load else round(load, 3))
    return info


class OtherLoad:
    """CPU time that processes other than this one and its children took
    while the ``with`` block ran: the machine's busy time from
    ``/proc/stat`` (all cores; user, nice, system, irq, softirq, steal)
    minus the CPU time of this process and of its waited-for children.

    Attributes (after the block): ``wall`` (seconds), ``seconds`` (the
    others' CPU seconds, NaN where ``/proc/stat`` is unreadable) and
    ``cores`` (``seconds / wall``: how many cores the others kept busy on
    average). A measurement with ``threads`` threads was contended when
    ``cores + threads`` exceeds the machine's cores (:meth:`contended`): a
    benchmark reports this instead of guessing from load averages.
    """

    def __enter__(self) -> OtherLoad:
        self._busy = busy_cpu_seconds()
        self._own = own_cpu_seconds()
        self._wall = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self._wall
        own = own_cpu_seconds() - self._own
        other = busy_cpu_seconds() - self._busy - own
        self.seconds = other if other != other else max(0.0, other)  # NaN stays
        self.cores = self.seconds / self.wall if self.wall > 0 else float("nan")

    def contended(self, threads: int) -> bool:
        """Whether the others and ``threads`` threads needed more than all
        cores (:func:`contended`).
        """
        return contended(self.cores, threads)

    def line(self, threads: int) -> str:
        """One sentence for a results page of a ``threads``-thread run."""
        if self.seconds != self.seconds:
            return "Other processes' CPU time: not measured (no /proc/stat)."
        head = (f"Other processes took {self.seconds:.1f} CPU seconds during the "
                f"{self.wall:.0f}-second measurement ({self.cores:.2f} of the "
                f"{os.cpu_count()} cores on average)")
        if self.contended(threads):
            return (head + ": **contended**, the wall times include waiting for "
                    "the CPU, and with more than one thread the CPU times too "
                    "(threads spin while they wait for each other).")
        return head + f": {threads} thread(s) had the cores they needed."


def contended(other_cores: Optional[float], threads: int,
              cores: Optional[int] = None) -> bool:
    """Whether a run's ``threads`` threads and the ``other_cores`` that other
    processes kept busy needed more than the machine's ``cores`` (default:
    this machine's), with 0.05 of a core of slack for clock ticks and
    daemons. An unmeasured load (``None`` or NaN) is not contended.
    """
    if other_cores is None or other_cores != other_cores:
        return False
    return other_cores + threads > (cores or os.cpu_count() or 1) + 0.05


def busy_cpu_seconds() -> float:
    """Busy seconds of all cores since boot, from ``/proc/stat`` (NaN where
    unavailable): every field of the ``cpu`` line except idle and iowait
    (guest time is already inside user).
    """
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return float("nan")
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``), else the architecture."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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


#: The commit of the code this process imported, read once at import: a run
#: of hours records the code it ran, not what the checkout holds at its end.
_COMMIT = _git_commit()


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
            **({"validation": val} if (val := validation_score(self.result))
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


def check_health(z: Any) -> dict[str, Any]:
    """:func:`gcl.eval.embedding_health` of a node embedding matrix; warns
    when it collapsed. Empty for anything else (user/item pairs).
    """
    if not isinstance(z, Tensor) or z.dim() != 2 or z.size(0) < 2:
        return {}
    health = embedding_health(z)
    if health["collapsed"]:
        warnings.warn(_COLLAPSED.format(**health), RuntimeWarning, stacklevel=3)
    return health


def validation_score(result: Any) -> Optional[dict[str, Any]]:
    """The validation score a probe selected its epoch on (mean over its
    runs), for choosing between configurations without the test set; None
    for protocols without a validation split.
    """
    best = result.details.get("best_val")
    if not best or not all(isinstance(v, (int, float)) for v in best):
        return None
    return {"selection": result.details.get("selection"),
            "mean": sum(best) / len(best), "runs": list(best)}
