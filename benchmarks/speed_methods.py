"""gcl's CSGCL, gCooL, GRACE+POT and GCA steps against official-style dense steps.

For each data set and method the configuration ``gcl/configs/<method>/
<dataset>.yaml`` is built twice from its seed: once as gcl's method (sparse
propagation, block-wise losses, cached sparse statistics) and once driven by
the dense reference of ``benchmarks/reference_methods.py``, which computes
the step the way the method's released code does (dense features, PyG's
edge-list ``GCNConv``, the N x N similarity matrices, gCooL's dense
adjacency, POT's dense bound matrices; see that file). Both share the
initial weights and the Adam settings; the reference takes from gcl's
``prepare`` only the statistics the official code also computes once
(communities, centralities) and builds its own official caches (POT's dense
bounds). Each variant runs in its own child process (``speed_harness.py``),
gcl and reference alternating (the order flips from row to row).

Per variant: ``prepare`` time (setup), wall and CPU seconds per step
(median over the timed epochs after ``--warmup`` epochs), peak memory of
the process (``VmHWM``) and the training increment (the high-water mark is
restarted after data and model are built: ``prepare`` plus the steps,
i.e. cached statistics and the step's transients), the peak of the
tensors one more step allocates and holds (torch's profiler,
``speed_harness.step_live_peak_mb``: what the step needs whatever the
allocator keeps), and the first step's loss (the reference and gcl draw
the same views from the same seed, so the two agree up to float32
rounding).

Hand-written notes on a run (how it was made, what the numbers mean) live in
``benchmarks/notes/speed_methods.md``; the page is the generated table
followed by them, so a rerun keeps them.

Phases: where a method's step changes with the epoch, each phase is a row:
CSGCL before ``t0`` (gamma = 0; the official code adds the zero bias
anyway) and after (Team-up bias); gCooL while DeCA and ReSC are weighted
(t < alpha_rate * stride; the first 100 steps with the shipped configs) and
after (gcl then skips them; the official code computes them every step).

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/speed_methods.py
        [--datasets Cora Photo Computers] [--methods csgcl gcool pot gca]
        [--epochs 3] [--warmup 1] [--rounds 1]
        [--out benchmarks/results/speed_methods.md]
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from speed_harness import (  # noqa: E402
    MemoryWindow,
    fmt,
    machine_line,
    markdown_table,
    mem_available_mb,
    peak_mb,
    ratio,
    run_child,
    step_live_peak_mb,
    time_steps,
)

NOTES = Path(__file__).parent / "notes" / "speed_methods.md"
DEFAULT_EPOCHS = {"Cora": 10, "CiteSeer": 10, "Photo": 3, "Computers": 2}
METHODS = ("csgcl", "gcool", "pot", "gca")
#: reference's peak memory per float32 N x N matrix (GRACE's dense step keeps
#: about 8 of them; a margin on top), used to skip what cannot fit
DENSE_MATRICES = 10


def phases(method: str, cfg: dict) -> list[tuple[str, int]]:
    """(label, first epoch) of each phase of ``method``'s step."""
    model = cfg["model"]
    if method == "csgcl":
        t0 = int(model.get("t0", 500))
        return [("gamma = 0", 1), ("Team-up", t0 + 1)]
    if method == "gcool":
        end = int(model.get("alpha_rate", 0.2) * model.get("stride", 500))
        return [("DeCA + ReSC", 2), ("node only", end + 2)]
    return [("", 1)]


