"""The large-graph rows in one command, for a GPU lent for a few minutes.

Runs the paper configurations of GRACE, CSGCL, gCooL, GRACE+POT and GCA on
Amazon Photo, Amazon Computers and Coauthor CS (whichever of those configs
exist), in priority order: seed 0 of every method and dataset first, then
seed 1 of every one, then seed 2. Each run is one ``gcl bench`` process, so
each record (``<out>/runs/<method>/<dataset>/config/seed<k>.json``, the
layout of ``benchmarks/runs``) is written the moment its run finishes.

The script stops cleanly before ``--budget`` seconds: a run is started only
when the time left covers its estimate (seconds per epoch times epochs plus
the evaluation, from an earlier record of the same method and dataset, in
``<out>`` or in ``--known``), and a run still going when the budget ends is
killed and listed as unfinished, so a device call returns everything that
completed. Records already in ``<out>`` or ``--known`` that hold every
``--task`` are skipped, so calls resume one another (a record without a
requested task, such as the k-means clustering that PamC's table needs, is
run again). ``<out>/plan.json`` lists what ran, what was
skipped and why, and the estimate of what is left.

Usage (a GPU machine; ``GCL_DATA`` holds ``pyg/{Photo,Computers,CS}/raw``)::

    python benchmarks/gpu/reproduce.py --out /tmp/gpu --budget 540
    # on CPU, a smoke test with tiny epochs:
    python benchmarks/gpu/reproduce.py --out /tmp/gpu --budget 120 \
        --epochs 2 --device cpu
    # the recommendation rows (ranking task; rec/gowalla in GCL_DATA):
    python benchmarks/gpu/reproduce.py --out /tmp/gpu --budget 540 \
        --methods lightgcl lightgcl_paper simgcl lightgcn \
        --datasets Gowalla --seeds 0 --task ranking

A recommender's config caps the epochs and early stopping on validation
usually ends the run sooner, so the estimate (seconds per epoch times the
configured epochs) is an upper bound; a run killed at the budget is lost
(no checkpoint), so give LightGCN's 1000-epoch Gowalla run a call of its own
(see ``benchmarks/results/lightgcl.md`` for the expected minutes).

Merge the records into ``benchmarks/runs`` (same layout) and render with
``gcl bench <method> --render-only``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

METHODS = ("grace", "csgcl", "gcool", "pot", "pot_base", "gca")
DATASETS = ("Photo", "Computers", "CS")
CONFIGS = Path(__file__).resolve().parents[2] / "gcl" / "configs"


def _epochs(method: str, dataset: str) -> int:
    import yaml

    cfg = yaml.safe_load((CONFIGS / method / f"{dataset}.yaml").read_text())
    return int(cfg["train"]["epochs"])


def plan(methods, datasets, seeds) -> list[tuple[str, str, int]]:
    """The (method, dataset, seed) runs whose config exists, seed-major."""
    return [(m, d, s) for s in seeds for d in datasets for m in methods
            if (CONFIGS / m / f"{d}.yaml").exists()]


def _record(root: Path, method: str, dataset: str, tag: str, seed: int) -> Path:
    return root / method / dataset / tag / f"seed{seed}.json"


def has_tasks(record: Path, tasks: list[str]) -> bool:
    """Whether ``record`` exists and holds every task of ``tasks`` (as
    ``gcl bench`` decides: a record without a requested task, e.g. one made
    before the clustering task was asked for, is run again)."""
    if not record.exists():
        return False
    rec = json.loads(record.read_text())
    main = "ranking" if rec.get("protocol") == "full_ranking" else "classification"
    return set(tasks) <= {main, *rec.get("tasks", {})}


def estimate(method: str, dataset: str, epochs: int,
             roots: list[Path], tag: str) -> float | None:
    """Seconds for one run, from the first record of the same pair found."""
    for root in roots:
        for rec in sorted((root / method / dataset / tag).glob("seed*.json")):
            r = json.loads(rec.read_text())
            return (r["seconds_per_epoch"] * epochs + r.get("eval_seconds", 0.0)
                    + 15.0)  # process start, data load, communities
    return None


def bench_command(method: str, dataset: str, seed: int,
                  args: argparse.Namespace, runs: Path) -> list[str]:
    """The ``gcl bench`` command of one run (its own process)."""
    cmd = [sys.executable, "-m", "gcl", "bench", method,
           "--datasets", dataset, "--seed-list", str(seed),
           "--runs-dir", str(runs), "--results-dir", str(args.out / "results"),
           "--device", args.device, "--task", *args.task]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    return cmd


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, type=Path,
                   help="folder for run records, logs and plan.json")
    p.add_argument("--budget", type=float, default=540.0,
                   help="stop before this many seconds (default 540)")
    p.add_argument("--methods", nargs="+", default=list(METHODS))
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=None,
                   help="override every config's epochs (smoke tests)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--task", nargs="+", default=["classification", "clustering"],
                   help="evaluations of each run (default: the config's "
                   "protocol and k-means clustering)")
    p.add_argument("--min-left", type=float, default=20.0,
                   help="start no run with fewer seconds left (default 20)")
    p.add_argument("--known", type=Path, nargs="*", default=[],
                   help="runs folders whose records count as done")
    args = p.parse_args(argv)

    start = time.monotonic()
    runs = args.out / "runs"
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    tag = "config" if args.epochs is None else f"e{args.epochs}"
    roots = [runs, *args.known]
    done, ran, unfinished, skipped = [], [], [], []

    for method, dataset, seed in plan(args.methods, args.datasets, args.seeds):
        name = f"{method}/{dataset}/seed{seed}"
        if any(has_tasks(_record(r, method, dataset, tag, seed), args.task)
               for r in roots):
            done.append(name)
            continue
        left = args.budget - (time.monotonic() - start)
        epochs = args.epochs or _epochs(method, dataset)
        est = estimate(method, dataset, epochs, roots, tag)
        if left < args.min_left or (est is not None and est > left):
            skipped.append({"run": name, "estimate_s": est,
                            "left_s": round(left, 1)})
            continue
        cmd = bench_command(method, dataset, seed, args, runs)
        t0 = time.monotonic()
        print(f"[{t0 - start:6.0f}s] {name} (estimate "
              f"{'?' if est is None else f'{est:.0f}s'}, left {left:.0f}s)",
              flush=True)
        with open(logs / f"{method}_{dataset}_seed{seed}.log", "w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                rc = proc.wait(timeout=max(left - 5, 0.5))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                rc = None
        secs = round(time.monotonic() - t0, 1)
        if rc is None:
            unfinished.append({"run": name, "seconds": secs})
            print(f"         budget reached: {name} killed after {secs}s", flush=True)
        else:
            ok = _record(runs, method, dataset, tag, seed).exists()
            ran.append({"run": name, "seconds": secs, "rc": rc, "record": ok})
            print(f"         rc={rc} record={ok} in {secs}s", flush=True)

    todo = [s["run"] for s in skipped] + [u["run"] for u in unfinished]
    summary = {"budget_s": args.budget, "elapsed_s": round(time.monotonic() - start, 1),
               "tag": tag, "device": args.device, "ran": ran,
               "unfinished": unfinished, "skipped": skipped,
               "already_done": done, "left": todo}
    (args.out / "plan.json").write_text(json.dumps(summary, indent=2))
    print(f"ran {len(ran)}, unfinished {len(unfinished)}, skipped "
          f"{len(skipped)}, already done {len(done)}", flush=True)
    return 0 if all(r["rc"] == 0 for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
