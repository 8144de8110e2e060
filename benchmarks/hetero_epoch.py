"""Seconds and memory of HeCo and AdaMEOW training epochs: gcl against a
reference computation of the same step.

Same model, data, seed and config, each (method, data set, mode) in a fresh
child process (:func:`speed_harness.run_child`); the reference is swapped in
for its own child only, the library is not changed.

**HeCo** (``--method heco``). Its loss needs the cosine of every positive
pair, and its meta-path view multiplies constant sparse matrices.

- *gcl*: the positives' cosines as a sampled dense-dense product over the
  pairs (``gcl.losses._blockwise.pair_dots``, pairs validated and laid out
  once per ``pos`` tensor), the meta-path products through
  ``gcl.nn.spmm`` (each matrix's transpose built once), and the two
  directions' log-sum-exps from one exponential per block, shifted by
  the logits' bound (``_CrossLSE``, since 2026-11-28);
- *reference* (what gcl did before): the log-sum-exps shifted by each
  block's row and column maxima (two exponentials per block, and four in
  the backward pass), ``(u[i] * v[j]).sum(1)`` on the
  validated pairs every step (two ``[P, d]`` gathers per direction and
  their scatter-adds in the backward pass) and ``torch.sparse.mm``, whose
  backward builds the transposed matrix every step, swapped into the
  modules that call ``spmm`` (``gcl.nn.gcn_encoder``, whose GCN layers the
  meta-path encoder uses, and ``gcl.nn.meta_path_gcn``). From 2026-11-27
  (32e125b) to 2026-11-28 the swap named a module that no longer called
  ``spmm``, so those references kept gcl's meta-path products.

**AdaMEOW** (``--method adameow``). Its pair-weight MLP runs on ``[rows, N,
16]`` blocks of all pairs.

- *gcl*: the default block, sized so that a block's hidden layer is about
  8 MiB (32 rows on ACM); each side's first layer computed once per step;
  the hidden layer through the logistic function of per-node factors
  (``gcl.losses.adameow.PairWeightMLP``), and, since 2026-11-29, the
  gradients formed in the same pass as the loss, one block at a time
  (``gcl.losses.adameow._FusedRows``: each block built once, not again in
  the backward pass);
- *reference* (what gcl did before 2026-11-28): the official MLP
  (``Linear -> tanh -> Linear -> sigmoid``, autograd) on each block of 256
  rows, checkpointed (``gcl.losses.weighted_info_nce``: the backward pass
  builds each block again), its first layer factored but computed again
  for every block.

Both modes compute the same loss (the record keeps every epoch's loss).
Reported: the median wall and CPU seconds of epochs 2.. (epoch 1 is a
warm-up) and ``VmHWM`` over the epochs. One torch thread (``--threads``).

    PYTHONPATH=. GCL_DATA=/work/shared/data python benchmarks/hetero_epoch.py \
        --method heco --datasets ACM-HeCo DBLP-HeCo AMiner-HeCo Freebase-HeCo
    PYTHONPATH=. GCL_DATA=/work/shared/data python benchmarks/hetero_epoch.py \
        --method adameow --datasets ACM-HeCo
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
    contended,
    cpu_model,
    full_batch_step,
    markdown_table,
    peak_mb,
    run_child,
    step_live_peak_mb,
    time_steps,
)

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "results" / "hetero_epoch.md"
DATASETS = {"heco": ("ACM-HeCo", "DBLP-HeCo", "AMiner-HeCo", "Freebase-HeCo"),
            "adameow": ("ACM-HeCo",)}
MODES = ("gcl", "reference")
REFERENCE = {"heco": "max-shifted log-sum-exps, two [P, d] gathers per direction, "
                     "torch.sparse.mm",
             "adameow": "official tanh MLP (autograd), 256 rows per block"}
COMMAND = ("PYTHONPATH=. GCL_DATA=/work/shared/data python "
           "benchmarks/hetero_epoch.py --method {method} --datasets {datasets} "
           "--epochs {epochs} --threads {threads}")


def use_heco_reference() -> None:
    """Swaps HeCo's gather reference into this process (see the docstring)."""
    import gcl.losses._blockwise as blockwise_module
    import gcl.losses.heco as heco_loss_module
    import gcl.nn.gcn_encoder as conv_module
    import gcl.nn.meta_path_gcn as metapath_module
    from gcl.losses._blockwise import PairPattern

    def prepared(pos, n, pos_weight):
        index, weight = heco_loss_module.positive_pairs(pos, n, pos_weight)
        row, col = index
        return PairPattern(row, col, *([None] * 5), (n, n)), weight

    def gather_dots(a, b, pattern, row_sorted=False):
        return (a[pattern.row] * b[pattern.col]).sum(dim=1)

    # the cross log-sum-exps shifted by each block's maxima (every range)
    swap(blockwise_module, "_FIXED_SHIFT_RANGE", 0.0)
    swap(heco_loss_module, "_prepared_pairs", prepared)
    swap(heco_loss_module, "pair_dots", gather_dots)
    # the meta-path GCN layers (gcl.nn.gcn_encoder._GCNConv, used by
    # MetaPathEncoder) and the meta-path propagation of gcl.nn.meta_path_gcn
    swap(conv_module, "spmm", torch.sparse.mm)
    swap(metapath_module, "spmm", torch.sparse.mm)


