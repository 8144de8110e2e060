"""Seconds and memory of MEOW training epochs on AMiner-HeCo and Freebase-HeCo.

For each data set, in a fresh child process of its own (a new interpreter,
:func:`speed_harness.run_child`, so the memory high-water marks are its own),
the MEOW config (``gcl/configs/meow/<dataset>.yaml``; Freebase-HeCo's is not
an official MEOW setting, see its header) is loaded, the data set is loaded,
MEOW is built and seeded as :func:`gcl.fit` does, and then:

- **prepare**: ``method.prepare(data)`` once (what :func:`gcl.fit` runs
  before its first epoch: PathSim top-k graphs, static masks, contexts);
- **epochs**: ``--epochs`` (default 8) training epochs exactly as
  :func:`gcl.fit`'s full-batch loop runs them (``set_epoch``, one Adam step
  on ``method(data)``), each including MEOW's per-epoch k-means
  (:func:`gcl.losses.kmeans_prototypes`, faiss). The k-means share is timed
  by wrapping that function for the run (this script only; the library is
  not changed). Reported: epoch 1 and the median of epochs 2.. (the
  :func:`speed_harness.time_steps` split: one warm-up epoch, then the timed
  ones).

Times: wall (``perf_counter``) and process CPU (``process_time``, all
threads of the process: with 2 threads it can reach twice the wall time).
Memory: ``VmHWM`` (resident high-water mark) after the imports and the data
(**load peak**), after ``prepare``, and over the epochs alone (the mark is
reset before the first epoch, :class:`speed_harness.MemoryWindow`); the
process peak is the largest of these. torch and faiss use ``--threads``
threads (``OMP_NUM_THREADS`` of the child as well).

    PYTHONPATH=. GCL_DATA=/work/shared/data python benchmarks/meow_epoch.py \
        --datasets AMiner-HeCo Freebase-HeCo --threads 2 --epochs 8
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_harness import (  # noqa: E402
    MemoryWindow,
    OtherLoad,
    cpu_model,
    fmt,
    full_batch_step,
    markdown_table,
    peak_mb,
    rss_mb,
    run_child,
    time_steps,
)

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "meow_epoch.md"
DATASETS = ("AMiner-HeCo", "Freebase-HeCo")
COMMAND = ("PYTHONPATH=. GCL_DATA=/work/shared/data python "
           "benchmarks/meow_epoch.py --datasets {datasets} --threads {threads} "
           "--epochs {epochs}")


def set_threads(threads: int) -> int:
    """Sets torch's (and faiss's, where installed) thread count; returns
    faiss's (0 without faiss)."""
    torch.set_num_threads(threads)
    try:
        import faiss
    except ImportError:
        return 0
    faiss.omp_set_num_threads(threads)
    return faiss.omp_get_max_threads()


@contextmanager
def timed_kmeans(log: list[tuple[float, float]]):
    """Wraps MEOW's k-means (``gcl.methods.meow.kmeans_prototypes``) for the
    duration: every call appends ``(wall s, CPU s)`` to ``log``."""
    import gcl.methods.meow as meow_module

    inner = meow_module.kmeans_prototypes

    def wrapper(*args, **kwargs):
        t, c = time.perf_counter(), time.process_time()
        out = inner(*args, **kwargs)
        log.append((time.perf_counter() - t, time.process_time() - c))
        return out

    meow_module.kmeans_prototypes = wrapper
    try:
        yield log
    finally:
        meow_module.kmeans_prototypes = inner