def one_variant(method_name: str, dataset: str, variant: str, epochs: int,
                warmup: int, first_epoch: int) -> dict:
    from reference_methods import build_reference

    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.methods import build_method

    cfg = load_config(method_name, dataset)
    data_kw = dict(cfg["data"])
    if variant == "reference":  # the official codes keep X dense
        data_kw["sparse_features"] = False
    data = load(dataset, **data_kw)
    seed = cfg["seed"]
    torch.manual_seed(seed)
    method = build_method(cfg["method"], data.num_features, **cfg["model"])
    runner = method if variant == "gcl" else build_reference(method_name,
                                                             method)
    opt = torch.optim.Adam(method.parameters(), lr=cfg["train"]["lr"],
                           weight_decay=cfg["train"].get("weight_decay", 0.0))
    window = MemoryWindow()
    window.start()
    t = time.perf_counter()
    runner.prepare(data)
    setup = time.perf_counter() - t
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)

    def step(epoch):
        runner.set_epoch(epoch)
        opt.zero_grad()
        loss = runner(data)
        loss.backward()
        opt.step()
        return loss.detach()

    res = time_steps(step, epochs, warmup, first_epoch)
    # the high-water marks before the profiler adds buffers of its own
    peak, added = peak_mb(), window.added()
    # one more step of the same phase, under the profiler
    live = step_live_peak_mb(step, first_epoch + warmup + epochs)
    return {**res, "setup_s": setup, "peak_mb": peak,
            "train_mb": added, "live_mb": live,
            "first_loss": res["losses"][0],
            "nodes": data.num_nodes, "edges": data.edge_index.size(1),
            "threads": torch.get_num_threads(), "warmup": warmup}


def fits(n: int) -> bool:
    """Whether the dense reference of an ``n``-node graph should fit in the
    memory available now."""
    return DENSE_MATRICES * 4 * n * n / 2**20 + 1024 < mem_available_mb()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=["Cora", "Photo",
                                                      "Computers"])
    p.add_argument("--methods", nargs="+", default=list(METHODS),
                   choices=METHODS)
    p.add_argument("--epochs", type=int, default=None,
                   help="timed epochs per variant (default: per dataset)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--rounds", type=int, default=1,
                   help="runs of each variant (epoch times pooled)")
    p.add_argument("--timeout", type=float, default=1800,
                   help="seconds per child process")
    p.add_argument("--out", default="benchmarks/results/speed_methods.md")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(one_variant(**json.loads(args.child))))
        return
    from gcl.app.config import load_config
    from gcl.datasets import load

    machine = machine_line()
    rows, flip = [], False
    for ds in args.datasets:
        epochs = args.epochs or DEFAULT_EPOCHS.get(ds, 2)
        n = load(ds).num_nodes
        for name in args.methods:
            cfg = load_config(name, ds)
            for label, first in phases(name, cfg):
                res = {"gcl": [], "reference": []}
                for _ in range(args.rounds):
                    order = ("reference", "gcl") if flip else ("gcl",
                                                               "reference")
                    flip = not flip
                    for variant in order:
                        if variant == "reference" and not fits(n):
                            out = {"error": f"skipped: needs about "
                                   f"{DENSE_MATRICES * 4 * n * n / 2**30:.1f}"
                                   f" GiB, {mem_available_mb() / 2**10:.1f} "
                                   f"GiB available"}
                        else:
                            spec = dict(method_name=name, dataset=ds,
                                        variant=variant, epochs=epochs,
                                        warmup=args.warmup, first_epoch=first)
                            out = run_child(__file__,
                                            ["--child", json.dumps(spec)],
                                            timeout=args.timeout)
                        res[variant].append(out)
                        print(ds, name, label, variant,
                              {k: v for k, v in out.items()
                               if k not in ("wall", "cpu", "losses")},
                              flush=True)
                rows.append((ds, name, label, first, epochs, pool(res)))
                write(args, machine, rows, quiet=True)  # partial results
    write(args, machine, rows)


def pool(res: dict) -> dict:
    """One result per variant: the timed epochs of all rounds pooled
    (median), the largest memory, the first round's loss; or the first
    error."""
    out = {}
    for variant, runs in res.items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            out[variant] = runs[0]
            continue
        wall = [w for r in ok for w in r["wall"][r["warmup"]:]]
        cpu = [c for r in ok for c in r["cpu"][r["warmup"]:]]
        out[variant] = {**ok[0], "seconds_per_epoch": statistics.median(wall),
                        "cpu_per_epoch": statistics.median(cpu),
                        "peak_mb": max(r["peak_mb"] for r in ok),
                        "train_mb": max(r["train_mb"] for r in ok),
                        "live_mb": max(r["live_mb"] for r in ok),
                        "rounds": len(ok)}
    return out


