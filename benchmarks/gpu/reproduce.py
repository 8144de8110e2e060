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

    python benchmarks/gpu/reproduce.py --out /tmp/gpu --budget 540 \
        --jobs 4 --checkpoint-dir /tmp/gpu/checkpoints
    # on CPU, a smoke test with tiny epochs:
    python benchmarks/gpu/reproduce.py --out /tmp/gpu --budget 120 \
        --epochs 2 --device cpu
    # the recommendation rows (ranking task; rec/gowalla in GCL_DATA):
    python benchmarks/gpu/reproduce.py --out /tmp/gpu --budget 540 \
        --methods lightgcl lightgcl_paper simgcl lightgcn \
        --datasets Gowalla --seeds 0 --task ranking

``--jobs N`` keeps up to N runs going at once on the one device, each its
own process, in the same priority order (a run starts when a slot frees and
its estimate fits the time left). The graphs here are small for a GPU: a
GRACE epoch on Photo took 48 ms on an H100 (2026-11-26 record), of which
the arithmetic of the loss (about 50 GFLOP with its backward pass) is a few
milliseconds, so runs side by side should share the device at little cost
to each; the first call with ``--jobs`` measures it (compare its seconds
per epoch with the one-job records). Each
record then notes in ``machine["concurrent_runs"]`` the most runs that were
alive with it, and the tables print it beside the device, since its seconds
per epoch are shared ones.

``--checkpoint-dir DIR`` has every run checkpoint into DIR every
``--checkpoint-seconds`` (default 30) and resume from there: a run the
budget cuts off continues in the next call on the same warm machine, and its
estimate counts only the epochs left. Without it such a run is lost.

A recommender's config caps the epochs and early stopping on validation
usually ends the run sooner, so the estimate (seconds per epoch times the
configured epochs) is an upper bound; LightGCN's 1000-epoch Gowalla run
needs more than one call (see ``benchmarks/results/lightgcl.md`` for the
expected minutes), so give it ``--checkpoint-dir``.

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


def variant_tag(epochs: int | None, overrides: list[str]) -> str:
    """The variant folder ``gcl bench`` writes a run's record to
    (``config``, ``e200``, ``config-<hash of the overrides>``)."""
    from gcl.app.bench import run_dir_tag

    return run_dir_tag(epochs, overrides)


def grid_overrides(fixed: list[str], grid: list[str]) -> list[list[str]]:
    """Every combination of the ``--grid KEY=V1|V2|...`` values, each after
    the ``--set`` overrides ``fixed`` (one combination, ``fixed``, without a
    grid). Values are split on ``|`` only, so lists such as ``[0.3,0.5]``
    stay whole."""
    combos = [list(fixed)]
    for item in grid:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise ValueError(f"--grid takes KEY=V1|V2|..., got {item!r}")
        combos = [c + [f"{key}={v}"] for c in combos for v in values.split("|")]
    return combos


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


def _same_kind(record: dict, device: str) -> bool:
    """Whether ``record`` ran on the kind of device ``device`` names (a GPU
    record's ``machine`` names its ``gpu``; a record without ``machine``
    counts for any device)."""
    machine = record.get("machine")
    if machine is None:
        return True
    return ("gpu" in machine) == (device != "cpu")


def estimate(method: str, dataset: str, epochs: int,
             roots: list[Path], tag: str, device: str = "cuda") -> float | None:
    """Seconds for one run, from the first record of the same pair found
    that ran on the same kind of device (a CPU record's seconds per epoch
    would keep a GPU run from ever fitting a budget)."""
    for root in roots:
        for rec in sorted((root / method / dataset / tag).glob("seed*.json")):
            r = json.loads(rec.read_text())
            if not _same_kind(r, device):
                continue
            return (r["seconds_per_epoch"] * epochs + r.get("eval_seconds", 0.0)
                    + 15.0)  # process start, data load, communities
    return None


def checkpoint_path(root: Path, method: str, dataset: str, tag: str,
                    seed: int) -> Path:
    """Where ``gcl bench --checkpoint-dir root`` keeps a run's checkpoint
    (the record's place under ``root``, with ``.pt``)."""
    return _record(root, method, dataset, tag, seed).with_suffix(".pt")