def swap(module, name: str, value) -> None:
    """Sets ``module.name``, refusing a name the module does not have (a
    reference that patched a moved function would silently measure gcl)."""
    if not hasattr(module, name):
        raise RuntimeError(f"{module.__name__} has no {name!r} to swap: the "
                           f"reference needs updating")
    setattr(module, name, value)


class TanhPairMLP(torch.nn.Module):
    """AdaMEOW's weight MLP as the official code writes it (tanh, autograd),
    its first layer factored per block: the reference of ``--method
    adameow``. Holds the layers of the :class:`PairWeightMLP` it replaces."""

    def __init__(self, mlp: torch.nn.Module):
        super().__init__()
        self.lin1, self.lin2 = mlp.lin1, mlp.lin2
        self.hidden_channels = mlp.hidden_channels

    def forward(self, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        a = self.lin1(p)
        c = torch.nn.functional.linear(q, self.lin1.weight)
        return torch.sigmoid(self.lin2(torch.tanh(a[:, None] + c[None])).squeeze(-1))


def measure(method_name: str, dataset: str, mode: str, epochs: int,
            threads: int) -> dict[str, Any]:
    """One child: the method from its config, ``epochs`` epochs of
    ``gcl.fit``'s full-batch loop (after ``prepare``), in ``mode``."""
    from torch_geometric import seed_everything

    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.methods import build_method

    torch.set_num_threads(threads)
    cfg = load_config(method_name, dataset)
    if mode == "reference" and method_name == "heco":
        use_heco_reference()
    if mode == "reference" and method_name == "adameow":
        cfg["model"]["block_size"] = 256
    data = load(dataset, **cfg["data"])
    seed_everything(cfg["seed"])
    method = build_method(cfg, data.num_features)
    method.reset_parameters()
    if mode == "reference" and method_name == "adameow":
        method.loss.mlp = TanhPairMLP(method.loss.mlp)
    method.prepare(data)
    optimizer = torch.optim.Adam(method.parameters(), lr=cfg["train"]["lr"],
                                 weight_decay=cfg["train"].get("weight_decay", 0.0))

    window = MemoryWindow()
    window.start()
    step = full_batch_step(method, data, optimizer)
    timing = time_steps(step, epochs - 1, warmup=1)
    # the high-water marks before the profiler adds buffers of its own
    peak, added = peak_mb(), window.added()
    live = step_live_peak_mb(step, epochs + 1)
    pos = method.graph(data).get("pos")
    return {
        "method": method_name, "dataset": dataset, "mode": mode,
        "threads": torch.get_num_threads(),
        "target_nodes": int(data[method.target].num_nodes),
        "positive_pairs": None if pos is None else int(
            pos.size(1) if pos.layout == torch.strided else pos._nnz()),
        "metapath_edges": {m: int(data[method.target, m, method.target]
                                  .edge_index.size(1))
                           for m in method.metapaths},
        "median_s": timing["seconds_per_epoch"],
        "median_cpu_s": timing["cpu_per_epoch"],
        "wall": timing["wall"], "cpu": timing["cpu"], "losses": timing["losses"],
        "train_peak_mb": peak, "train_added_mb": added,
        "step_live_mb": live,
        "torch": torch.__version__,
    }


def live_pair(ref: dict, new: dict) -> str:
    """``reference / gcl`` step live peaks, ``-`` where a record has none."""
    if "step_live_mb" not in ref or "step_live_mb" not in new:
        return "-"
    return f"{ref['step_live_mb']:.0f} / {new['step_live_mb']:.0f}"


def others_pair(ref: dict, new: dict) -> str:
    """``reference / gcl``: the cores other processes kept busy while each
    child ran, flagged where they and the child's threads needed more than
    the machine's cores; ``-`` where a record predates the measurement.
    """
    if "other_cores" not in ref or "other_cores" not in new:
        return "-"
    busy = any(contended(r["other_cores"], r.get("threads", 1)) for r in (ref, new))
    text = f"{ref['other_cores']:.2f} / {new['other_cores']:.2f}"
    return text + (" **contended**" if busy else "")


def render(records: Sequence[dict], commands: Sequence[str], machine: str) -> str:
    """The results page (every method's latest records)."""
    by = {(r["method"], r["dataset"], r["mode"]): r for r in records
          if "error" not in r}
    rows = []
    for m, ds in dict.fromkeys((r["method"], r["dataset"]) for r in records):
        new, ref = by.get((m, ds, "gcl")), by.get((m, ds, "reference"))
        if not (new and ref):
            continue
        loss_gap = max(abs(a - b) for a, b in zip(new["losses"], ref["losses"]))
        pairs = new.get("positive_pairs")
        rows.append([
            m, ds, REFERENCE[m], f"{new['target_nodes']:,}",
            "-" if pairs is None else f"{pairs:,}",
            f"{ref['median_s']:.2f} ({ref['median_cpu_s']:.2f})",
            f"{new['median_s']:.2f} ({new['median_cpu_s']:.2f})",
            f"**{ref['median_cpu_s'] / new['median_cpu_s']:.1f}x**",
            f"{ref['train_added_mb']:.0f} / {new['train_added_mb']:.0f}",
            live_pair(ref, new),
            others_pair(ref, new),
            f"{loss_gap:.1e}"])
    table = markdown_table(
        ["method", "dataset", "reference", "target nodes", "positive pairs",
         "reference s/epoch (CPU)", "gcl s/epoch (CPU)", "CPU ratio",
         "epochs +MiB reference / gcl", "step live MiB reference / gcl",
         "other processes' cores reference / gcl", "max loss difference"], rows)
    errors = [f"- {r.get('method')} {r['dataset']} {r.get('mode', '')}: "
              f"{r['error']}" for r in records if "error" in r]
    return "\n".join([
        "# HeCo and AdaMEOW: one training epoch, gcl against a reference (CPU)",
        "",
        "<!-- --8<-- [start:body] -->",
        "Commands: " + "; ".join(f"`{c}`" for c in commands) + ". Each "
        "method, data set and mode in a fresh child process "
        "(`benchmarks/hetero_epoch.py`, whose docstring defines the "
        "references): the method from its config, the median of epochs 2.. of "
        "`gcl.fit`'s full-batch loop, wall seconds with process CPU seconds "
        "in parentheses; *+MiB* is the growth of `VmHWM` over the epochs, "
        "which also counts freed blocks that glibc keeps in its heap; *step "
        "live MiB* is the peak of the tensors one more step allocates and "
        "holds (torch's profiler, `speed_harness.step_live_peak_mb`; - where "
        "the record predates it). "
        "The losses of the two modes are the same computation in another "
        "order (last column: largest difference over the epochs).",
        "",
        f"Machine: {machine}. *Other processes' cores*: how many cores "
        "processes other than the child kept busy on average while it ran "
        "(`speed_harness.OtherLoad`, from `/proc/stat`); **contended** where "
        "they and the child's threads needed more than the machine's cores, "
        "so that the wall times include waiting; - where the record predates "
        "the measurement (those runs shared the cores with other "
        "benchmarks). The ratio is of CPU seconds.",
        "",
        *table, *([""] + errors if errors else []),
        "<!-- --8<-- [end:body] -->", ""])


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", choices=sorted(DATASETS), default="heco")
    p.add_argument("--datasets", nargs="+", default=None,
                   help="default: every data set of the method's table")
    p.add_argument("--epochs", type=int, default=4,
                   help="epochs per run (>= 2: a warm-up and the median of the rest)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per child")
    p.add_argument("--out", default=str(OUT))
    p.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.epochs < 2:
        p.error("--epochs must be >= 2")
    if args.child:
        print(json.dumps(measure(*args.child, args.epochs, args.threads)))
        return
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    datasets = args.datasets or list(DATASETS[args.method])
    records = []
    for ds in datasets:
        for mode in MODES:
            child = ["--child", args.method, ds, mode, "--epochs", str(args.epochs),
                     "--threads", str(args.threads)]
            rec = run_child(__file__, child, timeout=args.timeout)
            rec.update(method=args.method, dataset=ds, mode=mode,
                       threads=args.threads)
            records.append(rec)
            print(json.dumps(rec), flush=True)
    command = COMMAND.format(method=args.method, datasets=" ".join(datasets),
                             epochs=args.epochs, threads=args.threads)
    # keep the other methods' records and commands: one page for all
    store = Path(args.out).with_suffix(".json")
    kept = json.loads(store.read_text()) if store.exists() else {}
    kept[args.method] = {"command": command, "records": records}
    store.write_text(json.dumps(kept, indent=2))
    machine = (f"{cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__}, "
               f"Python {sys.version.split()[0]}, {args.threads} torch thread(s)")
    Path(args.out).write_text(render(
        [r for m in sorted(kept) for r in kept[m]["records"]],
        [kept[m]["command"] for m in sorted(kept)], machine))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