def write(args, machine: str, rows: list, quiet: bool = False) -> None:
    header = ["dataset", "method", "phase (first epoch)", "N", "epochs timed",
              "gcl s/step", "ref s/step", "time ratio", "gcl CPU s/step",
              "ref CPU s/step", "CPU ratio", "gcl peak MiB", "ref peak MiB",
              "peak ratio", "gcl train +MiB", "ref train +MiB",
              "train memory ratio", "gcl step live MiB",
              "ref step live MiB", "live ratio", "gcl setup s", "ref setup s",
              "first loss gcl / ref"]
    table = []
    for ds, name, label, first, epochs, res in rows:
        g, r = res["gcl"], res["reference"]
        phase = f"{label} ({first})" if label else str(first)
        if "error" in g or "error" in r:
            table.append([ds, name, phase, "", epochs,
                          fmt(g.get("seconds_per_epoch", g.get("error"))),
                          fmt(r.get("seconds_per_epoch", r.get("error")))]
                         + [""] * (len(header) - 7))
            continue
        table.append([
            ds, name, phase, g["nodes"], epochs,
            fmt(g["seconds_per_epoch"]), fmt(r["seconds_per_epoch"]),
            ratio(g, r, "seconds_per_epoch"), fmt(g["cpu_per_epoch"]),
            fmt(r["cpu_per_epoch"]), ratio(g, r, "cpu_per_epoch"),
            fmt(g["peak_mb"], 0), fmt(r["peak_mb"], 0),
            ratio(g, r, "peak_mb"), fmt(g["train_mb"], 0),
            fmt(r["train_mb"], 0), ratio(g, r, "train_mb"),
            fmt(g["live_mb"], 0), fmt(r["live_mb"], 0),
            ratio(g, r, "live_mb"),
            fmt(g["setup_s"], 1), fmt(r["setup_s"], 1),
            f"{g['first_loss']:.5f} / {r['first_loss']:.5f}"])
    command = "PYTHONPATH=. OMP_NUM_THREADS=1 python " + " ".join(
        shlex.quote(a) for a in sys.argv)
    lines = [
        "# CSGCL, gCooL, GRACE+POT and GCA steps: gcl vs official-style "
        "dense steps",
        "",
        "<!-- --8<-- [start:body] -->",
        "Generated by `benchmarks/speed_methods.py` (see its docstring). Same "
        "configuration (`gcl/configs/<method>/<dataset>.yaml`), data, seed "
        "and initial weights; the reference computes each step the way the "
        "released code does (`benchmarks/reference_methods.py`, checked "
        "against gcl's loss and gradients in float64 by "
        "`tests/benchmarks/test_speed_references.py`). One step = two views, "
        "encoder, projection, loss, backward, Adam. s/step: median wall "
        "seconds over the timed epochs after the warm-up; CPU: the same in "
        "process CPU time; peak: the child's `VmHWM`; train +MiB: memory "
        "added by `prepare` and the steps (both also count freed blocks "
        "that glibc keeps); step live MiB: the peak of the tensors one more "
        "step allocates and holds (torch's profiler, "
        "`speed_harness.step_live_peak_mb`), whatever the allocator keeps; "
        "setup: `prepare` (communities, centralities, bounds). Ratios are "
        "gcl / reference.",
        "",
        f"Machine: {machine}.",
        "",
        f"Command: `{command}`",
        "",
        *markdown_table(header, table),
        *(["", "<!-- notes:start -->", NOTES.read_text().rstrip()]
          if NOTES.exists() else []),
        "<!-- --8<-- [end:body] -->",
    ]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    if not quiet:
        print("\n".join(lines))


if __name__ == "__main__":
    main()