def resumed_epoch(path: Path) -> int:
    """The epoch a run's checkpoint holds, 0 when there is none (or it cannot
    be read: ``gcl bench`` then decides what to do with the file)."""
    if not path.exists():
        return 0
    try:
        import torch

        return int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])
    except Exception:  # noqa: BLE001 - an unreadable file is gcl bench's to report
        return 0


def bench_command(method: str, dataset: str, seed: int,
                  args: argparse.Namespace, runs: Path,
                  overrides: list[str] | None = None) -> list[str]:
    """The ``gcl bench`` command of one run (its own process); its config
    overrides are ``overrides``, else ``args.overrides`` (``--set``)."""
    cmd = [sys.executable, "-m", "gcl", "bench", method,
           "--datasets", dataset, "--seed-list", str(seed),
           "--runs-dir", str(runs), "--results-dir", str(args.out / "results"),
           "--device", args.device, "--task", *args.task]
    if args.epochs is not None:
        cmd += ["--epochs", str(args.epochs)]
    if overrides is None:
        overrides = getattr(args, "overrides", None) or []
    for override in overrides:
        cmd += ["--set", override]
    if getattr(args, "deterministic", False):
        cmd.append("--deterministic")
    if getattr(args, "checkpoint_dir", None) is not None:
        cmd += ["--checkpoint-dir", str(args.checkpoint_dir),
                "--checkpoint-seconds", str(args.checkpoint_seconds)]
    return cmd


def mark_shared(record: Path, runs_at_once: int) -> None:
    """Notes in a record's ``machine`` how many runs shared the device with
    it (at most), so its seconds per epoch are read as shared ones."""
    if runs_at_once < 2 or not record.exists():
        return
    rec = json.loads(record.read_text())
    rec.setdefault("machine", {})["concurrent_runs"] = runs_at_once
    tmp = record.with_suffix(".tmp")
    tmp.write_text(json.dumps(rec, indent=2))
    tmp.replace(record)


