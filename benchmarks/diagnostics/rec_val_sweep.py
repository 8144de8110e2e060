"""Diagnostic: choose a recommender's settings on the validation split only.

Trains one of the ranking configs (``lightgcn``, ``simgcl``, ``lightgcl``,
``lightgcl_paper``) with ``key=value`` overrides, one run per ``--grid``
entry, exactly as ``gcl bench <method> --task ranking`` trains it: the same
data (the validation split carved from the training interactions with the
seed), the same seeded :func:`gcl.fit` with the config's epoch cap and
early-stopping rule (``eval.every``, ``eval.patience`` on validation
Recall@20, the best weights kept). It prints the validation curve, the best
check and where the run stopped. **The test split is never scored**::

    python benchmarks/diagnostics/rec_val_sweep.py lightgcl \\
        --grid model.lambda1=0.2 model.lambda1=0.1

A grid entry may hold several overrides separated by commas
(``model.cl_rate=0.1,train.lr=0.005``); ``-`` is the config as it is.

With ``--checkpoint-dir DIR --resume`` a run also checkpoints every five
minutes and picks up where an interrupted one stopped (the printed wall time
is then this process's part). With ``--checkpoint-dir DIR`` each run leaves
its final checkpoint (the stopped state with the best weights,
:func:`gcl.fit`'s format) at ``DIR/<method>/<dataset>/<entry>/seed<k>.pt``.
Once a setting is chosen and written into the config, moving its file to
``DIR/<method>/<dataset>/config/seed<k>.pt`` lets ``gcl bench <method>
--checkpoint-dir DIR`` resume it: the run is finished, so bench restores the
best weights and scores the test split once, without training it again.
"""

import argparse
import re
import time
from pathlib import Path

import torch

from gcl import fit
from gcl.app.config import config_family, load_config
from gcl.datasets import load_interactions
from gcl.eval import ranking_split
from gcl.methods import build_method


def entry_tag(entry: str) -> str:
    """A folder name for a grid entry."""
    return "config" if entry == "-" else re.sub(r"[^A-Za-z0-9._=-]+", "_", entry)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("method")
    p.add_argument("--dataset", default="LastFM")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid", nargs="+", default=["-"])
    p.add_argument("--checkpoint-dir", default=None)
    p.add_argument("--resume", action="store_true",
                   help="with --checkpoint-dir: checkpoint every 5 minutes and "
                        "resume a run from its checkpoint (a finished run is "
                        "not trained again)")
    args = p.parse_args()
    torch.set_num_threads(1)
    family = config_family(args.method)
    for entry in args.grid:
        extra = [] if entry == "-" else entry.split(",")
        cfg = load_config(family, args.dataset, [*extra, f"seed={args.seed}"])
        data_kw = dict(cfg["data"])
        data = load_interactions(cfg["dataset"],
                                 val_fraction=data_kw.pop("val_fraction", 0.0),
                                 seed=data_kw.pop("split_seed", cfg["seed"]),
                                 **data_kw)
        model = build_method(cfg["method"], None, num_users=data.num_users,
                             num_items=data.num_items, **cfg["model"])
        ev = cfg["eval"]
        ks = tuple(ev.get("ks", (20, 40)))

        def validate(method, d, ks=ks):
            u, i = method.embed(d)
            res = ranking_split(u, i, d, "val", ks=ks)
            return {f"val_{k}": v for k, v in res.metrics.items()}

        ckpt = None
        if args.checkpoint_dir is not None:
            ckpt = (Path(args.checkpoint_dir) / family / cfg["dataset"]
                    / entry_tag(entry) / f"seed{args.seed}.pt")
            if ckpt.exists() and not args.resume:
                ckpt.unlink()
        t0 = time.perf_counter()
        h = fit(model, data, epochs=cfg["train"]["epochs"], lr=cfg["train"]["lr"],
                weight_decay=cfg["train"].get("weight_decay", 0.0), device="cpu",
                seed=cfg["seed"], progress=False, checkpoint=ckpt,
                resume=args.resume and ckpt is not None and ckpt.exists(),
                checkpoint_seconds=300.0 if args.resume else None,
                eval_fn=validate, eval_every=int(ev.get("every", 0)),
                monitor=ev.get("monitor", "val_recall@20"),
                patience=ev.get("patience"))
        wall = time.perf_counter() - t0
        curve = [(e["epoch"], 100 * e["val_recall@20"], 100 * e["val_ndcg@20"])
                 for e in h.evals]
        best = max(curve, key=lambda c: c[1])  # first of ties, as fit keeps
        print(f"{family} {entry} seed={args.seed}: best val recall@20 "
              f"{best[1]:.2f} (ndcg@20 {best[2]:.2f}) at epoch {best[0]}; "
              f"ran {h.epochs} of {cfg['train']['epochs']} epochs "
              f"(stopped: {h.stopped_epoch is not None}); {wall:.0f}s, "
              f"{h.seconds_per_epoch:.2f} s/epoch", flush=True)
        print("  recall@20 by epoch: " + ", ".join(
            f"{e}:{r:.2f}" for e, r, _ in curve), flush=True)


if __name__ == "__main__":
    main()
