"""Benchmark harness: method x dataset x seed from configs, resumable.

Each run is recorded as one JSON file (metrics, protocol, seed, epochs,
seconds per epoch, peak memory, machine, commit) under
``<runs_dir>/<method>/<dataset>/<tag>/seed<k>.json``; a run whose file exists
is skipped, so an interrupted benchmark continues where it stopped.
:func:`render` turns the records into ``<results_dir>/<method>.md``: dataset,
protocol, paper value with its source, ours as mean ± std over seeds, seeds,
epochs, seconds per epoch, peak memory and machine, followed by
``benchmarks/notes/<method>.md`` when it exists.

How a run is executed: :func:`run_bench` loads each dataset's config once,
applies the overrides, seed and epochs of each run to a copy
(:func:`~gcl.app.config.apply_overrides`, no file read) and runs it with
:func:`gcl.app.experiment.run_config` in a fresh child process
(:mod:`multiprocessing`, ``"spawn"`` start method), which receives the config
dict and writes the record. There is no command line round trip. A fresh
process per run keeps each record's ``peak_memory_mb`` its own: on CPU it is
the process's resident high-water mark, which only grows, so runs sharing one
process would report the largest run so far. The child measures its own image
(``VmHWM``, see :func:`gcl.app.record.peak_memory_mb`), so the memory of
the harness's process is not counted either. ``"spawn"`` rather than
``"fork"``: a forked child would start with a copy of the parent (and of
torch's thread pools). As with any spawning code, a script that calls
:func:`run_bench` must guard its entry point with
``if __name__ == "__main__":``. The child ends with its parent: Ctrl-C
terminates it, and so does any end of the harness's process (``kill``,
``SIGKILL``, a closed session), so no run goes on training unseen; a run
stopped that way resumes from its last checkpoint when there is one.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import re
import statistics
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Optional

from gcl.app.config import apply_overrides, config_family, load_config

__all__ = ["render", "run_bench", "run_dir_tag", "summarize", "update_readme"]

_START, _END = "<!-- results:start -->", "<!-- results:end -->"
# Where a results page's notes begin: their diagnostic tables stay out of the
# README's results block.
_NOTES = "<!-- notes:start -->"
# A hand-kept results page that tabulates some methods itself says so in a
# comment, e.g. ``<!-- tabulates: lightgcn simgcl (python benchmarks/x.py) -->``:
# ``gcl bench`` then writes those methods' records but leaves the pages alone.
_TABULATES = re.compile(r"<!--\s*tabulates:\s*([\w\s]+?)\s*\((.+?)\)\s*-->")


def run_dir_tag(epochs: Optional[int], overrides: Sequence[str]) -> str:
    """Folder name of a benchmark variant: the epochs and any overrides."""
    tag = "config" if epochs is None else f"e{epochs}"
    if overrides:
        digest = hashlib.sha1("\n".join(sorted(overrides)).encode()).hexdigest()
        tag += "-" + digest[:8]
    return tag


def run_bench(method: str, datasets: Iterable[str], seeds: Sequence[int], *,
              epochs: Optional[int] = None, overrides: Sequence[str] = (),
              runs_dir: str | Path = "benchmarks/runs",
              results_dir: str | Path = "benchmarks/results",
              device: str = "auto", root: Optional[str] = None,
              progress: bool = False, dry_run: bool = False,
              readme: str | Path | None = None,
              tasks: Sequence[str] = ("classification",),
              checkpoint_dir: str | Path | None = None,
              checkpoint_seconds: float = 300.0,
              keep_checkpoints: bool = False,
              deterministic_algorithms: bool = False) -> list[Path]:
    """Runs every missing (dataset, seed) of ``method`` and renders results.

    Args:
        method (str): Method name.
        datasets (Iterable[str]): Dataset names (each needs a config).
        seeds (Sequence[int]): Seeds to run.
        epochs (int, optional): Train this many epochs instead of the
            config's (labelled as such in the table).
        overrides (Sequence[str]): ``key=value`` config overrides.
        runs_dir (str or Path): Where run records go.
        results_dir (str or Path): Where ``<method>.md`` goes.
        device (str): Device for training.
        root (str, optional): Data root.
        progress (bool): Show each run's progress bar.
        dry_run (bool): Only list what would run.
        readme (str or Path, optional): README whose results block to refresh.
        tasks (Sequence[str]): Evaluations of each run.
        checkpoint_dir (str or Path, optional): Checkpoint each run into
            ``<checkpoint_dir>/<method>/<dataset>/<tag>/seed<k>.pt`` every
            ``checkpoint_seconds`` (and every 50 epochs), resume from it when
            it exists, and delete it once the record is written: a run of
            several hours spreads over sessions. Keep it in an ignored
            folder (``runs/`` is). (default: :obj:`None`, no checkpoints)
        checkpoint_seconds (float): See ``checkpoint_dir``. (default: ``300``)
        keep_checkpoints (bool): Keep each run's last checkpoint after its
            record is written, so that a later call asking for another
            ``tasks`` entry (clustering, link) resumes the trained model
            and only evaluates, instead of training the run again. (default:
            :obj:`False`)
        tasks (Sequence[str]): Evaluations per run (``gcl train --task``); a
            run recorded without a requested task is run again.
        deterministic_algorithms (bool): Run on PyTorch's deterministic
            kernels (:func:`gcl.train.deterministic`); the record's
            ``machine`` says so and lists the operations that had none. It
            is how a run was computed, not a config value, so the variant
            folder stays the same. (default: :obj:`False`)

    Returns:
        list[Path]: The record files of all requested runs.
    """
    if keep_checkpoints and checkpoint_dir is None:
        raise ValueError("keep_checkpoints needs a checkpoint_dir to keep them in")
    method = config_family(method)
    records = []
    tag = run_dir_tag(epochs, overrides)
    configs = {}  # dataset -> its config as shipped: loaded once, passed down
    for dataset in datasets:
        cfg = load_config(method, dataset)
        canonical = cfg["dataset"]
        configs[canonical] = cfg
        apply_overrides(cfg, overrides)  # a bad override fails here, once
        for seed in seeds:
            path = Path(runs_dir) / method / canonical / tag / f"seed{seed}.json"
            records.append(path)
            if path.exists() and set(tasks) <= _recorded_tasks(path):
                print(f"[skip] {path} exists")
                continue
            print(f"[run] {method} {canonical} seed={seed} ({tag})", flush=True)
            if dry_run:
                continue
            # the overrides, seed and epochs as `gcl train` applies them
            run = [*overrides, f"seed={seed}"]
            if epochs is not None:
                run.append(f"train.epochs={epochs}")
            ckpt = (None if checkpoint_dir is None else Path(checkpoint_dir)
                    / method / canonical / tag / f"seed{seed}.pt")
            code = _run_in_child(apply_overrides(cfg, run), path, root=root,
                                 device=device, progress=progress,
                                 tasks=list(tasks), checkpoint=ckpt,
                                 checkpoint_seconds=checkpoint_seconds,
                                 overrides=list(overrides),
                                 keep_checkpoint=keep_checkpoints,
                                 deterministic_algorithms=deterministic_algorithms)
            if code != 0:
                print(f"[fail] {method} {canonical} seed={seed}: exit "
                      f"{code}", flush=True)
    if not dry_run:
        render(method, runs_dir, results_dir, readme, configs=configs)
    return records


def _run_in_child(cfg: dict, path: Path, **kwargs: Any) -> Optional[int]:
    """Runs :func:`_record_run` in a fresh (spawned) process; its exit code."""
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=_record_run, args=(cfg, str(path)),
                       kwargs=kwargs, name=f"gcl-bench-{path.stem}")
    proc.start()
    try:
        proc.join()
    except BaseException:  # e.g. Ctrl-C: do not leave the run behind
        proc.terminate()
        proc.join()
        raise
    return proc.exitcode


def _exit_with_parent() -> None:
    """In a :mod:`multiprocessing` child: ends this process (exit code 1)
    as soon as its parent process ends, however it ends (a signal included),
    by waiting in a daemon thread on the parent's sentinel. Does nothing in
    a process that :mod:`multiprocessing` did not start.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    threading.Thread(target=_exit_on, args=(parent.sentinel,), daemon=True,
                     name="gcl-exit-with-parent").start()


