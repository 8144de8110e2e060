"""Seconds and memory of a HeCo training epoch: gcl against a gather reference.

HeCo's loss (``gcl.losses.heco_loss``) needs the cosine of every positive
pair, and its meta-path view multiplies constant sparse matrices. Two ways
to compute them, same model, data, seed and config, each data set in fresh
child processes (:func:`speed_harness.run_child`):

- **gcl**: the library as it is: the positives' cosines as a sampled
  dense-dense product over the pairs (``gcl.losses._blockwise.pair_dots``,
  pairs validated and laid out once per ``pos`` tensor) and the meta-path
  products through ``gcl.nn.spmm`` (each matrix's transpose built once);
- **gather** (the reference, what gcl did before): ``(u[i] * v[j]).sum(1)``
  on the validated pairs every step (two ``[P, d]`` gathers per direction
  and their scatter-adds in the backward pass) and ``torch.sparse.mm``,
  whose backward builds the transposed matrix every step. The script swaps
  these in for its own child only; the library is not changed.

Both compute the same loss (the record keeps both losses of every epoch).
Reported: the median wall and CPU seconds of epochs 2.. (epoch 1 is a
warm-up) and ``VmHWM`` over the epochs. One torch thread (``--threads``).

    PYTHONPATH=. GCL_DATA=/work/shared/data python benchmarks/heco_epoch.py \
        --datasets ACM-HeCo DBLP-HeCo AMiner-HeCo Freebase-HeCo --epochs 4
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from speed_harness import (  # noqa: E402
    MemoryWindow,
    cpu_model,
    markdown_table,
    peak_mb,
    run_child,
    time_steps,
)

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "heco_epoch.md"
DATASETS = ("ACM-HeCo", "DBLP-HeCo", "AMiner-HeCo", "Freebase-HeCo")
MODES = ("gcl", "gather")
COMMAND = ("PYTHONPATH=. GCL_DATA=/work/shared/data python "
           "benchmarks/heco_epoch.py --datasets {datasets} --epochs {epochs} "
           "--threads {threads}")


def use_gather_reference() -> None:
    """Swaps the gather reference into this process (see the docstring)."""
    import gcl.losses.heco as heco_loss_module
    import gcl.nn.meta_path_encoder as encoder_module
    from gcl.losses._blockwise import PairPattern

    def prepared(pos, n, pos_weight):
        index, weight = heco_loss_module.positive_pairs(pos, n, pos_weight)
        row, col = index
        return row, PairPattern(row, col, *([None] * 5), (n, n)), weight

    def gather_dots(a, b, pattern, row_sorted=False):
        return (a[pattern.row] * b[pattern.col]).sum(dim=1)

    heco_loss_module._prepared_pairs = prepared
    heco_loss_module.pair_dots = gather_dots
    encoder_module.spmm = torch.sparse.mm


def measure(dataset: str, mode: str, epochs: int, threads: int) -> dict[str, Any]:
    """One child: HeCo from its config, ``epochs`` epochs of ``gcl.fit``'s
    full-batch loop (after ``prepare``), in ``mode``."""
    from torch_geometric import seed_everything

    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.methods import build_method

    torch.set_num_threads(threads)
    if mode == "gather":
        use_gather_reference()
    cfg = load_config("heco", dataset)
    data = load(dataset, **cfg["data"])
    seed_everything(cfg["seed"])
    method = build_method(cfg, data.num_features)
    method.reset_parameters()
    method.prepare(data)
    optimizer = torch.optim.Adam(method.parameters(), lr=cfg["train"]["lr"],
                                 weight_decay=cfg["train"].get("weight_decay", 0.0))

    def step(epoch: int) -> float:
        method.train()
        method.set_epoch(epoch)
        optimizer.zero_grad()
        loss = method(data)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    window = MemoryWindow()
    window.start()
    timing = time_steps(step, epochs - 1, warmup=1)
    pos = method.graph(data)["pos"]
    return {
        "dataset": dataset, "mode": mode, "threads": torch.get_num_threads(),
        "target_nodes": int(data[method.target].num_nodes),
        "positive_pairs": int(pos.size(1) if pos.layout == torch.strided
                              else pos._nnz()),
        "metapath_edges": {m: int(data[method.target, m, method.target]
                                  .edge_index.size(1))
                           for m in method.metapaths},
        "median_s": timing["seconds_per_epoch"],
        "median_cpu_s": timing["cpu_per_epoch"],
        "wall": timing["wall"], "cpu": timing["cpu"], "losses": timing["losses"],
        "train_peak_mb": peak_mb(), "train_added_mb": window.added(),
        "torch": torch.__version__,
    }


def render(records: Sequence[dict], command: str, machine: str) -> str:
    """The results page."""
    by = {(r["dataset"], r["mode"]): r for r in records if "error" not in r}
    rows = []
    for ds in dict.fromkeys(r["dataset"] for r in records):
        new, ref = by.get((ds, "gcl")), by.get((ds, "gather"))
        if not (new and ref):
            continue
        loss_gap = max(abs(a - b) for a, b in zip(new["losses"], ref["losses"]))
        rows.append([
            ds, f"{new['target_nodes']:,}", f"{new['positive_pairs']:,}",
            f"{ref['median_s']:.2f} ({ref['median_cpu_s']:.2f})",
            f"{new['median_s']:.2f} ({new['median_cpu_s']:.2f})",
            f"**{ref['median_cpu_s'] / new['median_cpu_s']:.1f}x**",
            f"{ref['train_added_mb']:.0f} / {new['train_added_mb']:.0f}",
            f"{loss_gap:.1e}"])
    table = markdown_table(
        ["dataset", "target nodes", "positive pairs", "gather s/epoch (CPU)",
         "gcl s/epoch (CPU)", "CPU ratio", "epochs +MiB gather / gcl",
         "max loss difference"], rows)
    errors = [f"- {r['dataset']} {r.get('mode', '')}: {r['error']}"
              for r in records if "error" in r]
    return "\n".join([
        "# HeCo: one training epoch, gcl against the gather reference (CPU)",
        "",
        "<!-- --8<-- [start:body] -->",
        f"Command: `{command}`. Each data set and mode in a fresh child "
        "process (`benchmarks/heco_epoch.py`, whose docstring defines the "
        "modes): HeCo from its config, the median of epochs 2.. of "
        "`gcl.fit`'s full-batch loop, wall seconds with process CPU seconds "
        "in parentheses; *+MiB* is the growth of `VmHWM` over the epochs. "
        "The losses of the two modes are the same computation in another "
        "order (last column: largest difference over the epochs).",
        "",
        f"Machine: {machine}. Other benchmark processes shared the 2 cores, "
        "so wall times include waiting; the ratio is of CPU seconds.",
        "",
        *table, *([""] + errors if errors else []),
        "<!-- --8<-- [end:body] -->", ""])


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS))
    p.add_argument("--epochs", type=int, default=4,
                   help="epochs per run (>= 2: a warm-up and the median of the rest)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be >= 2")
    if args.child:
        print(json.dumps(measure(*args.child, args.epochs, args.threads)))
        return
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    records = []
    for ds in args.datasets:
        for mode in MODES:
            child = ["--child", ds, mode, "--epochs", str(args.epochs),
                     "--threads", str(args.threads)]
            rec = run_child(__file__, child, timeout=args.timeout)
            rec.setdefault("dataset", ds)
            rec.setdefault("mode", mode)
            records.append(rec)
            print(json.dumps(rec), flush=True)
    command = COMMAND.format(datasets=" ".join(args.datasets), epochs=args.epochs,
                             threads=args.threads)
    machine = (f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
               f"Python {sys.version.split()[0]}, {args.threads} torch thread(s)")
    Path(args.out).write_text(render(records, command, machine))
    Path(args.out).with_suffix(".json").write_text(json.dumps(records, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