class _Job:
    """One ``gcl bench`` process and what the summary needs of it."""

    def __init__(self, name: str, record: Path, cmd: list[str], log: Path):
        self.name, self.record = name, record
        self.t0 = time.monotonic()
        self.log = open(log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.at_once = 1  # the most runs alive together during this one

    def seconds(self) -> float:
        return round(time.monotonic() - self.t0, 1)

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.log.close()


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
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   dest="overrides",
                   help="config override for every run (repeatable), as "
                   "gcl bench --set: the records go to that variant's folder")
    p.add_argument("--grid", action="append", default=[],
                   metavar="KEY=V1|V2|...",
                   help="run every combination of these values (repeatable), "
                   "each its own variant folder, e.g. a sweep to choose on "
                   "validation with gcl bench --variants")
    p.add_argument("--device", default="cuda")
    p.add_argument("--task", nargs="+", default=["classification", "clustering"],
                   help="evaluations of each run (default: the config's "
                   "protocol and k-means clustering)")
    p.add_argument("--min-left", type=float, default=20.0,
                   help="start no run with fewer seconds left (default 20)")
    p.add_argument("--known", type=Path, nargs="*", default=[],
                   help="runs folders whose records count as done")
    p.add_argument("--jobs", type=int, default=1,
                   help="runs at once on the one device (default 1); each "
                   "record notes how many shared the device with it")
    p.add_argument("--checkpoint-dir", type=Path, default=None,
                   help="checkpoint every run there and resume from it, so a "
                   "run the budget cuts off continues in the next call on "
                   "the same machine (default: none, such a run is lost)")
    p.add_argument("--deterministic", action="store_true",
                   help="run every gcl bench on PyTorch's deterministic "
                   "kernels (gcl bench --deterministic): a seed then repeats "
                   "on the same device, which the default atomic adds do not")
    p.add_argument("--checkpoint-seconds", type=float, default=30.0,
                   help="checkpoint period with --checkpoint-dir (default 30)")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs must be at least 1, got {args.jobs}")

    start = time.monotonic()
    runs = args.out / "runs"
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        combos = grid_overrides(args.overrides, args.grid)
    except ValueError as exc:
        p.error(str(exc))
    variants = {variant_tag(args.epochs, c): c for c in combos}
    base = variant_tag(args.epochs, [])  # an override costs about the same
    roots = [runs, *args.known]
    done, ran, unfinished, skipped = [], [], [], []
    pending = []
    for method, dataset, seed in plan(args.methods, args.datasets, args.seeds):
        for tag, overrides in variants.items():
            name = (f"{method}/{dataset}/seed{seed}" if not args.grid
                    else f"{method}/{dataset}/{tag}/seed{seed}")
            if any(has_tasks(_record(r, method, dataset, tag, seed), args.task)
                   for r in roots):
                done.append(name)
            else:
                pending.append((method, dataset, seed, tag, overrides, name))

    def left() -> float:
        return args.budget - (time.monotonic() - start)

    def launch() -> _Job | None:
        """Starts the first pending run that fits the time left; the runs
        that no longer fit are skipped (the time left only shrinks)."""
        while pending:
            method, dataset, seed, tag, overrides, name = pending.pop(0)
            epochs = args.epochs or _epochs(method, dataset)
            done_epochs = 0
            if args.checkpoint_dir is not None:
                done_epochs = min(epochs, resumed_epoch(checkpoint_path(
                    args.checkpoint_dir, method, dataset, tag, seed)))
            # the epochs still to train, plus the whole evaluation
            est = estimate(method, dataset, epochs - done_epochs, roots, tag,
                           args.device)
            if est is None and tag != base:
                est = estimate(method, dataset, epochs - done_epochs, roots,
                               base, args.device)
            now = left()
            if now < args.min_left or (est is not None and est > now):
                skipped.append({"run": name, "estimate_s": est,
                                "left_s": round(now, 1)})
                continue
            print(f"[{args.budget - now:6.0f}s] {name} (estimate "
                  f"{'?' if est is None else f'{est:.0f}s'}, left {now:.0f}s"
                  + (f", resumes at epoch {done_epochs}" if done_epochs else "")
                  + ")", flush=True)
            log = (f"{method}_{dataset}_seed{seed}.log" if not args.grid
                   else f"{method}_{dataset}_{tag}_seed{seed}.log")
            return _Job(name, _record(runs, method, dataset, tag, seed),
                        bench_command(method, dataset, seed, args, runs,
                                      overrides=overrides), logs / log)
        return None

    alive: list[_Job] = []
    while pending or alive:
        while len(alive) < args.jobs and (job := launch()) is not None:
            alive.append(job)
            for other in alive:
                other.at_once = max(other.at_once, len(alive))
        if not alive:
            break
        time.sleep(0.2)
        for job in list(alive):
            rc = job.proc.poll()
            if rc is None and left() > 5:
                continue
            alive.remove(job)
            if rc is None:  # the budget is reached
                job.kill()
                unfinished.append({"run": job.name, "seconds": job.seconds()})
                print(f"         budget reached: {job.name} killed after "
                      f"{job.seconds()}s", flush=True)
                continue
            job.log.close()
            ok = job.record.exists()
            if ok:
                mark_shared(job.record, job.at_once)
            ran.append({"run": job.name, "seconds": job.seconds(), "rc": rc,
                        "record": ok, "runs_at_once": job.at_once})
            print(f"         {job.name}: rc={rc} record={ok} in "
                  f"{job.seconds()}s", flush=True)

    todo = [s["run"] for s in skipped] + [u["run"] for u in unfinished]
    summary = {"budget_s": args.budget, "elapsed_s": round(time.monotonic() - start, 1),
               "tag": next(iter(variants)) if len(variants) == 1 else None,
               "variants": variants, "device": args.device, "jobs": args.jobs,
               "ran": ran,
               "unfinished": unfinished, "skipped": skipped,
               "already_done": done, "left": todo}
    (args.out / "plan.json").write_text(json.dumps(summary, indent=2))
    print(f"ran {len(ran)}, unfinished {len(unfinished)}, skipped "
          f"{len(skipped)}, already done {len(done)}", flush=True)
    return 0 if all(r["rc"] == 0 and r["record"] for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