def measure(dataset: str, epochs: int = 3, threads: int = 2,
            overrides: Sequence[str] = (),
            loader: Optional[Callable[..., Any]] = None) -> dict[str, Any]:
    """Loads ``dataset``, builds MEOW from its config and times ``prepare``
    and ``epochs`` training epochs in this process (see the module
    docstring). ``loader(name, **cfg["data"])`` loads the data
    (default: :func:`gcl.datasets.load`).

    Returns:
        dict: The record (graph sizes, seconds, CPU seconds, k-means share,
        ``VmHWM`` peaks in MiB, losses).
    """
    if epochs < 2:
        raise ValueError(f"epochs must be >= 2 (epoch 1 and a median), got {epochs}")
    from torch_geometric import seed_everything

    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.methods import build_method

    faiss_threads = set_threads(threads)
    cfg = load_config("meow", dataset, overrides)
    rss_imports = rss_mb()
    t, c = time.perf_counter(), time.process_time()
    data = (loader or load)(dataset, **cfg["data"])
    load_s, load_cpu = time.perf_counter() - t, time.process_time() - c
    load_peak = peak_mb()

    seed_everything(cfg["seed"])
    method = build_method(cfg, data.num_features)
    method.reset_parameters()  # as gcl.fit with a seed
    t, c = time.perf_counter(), time.process_time()
    method.prepare(data)
    prepare_s, prepare_cpu = time.perf_counter() - t, time.process_time() - c
    prepare_peak = peak_mb()
    optimizer = torch.optim.Adam(method.parameters(), lr=cfg["train"]["lr"],
                                 weight_decay=cfg["train"].get("weight_decay", 0.0))

    kmeans: list[tuple[float, float]] = []
    per_epoch: list[list[tuple[float, float]]] = []

    fit_step = full_batch_step(method, data, optimizer)

    def step(epoch: int) -> float:  # one epoch, its k-means calls kept apart
        start = len(kmeans)
        loss = fit_step(epoch)
        per_epoch.append(kmeans[start:])
        return loss

    window = MemoryWindow()
    window.start()
    with timed_kmeans(kmeans):
        timing = time_steps(step, epochs - 1, warmup=1)
    train_peak = peak_mb()

    km_wall = [sum(w for w, _ in e) for e in per_epoch]
    km_cpu = [sum(c for _, c in e) for e in per_epoch]
    target = method.target
    return {
        "dataset": dataset,
        "threads": threads,
        "torch_threads": torch.get_num_threads(),
        "faiss_threads": faiss_threads,
        "target": target,
        "target_nodes": int(data[target].num_nodes),
        "nodes": {t: int(data[t].num_nodes) for t in data.node_types},
        "metapaths": {m: int(data[target, m, target].edge_index.size(1))
                      for m in method.metapaths},
        "num_clusters": list(method.num_clusters),
        "epochs": len(timing["wall"]),
        "load_s": load_s, "load_cpu_s": load_cpu,
        "prepare_s": prepare_s, "prepare_cpu_s": prepare_cpu,
        "wall": timing["wall"], "cpu": timing["cpu"],
        "epoch1_s": timing["wall"][0], "epoch1_cpu_s": timing["cpu"][0],
        "median_s": timing["seconds_per_epoch"],
        "median_cpu_s": timing["cpu_per_epoch"],
        "kmeans_calls": [len(e) for e in per_epoch],
        "kmeans_wall": km_wall, "kmeans_cpu": km_cpu,
        "kmeans_epoch1_s": km_wall[0],
        "kmeans_median_s": statistics.median(km_wall[1:]),
        "kmeans_median_cpu_s": statistics.median(km_cpu[1:]),
        "losses": timing["losses"],
        "rss_after_imports_mb": rss_imports,
        "load_peak_mb": load_peak,
        "prepare_peak_mb": prepare_peak,
        "train_peak_mb": train_peak,
        "train_added_mb": window.added(),
        "peak_mb": max(load_peak, prepare_peak, train_peak),
        "torch": torch.__version__,
    }