def _exit_on(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)  # checkpoints are written atomically: none is left half


def _record_run(cfg: dict, path: str, *, root: Optional[str], device: str,
                progress: bool, tasks: list[str],
                checkpoint: Optional[Path] = None,
                checkpoint_seconds: Optional[float] = None,
                overrides: Sequence[str] = (),
                keep_checkpoint: bool = False,
                deterministic_algorithms: bool = False) -> None:
    """In the child: runs ``cfg``, prints its summary, writes the record
    (with the ``overrides`` that name its variant, when there are any).
    """
    from gcl.app.experiment import run_config
    from gcl.app.ranking import refit_checkpoint

    _exit_with_parent()
    try:
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            if checkpoint.exists():
                print(f"[resume] from {checkpoint}", flush=True)
        exp = run_config(cfg, root=root, device=device, progress=progress,
                         tasks=tasks, checkpoint=checkpoint,
                         resume=checkpoint is not None,
                         checkpoint_seconds=checkpoint_seconds,
                         deterministic_algorithms=deterministic_algorithms)
    except (ValueError, FileNotFoundError) as exc:
        # bad input (a model key, missing data files): one line, exit 2,
        # as `gcl train`; GCL_TRACEBACK=1 re-raises
        if os.environ.get("GCL_TRACEBACK"):
            raise
        print(f"gcl bench: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    print(exp.summary(), flush=True)
    rec = Path(path)
    rec.parent.mkdir(parents=True, exist_ok=True)
    tmp = rec.with_suffix(".tmp")
    record = exp.record()
    if overrides:
        record["overrides"] = list(overrides)
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(rec)  # atomic: a record is complete or absent
    if checkpoint is not None and not keep_checkpoint:
        checkpoint.unlink(missing_ok=True)  # the record supersedes it
        refit_checkpoint(checkpoint).unlink(missing_ok=True)


def _recorded_tasks(path: Path) -> set[str]:
    rec = json.loads(path.read_text())
    main = "ranking" if rec.get("protocol") == "full_ranking" else "classification"
    return {main, *rec.get("tasks", {})}


def _load_groups(method: str, runs_dir: str | Path) -> dict:
    groups: dict[tuple[str, str], list[dict]] = {}
    for path in sorted((Path(runs_dir) / method).glob("*/*/seed*.json")):
        rec = json.loads(path.read_text())
        groups.setdefault((path.parent.parent.name, path.parent.name), []).append(rec)
    return groups


def _configs(method: str, datasets: Iterable[str],
             configs: Optional[Mapping[str, dict]] = None) -> dict[str, dict]:
    """The shipped config of each dataset: from ``configs`` when given there,
    otherwise loaded (once each).
    """
    out = dict(configs or {})
    for dataset in datasets:
        if dataset not in out:
            out[dataset] = load_config(method, dataset)
    return out


def summarize(method: str, runs_dir: str | Path = "benchmarks/runs",
              metric: str = "accuracy", *,
              configs: Optional[Mapping[str, dict]] = None,
              ) -> dict[str, dict[str, float]]:
    """Per-dataset summary of the full-length runs of ``method``, in %.

    Returns ``{dataset: {"mean", "std", "paper", "paper_std", "seeds"}}`` for
    the runs of the current configuration (variant ``config``) whose epochs
    equal the config's; shortened and archived runs are left out.
    ``configs`` (dataset -> config as loaded, without overrides) spares
    loading configs the caller already holds.
    """
    out = {}
    groups = _load_groups(method, runs_dir)
    cfgs = _configs(method, {d for d, tag in groups if tag == "config"}, configs)
    for (dataset, tag), recs in sorted(groups.items()):
        if tag != "config":
            continue
        cfg = cfgs[dataset]
        early = bool(cfg["train"].get("monitor"))  # early stopping: any length
        full = [r for r in recs if (early or r["epochs"] == cfg["train"]["epochs"])
                and metric in r["metrics"]]
        if not full:
            continue
        vals = [100 * r["metrics"][metric] for r in full]
        paper = cfg.get("paper") or {}
        out[dataset] = {
            "mean": statistics.fmean(vals),
            "std": statistics.pstdev(vals) if len(vals) > 1 else 0.0,
            "paper": paper.get("value"), "paper_std": paper.get("std"),
            "seeds": len(vals)}
    return out


#: gcl.eval.REPORTING_RULES, named here so that rendering imports no torch
#: (tests/app/test_bench.py checks that they agree).
_RULES = ("final", "val_selected", "max_over_epochs")
#: Extra rows of the results table: a record's task and the metrics shown
#: (a reporting rule of a node protocol shows the main rows' metrics).
_EXTRA_ROWS = (("clustering", ("nmi", "ari", "acc")), ("link", ("auc", "ap")),
               *((rule, ("acc", "nmi", "ari", "macro_f1")) for rule in _RULES))


def compare_variants(method: str, dataset: str,
                     runs_dir: str | Path = "benchmarks/runs") -> str:
    """A Markdown table of every recorded variant of ``method`` on
    ``dataset`` (``config``, ``eN``, ``config-<hash>`` of ``--set``
    overrides...), with the mean validation score its probe selected on and
    the mean test metric, and the variant that **validation** chooses.

    The choice is made on the seeds that every variant with a validation
    score holds, so that no variant wins by its seeds; the test column is
    shown, never used. Variants whose protocol has no validation split
    (GRACE's own evaluator) are listed without a score and cannot be chosen.

    Args:
        method (str): Method name (its records' folder).
        dataset (str): Dataset folder name, e.g. ``"Photo"``.
        runs_dir (str or Path): Where the run records are.
            (default: ``"benchmarks/runs"``)
    """
    method = config_family(method)
    dataset = load_config(method, dataset)["dataset"]  # "photo" -> "Photo"
    groups = {tag: recs for (d, tag), recs in _load_groups(method, runs_dir).items()
              if d == dataset}
    if not groups:
        raise ValueError(f"no records of {method} on {dataset} in {runs_dir}")
    scored = {tag: {r["seed"]: r["validation"]["mean"] for r in recs}
              for tag, recs in groups.items()
              if all("validation" in r for r in recs)}
    common = set.intersection(*map(set, scored.values())) if scored else set()
    chosen = (max(scored, key=lambda t: statistics.fmean(
        scored[t][s] for s in common)) if common else None)
    metric = _default_metric([r for recs in groups.values() for r in recs])
    lines = [f"{method} on {dataset}: variants, validation score (the probe's "
             f"selection metric, mean over seeds {sorted(common) or '-'}) and "
             f"test {metric}, in %",
             "", "| variant | overrides | epochs | seeds | validation | "
             f"test {metric} | chosen on validation |", "|---|---|---|---|---|---|---|"]
    for tag, recs in sorted(groups.items()):
        overrides = ", ".join(f"`{o}`" for o in recs[0].get("overrides", [])) or "-"
        val = (f"{100 * statistics.fmean(scored[tag][s] for s in common):.2f}"
               if tag in scored and common else "-")
        seeds = ", ".join(str(r["seed"]) for r in sorted(recs, key=lambda r: r["seed"]))
        lines.append(
            f"| {tag} | {overrides} | {recs[0]['epochs']} | {seeds} | {val} | "
            f"{_fmt_pct([r['metrics'][metric] for r in recs])} | "
            f"{'yes' if tag == chosen else ''} |")
    if not scored:
        lines += ["", "No variant has a validation score (records made before "
                  "validation scores were recorded, or a protocol without a "
                  "validation split): nothing is chosen."]
    return "\n".join(lines)


def _default_metric(recs: list[dict]) -> str:
    """``accuracy`` when every record has it, else the first metric of the
    first record (``recall@20`` for the ranking task).
    """
    if all("accuracy" in r["metrics"] for r in recs):
        return "accuracy"
    return next(iter(recs[0]["metrics"]))


def _fmt_pct(values: list[float]) -> str:
    mean = 100 * statistics.fmean(values)
    std = 100 * statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{mean:.2f} ± {std:.2f}"


def _seed_ranges(seeds) -> str:
    """``0, 1, 2, 5`` as ``0-2, 5``: runs of consecutive seeds shortened."""
    out: list[list[int]] = []
    for seed in sorted(seeds):
        if out and seed == out[-1][1] + 1:
            out[-1][1] = seed
        else:
            out.append([seed, seed])
    return ", ".join(f"{a}-{b}" if b > a + 1 else
                     (f"{a}, {b}" if b > a else f"{a}") for a, b in out)


def _hardware(rs: list[dict]) -> tuple[str, str]:
    """The machine cell and the seconds-per-epoch cell of one table row.

    One kind of machine: its name and the median seconds per epoch. Seeds
    that ran on different machines (a CPU seed and GPU seeds of one config)
    get one entry per machine with its seeds, and one median per machine in
    the same order, since a median across a CPU and a GPU means nothing.
    """
    kinds: dict[str, list[dict]] = {}
    for r in rs:
        machine = r.get("machine", {})
        kind = machine.get("gpu") or (
            f"CPU, {machine.get('cpu_threads', '?')} threads")
        kinds.setdefault(kind, []).append(r)
    if len(kinds) == 1:
        (kind, group), = kinds.items()
        return kind, f"{statistics.median(r['seconds_per_epoch'] for r in group):.3f}"
    hw = "; ".join(f"{kind} (seed{'s' if len(g) > 1 else ''} "
                   f"{_seed_ranges(r['seed'] for r in g)})"
                   for kind, g in kinds.items())
    spe = " / ".join(f"{statistics.median(r['seconds_per_epoch'] for r in g):.3f}"
                     for g in kinds.values())
    return hw, spe


def _contended(machine: dict) -> bool:
    """Whether a CPU run's threads and the other processes that ran beside
    it needed more than the machine's cores (``other_cores`` of
    :func:`~gcl.app.record.machine_info`; records from before it: no).
    """
    from gcl.app.record import contended  # torch-free until a row needs it

    if machine.get("gpu"):
        return False
    return contended(machine.get("other_cores"), machine.get("cpu_threads", 1),
                     machine.get("cores", 1))


def _main_row(dataset: str, protocol: str, metric: str, paper: dict,
              rs: list[dict], ep: str, spe: str, mem: float, hw: str,
              tag: str, sources: dict) -> str:
    """One row of the main table: ``metric`` of the runs ``rs``."""
    value = (paper.get("values") or {}).get(metric, paper.get("value")
                                             if metric == paper.get("metric")
                                             else None)
    if value is not None and paper.get("protocol") == protocol:
        p = f"{value:.2f}"
        if paper.get("std") is not None and metric == paper.get("metric"):
            p += f" ± {paper['std']:.2f}"
        sources[dataset] = paper.get("source", "")
    elif paper.get("protocol") == protocol and paper.get("source"):
        p = "n/a"
        sources[dataset] = paper["source"]
    else:
        p = "-"
    ours = _fmt_pct([r["metrics"][metric] for r in rs])
    label = metric
    if (paper.get("macro_f1") is not None and metric != "macro_f1"
            and all("macro_f1" in r["metrics"] for r in rs)):
        # papers that publish both F1s (POT, gCooL): show both
        label = f"{metric} / macro_f1"
        ours += " / " + _fmt_pct([r["metrics"]["macro_f1"] for r in rs])
        if p not in ("-", "n/a"):
            p += f" / {paper['macro_f1']:.2f}"
    return (f"| {dataset} | {protocol} | {label} | {p} | {ours} | "
            f"{', '.join(str(r['seed']) for r in rs)} | {ep} | {spe} | "
            f"{mem:.0f} | {hw} | {tag} |")


def render(method: str, runs_dir: str | Path = "benchmarks/runs",
           results_dir: str | Path = "benchmarks/results",
           readme: str | Path | None = None, *,
           configs: Optional[Mapping[str, dict]] = None) -> Path:
    """Renders all records of ``method`` into ``<results_dir>/<method>.md``
    and, when ``readme`` is given, refreshes its results block.

    A method that a hand-kept page tabulates itself (see :func:`tabulated_by`)
    is not rendered: that page is returned, untouched, and the command that
    refreshes it is printed.

    ``configs`` (dataset -> config as loaded, without overrides; what
    :func:`run_bench` passes) spares loading them again; the config of any
    other dataset with records is loaded once.
    """
    method = config_family(method)
    owner = tabulated_by(method, results_dir)
    if owner is not None:
        page, command = owner
        print(f"{method}'s records are tabulated in {page} by `{command}`; "
              f"run it to refresh that page", flush=True)
        return page
    groups = _load_groups(method, runs_dir)
    configs = _configs(method, {dataset for dataset, _ in groups}, configs)
    lines = [
        f"# {method}: reproduction results",
        "",
        "<!-- --8<-- [start:body] -->",
        "Generated by `gcl bench` (`gcl/app/bench.py`) from the run records in "
        f"`benchmarks/runs/{method}/`; do not edit by hand. Ours: mean ± std "
        "(population) over seeds of each run's own mean over its evaluation "
        "splits. Paper values are as published, with their source below the "
        "table. Runs shorter than the paper configuration are labelled.",
        "",
        "| dataset | protocol | metric | paper | ours | seeds | epochs | "
        "s / epoch | peak memory (MiB) | machine | variant |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    extra_rows = []
    sources = {}
    def order(kv):  # per dataset, the current configuration first
        return kv[0][0], kv[0][1] != "config", kv[0][1]

    for (dataset, _tag), recs in sorted(groups.items(), key=order):
        cfg = configs[dataset]
        paper = cfg.get("paper") or {}
        metric = paper.get("metric") or _default_metric(recs)
        protocols = sorted({r["protocol"] for r in recs})
        for protocol in protocols:
            rs = sorted((r for r in recs if r["protocol"] == protocol),
                        key=lambda r: r["seed"])
            full = cfg["train"]["epochs"]
            epochs = sorted({r["epochs"] for r in rs})
            ep = ", ".join(str(e) for e in epochs)
            if cfg["train"].get("monitor"):  # early stopping: at most `full`
                ep += f" (early stopping, at most {full})"
            elif epochs != [full]:
                ep += f" (config: {full})"
            hw, spe = _hardware(rs)
            shared = max(r.get("machine", {}).get("concurrent_runs", 1) for r in rs)
            if shared > 1:  # benchmarks/gpu/reproduce.py --jobs
                hw += f", up to {shared} runs at once"
            det = [bool(r.get("machine", {}).get("deterministic")) for r in rs]
            if any(det):  # gcl bench --deterministic
                hw += (", deterministic kernels" if all(det)
                       else ", deterministic kernels in some runs")
            busy = sum(_contended(r.get("machine", {})) for r in rs)
            if busy:  # the seconds per epoch include waiting for a core
                hw += f", **contended** ({busy} of {len(rs)} runs)"
            mem = max(r["peak_memory_mb"] for r in rs)
            # a paper that publishes several metrics (HeCo: Macro-F1, Micro-F1
            # and AUC at 20/40/60 labels per class) lists them in `values`
            shown = [m for m in (paper.get("values") or {})
                     if all(m in r["metrics"] for r in rs)] or [metric]
            for name in shown:
                lines.append(_main_row(dataset, protocol, name, paper, rs, ep,
                                       spe, mem, hw, _tag, sources))
            # "<protocol>:<rule>": a rule over scored epochs is the main result
            base, _, main_rule = protocol.partition(":")
            for task, keys in _EXTRA_ROWS:
                done = [(r, r["metrics"]) if task == main_rule else
                        (r, r["tasks"][task]["metrics"]) for r in rs
                        if task == main_rule or task in r.get("tasks", {})]
                if not done:
                    continue
                name = task
                if task in _RULES:
                    name = f"{base}, {task}" + (" (selects on labels)" if task
                                                == "max_over_epochs" else "")
                    if base != "clusters":
                        keys = tuple(shown)
                cells = [_fmt_pct([m[k] for _, m in done]) for k in keys]
                extra_rows.append(
                    f"| {dataset} | {name} | {' / '.join(keys).upper()} | "
                    f"{' / '.join(cells)} | "
                    f"{', '.join(str(r['seed']) for r, _ in done)} | {ep} |")
    if extra_rows:
        rules = any("| clusters, " in row for row in extra_rows)
        scored = any(", val_selected |" in row for row in extra_rows)
        lines += ["", "Clustering (k-means on the same embeddings, 10 runs per "
                  "seed) and link prediction (`link_auc`: a second model trained "
                  "on 85 % of the edges, test AUC/AP of the scorer selected on "
                  "the 5 % validation edges), in %:" + (
                      " The method's own clusters are shown under both "
                      "reporting rules: `final` (the trained model, no "
                      "selection) and `max_over_epochs` (each metric's maximum "
                      "over the epochs, the paper's rule, which selects on the "
                      "test labels)." if rules else "") + (
                      " A run scored during training (`eval.every`) is shown "
                      "under the other reporting rules too: `val_selected` "
                      "(the scored epoch of best validation score) and "
                      "`max_over_epochs` (each metric's best test score over "
                      "the scored epochs, which selects on the test labels)."
                      if scored else ""), "",
                  "| dataset | task | metrics | ours | seeds | epochs |",
                  "|---|---|---|---|---|---|", *extra_rows]
    lines += _comparison(method, groups, runs_dir, configs)
    variants = {tag: recs[0]["overrides"] for (_, tag), recs in groups.items()
                if recs[0].get("overrides")}
    if variants:
        lines += ["", "Variants with config overrides (`gcl bench --set`, "
                  "`--batch-size`, ...):", ""]
        lines += [f"- `{tag}`: " + ", ".join(f"`{o}`" for o in overrides)
                  for tag, overrides in sorted(variants.items())]
    lines += _collapsed(groups)
    for extra in sorted(Path(results_dir).glob(f"{method}_ogb*.md")):
        # OGB tables written by their own scripts (e.g.
        # benchmarks/ogbl_ddi_grace.py): shown here so that one file has
        # every result of the method
        lines += ["", *(line for line in extra.read_text().strip().splitlines()
                        if not _TABULATES.fullmatch(line.strip()))]
    if sources:
        lines += ["", "Sources of the paper values:", ""]
        lines += [f"- {d}: {s}" for d, s in sorted(sources.items())]
    commits = sorted({(r.get("machine", {}).get("commit") or "?")[:7]
                      for recs in groups.values() for r in recs})
    lines += ["", f"gcl commits of these runs: {', '.join(commits)}.", ""]
    notes = Path(results_dir).parent / "notes" / f"{method}.md"
    if notes.exists():  # hand-written context, kept beside the generated table
        lines += [_NOTES, notes.read_text()]
    lines += ["<!-- --8<-- [end:body] -->", ""]
    out = Path(results_dir) / f"{method}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print(f"wrote {out}", flush=True)
    if readme is not None:
        update_readme(results_dir, readme)
    return out


def _collapsed(groups: dict) -> list[str]:
    """Markdown lines naming the runs whose record says their embeddings
    collapsed (:func:`gcl.eval.embedding_health`); empty when none did.
    """
    found = [f"- {dataset} `{tag}` seed {r['seed']}: spread "
             f"{h['spread']:.1e}, effective rank {h['effective_rank']:.2f} "
             f"of {h['dims']}"
             for (dataset, tag), recs in sorted(groups.items())
             for r in sorted(recs, key=lambda r: r["seed"])
             if (h := r.get("embedding", {})).get("collapsed")]
    if not found:
        return []
    return ["", "Runs whose embeddings collapsed (every node at nearly one "
            "point: spread below 1e-3, `embedding` in the record). Their "
            "scores are in the means above; they describe a failed run:", "",
            *found]


def tabulated_by(method: str, results_dir: str | Path = "benchmarks/results"
                 ) -> Optional[tuple[Path, str]]:
    """``(page, command)`` when a hand-kept page of ``results_dir`` declares
    that it tabulates ``method`` (``<!-- tabulates: m1 m2 (command) -->``),
    else :obj:`None`; :func:`render` then leaves the pages alone.
    """
    for page in sorted(Path(results_dir).glob("*.md")):
        for match in _TABULATES.finditer(page.read_text()):
            if method in match.group(1).split():
                return page, match.group(2).strip()
    return None


def _comparison(method: str, groups: dict, runs_dir: str | Path,
                configs: Mapping[str, dict]) -> list[str]:
    """Same-seed comparison with the baseline named by each config's
    ``baseline`` key (e.g. CSGCL against GRACE), as Markdown lines.

    Only runs of the current configuration (variant ``config``) are paired,
    seed by seed, within one protocol and one number of epochs; the
    difference is the mean of the per-seed differences.
    """
    rows = []
    base_groups: dict[str, dict] = {}
    for (dataset, tag), recs in sorted(groups.items()):
        baseline = configs[dataset].get("baseline")
        if tag != "config" or not baseline:
            continue
        if baseline not in base_groups:
            base_groups[baseline] = _load_groups(baseline, runs_dir)
        base = {(r["seed"], r["protocol"], r["epochs"]): r
                for r in base_groups[baseline].get((dataset, "config"), [])}
        pairs = [(base[k], r) for r in recs
                 if (k := (r["seed"], r["protocol"], r["epochs"])) in base]
        if not pairs:
            continue
        metric = ((configs[dataset].get("paper") or {}).get("metric")
                  or _default_metric(recs))
        cols = [("classification", metric, lambda r, m=metric: r["metrics"].get(m))]
        if metric != "macro_f1":
            cols.append(("classification", "macro_f1",
                         lambda r: r["metrics"].get("macro_f1")))
        for task, keys in (("clustering", ("nmi", "ari", "acc")),
                           ("link", ("auc", "ap"))):
            cols += [(task, k, lambda r, t=task, k=k: r.get("tasks", {}).get(
                t, {}).get("metrics", {}).get(k)) for k in keys]
        for task, key, get in cols:
            trip = [(get(b), get(r), r["seed"]) for b, r in pairs]
            trip = [t for t in trip if t[0] is not None and t[1] is not None]
            if not trip:
                continue
            both = [(b, r) for b, r, _ in trip]
            diffs = [100 * (r - b) for b, r in both]
            seeds = [s for _, _, s in trip]
            rows.append(
                f"| {dataset} | {pairs[0][1]['protocol']} | {task} {key} | "
                f"{baseline} | {_fmt_pct([b for b, _ in both])} | "
                f"{_fmt_pct([r for _, r in both])} | "
                f"{statistics.fmean(diffs):+.2f} | "
                f"{sum(d > 0 for d in diffs)}/{len(diffs)} | "
                f"{', '.join(map(str, seeds))} | {pairs[0][1]['epochs']} |")
    if not rows:
        return []
    return ["", f"Same seeds against the baseline each config names "
            f"(`baseline:`), in %; Δ is the mean per-seed difference, "
            f"'wins' counts seeds where {method} is higher:", "",
            f"| dataset | protocol | metric | baseline | baseline score | "
            f"{method} | Δ | wins | seeds | epochs |",
            "|---|---|---|---|---|---|---|---|---|---|", *rows]


def update_readme(results_dir: str | Path = "benchmarks/results",
                  readme: str | Path = "README.md") -> bool:
    """Copies the headline table of each ``<results_dir>/*.md`` (its first
    table) between the README's ``<!-- results:start -->`` and
    ``<!-- results:end -->`` markers, each under a link to its page and a
    count of the page's further tables (clustering, baselines, timings); the
    tables after a page's ``<!-- notes:start -->`` are not counted.

    Returns whether the README was updated (it is left alone when it or its
    markers are absent).
    """
    readme = Path(readme)
    if not readme.exists():
        return False
    text = readme.read_text()
    if _START not in text or _END not in text:
        return False
    blocks = []
    for path in sorted(Path(results_dir).glob("*.md")):
        if "_ogb" in path.stem:  # companion tables, shown inside <method>.md
            continue
        tables, prev = [], False
        for line in path.read_text().split(_NOTES, 1)[0].splitlines():
            is_row = line.startswith("|")
            if is_row and not prev:
                tables.append([])
            if is_row:
                tables[-1].append(line)
            prev = is_row
        if tables:
            more = len(tables) - 1
            more = f"; {more} more table{'s' if more > 1 else ''} there" \
                if more else ""
            blocks.append(f"**{path.stem}** ([details]({path.as_posix()}){more})"
                          "\n\n" + "\n".join(tables[0]))
    head, rest = text.split(_START, 1)
    tail = rest.split(_END, 1)[1]
    readme.write_text(head + _START + "\n" + "\n\n".join(blocks) + "\n" + _END
                      + tail)
    return True