def uptime() -> str:
    """``uptime``'s line (the load averages where the command is missing)."""
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "load average: " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def render(records: Sequence[dict], command: str, machine: str,
           load_start: str, load_end: str, others: str) -> str:
    """The results page."""
    ok = [r for r in records if "error" not in r]
    graph = markdown_table(
        ["dataset", "target", "nodes (all types)", "meta-paths (edges)",
         "clusters"],
        [[r["dataset"], f"{r['target']} {r['target_nodes']:,}",
          ", ".join(f"{t} {n:,}" for t, n in r["nodes"].items()),
          ", ".join(f"{m} {e:,}" for m, e in r["metapaths"].items()),
          ", ".join(map(str, r["num_clusters"]))] for r in ok])
    times = markdown_table(
        ["dataset", "load s", "prepare s (CPU)", "epoch 1 s (CPU)",
         "epochs 2-{} median s (CPU)".format(ok[0]["epochs"]) if ok else "median",
         "k-means s: epoch 1 / median (share of median)",
         "every epoch s (CPU)"],
        [[r["dataset"], fmt(r["load_s"], 1),
          f"{r['prepare_s']:.1f} ({r['prepare_cpu_s']:.1f})",
          f"{r['epoch1_s']:.1f} ({r['epoch1_cpu_s']:.1f})",
          f"{r['median_s']:.1f} ({r['median_cpu_s']:.1f})",
          f"{r['kmeans_epoch1_s']:.1f} / {r['kmeans_median_s']:.1f} "
          f"({r['kmeans_median_s'] / r['median_s']:.0%})",
          ", ".join(f"{w:.1f} ({c:.1f})" for w, c in zip(r["wall"], r["cpu"]))]
         for r in ok])
    memory = markdown_table(
        ["dataset", "RSS after imports MiB", "load peak MiB",
         "after prepare peak MiB", "epochs peak MiB (+ over their start)",
         "process peak MiB"],
        [[r["dataset"], fmt(r["rss_after_imports_mb"], 0),
          fmt(r["load_peak_mb"], 0), fmt(r["prepare_peak_mb"], 0),
          f"{r['train_peak_mb']:.0f} (+{r['train_added_mb']:.0f})",
          fmt(r["peak_mb"], 0)] for r in ok])
    errors = [f"- {r['dataset']}: {r['error']}" for r in records if "error" in r]
    threads = ok[0] if ok else {}
    lines = [
        "# MEOW: one training epoch on AMiner-HeCo and Freebase-HeCo (CPU)",
        "",
        "<!-- --8<-- [start:body] -->",
        f"Command: `{command}`. Each data set in a fresh child process "
        "(`benchmarks/meow_epoch.py`); MEOW from its config "
        "(`gcl/configs/meow/<dataset>.yaml`; **Freebase-HeCo is not an "
        "official MEOW setting**: the config derives it from MEOW's IMDB "
        "values, see its header). *prepare* is the one-off "
        "`method.prepare` that `gcl.fit` runs before epoch 1 (PathSim top-k, "
        "static masks, contexts); an epoch is one full-batch Adam step with "
        "MEOW's per-epoch k-means (faiss, 5 restarts of 20 iterations per "
        "clustering), timed within it. Wall seconds, process CPU seconds "
        "(all threads) in parentheses. Memory: `VmHWM` of the child; the "
        "epochs' window is reset (`/proc/self/clear_refs`) before epoch 1.",
        "",
        f"Machine: {machine}. torch threads {threads.get('torch_threads')}, "
        f"faiss threads {threads.get('faiss_threads')}. {others} Load at "
        f"the start: `{load_start}`; at the end: `{load_end}`.",
        "",
        *graph, "", *times, "", *memory,
        *([""] + errors if errors else []),
        "<!-- --8<-- [end:body] -->", "",
    ]
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--epochs", type=int, default=8,
                   help="epochs per data set (>= 2: epoch 1 and the median "
                   "of the others)")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds per child")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--json", default=None, help="also write the records here")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be >= 2")
    if args.child:
        print(json.dumps(measure(args.child, args.epochs, args.threads)))
        return
    command = COMMAND.format(datasets=" ".join(args.datasets),
                             threads=args.threads, epochs=args.epochs)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the children's
    load_start = uptime()
    records = []
    with OtherLoad() as others:
        for ds in args.datasets:
            rec = run_child(__file__, ["--child", ds, "--threads",
                                       str(args.threads), "--epochs",
                                       str(args.epochs)],
                            timeout=args.timeout)
            rec.setdefault("dataset", ds)
            records.append(rec)
            print(json.dumps(rec), flush=True)
    load_end = uptime()
    machine = (f"{cpu_model()}, {os.cpu_count()} cores, torch "
               f"{torch.__version__}, Python {sys.version.split()[0]}")
    Path(args.out).write_text(render(records, command, machine, load_start,
                                     load_end, others.line(args.threads)))
    print(f"wrote {args.out}")
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2))


if __name__ == "__main__":
    main()
