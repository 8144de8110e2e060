"""Diagnostic: SimGCL's validation curve on LastFM under other settings.

Trains gcl's SimGCL from its LastFM config with ``key=value`` overrides
(one run per ``--grid`` entry, e.g. ``model.cl_rate=0.1``), on the
validation split ``gcl bench`` carves (10 % of each user's training
interactions, drawn with the seed), and prints the validation Recall@20 and
NDCG@20 every ``--every`` epochs. The test split is never scored: this is
for choosing a setting. Early stopping is off, so the whole curve shows::

    python benchmarks/diagnostics/simgcl_val_sweep.py --epochs 60 \\
        --grid model.cl_rate=0.5 model.cl_rate=0.1

A grid entry may hold several overrides separated by commas
(``model.cl_rate=0.1,train.lr=0.005``).
"""

import argparse
import time

import torch

from gcl import fit
from gcl.app.config import load_config
from gcl.datasets import load_interactions
from gcl.eval import ranking_split
from gcl.methods import build_method


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="LastFM")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--every", type=int, default=5)
    p.add_argument("--grid", nargs="+", default=["model.cl_rate=0.5"])
    args = p.parse_args()
    torch.set_num_threads(1)
    for entry in args.grid:
        cfg = load_config("simgcl", args.dataset,
                          [*entry.split(","), f"seed={args.seed}"])
        data = load_interactions(cfg["dataset"],
                                 val_fraction=cfg["data"]["val_fraction"],
                                 seed=cfg["seed"])
        model = build_method("simgcl", None, num_users=data.num_users,
                             num_items=data.num_items, **cfg["model"])

        def validate(method, d):
            u, i = method.embed(d)
            res = ranking_split(u, i, d, "val", ks=(20,))
            return {f"val_{k}": v for k, v in res.metrics.items()}

        t0 = time.perf_counter()
        history = fit(model, data, epochs=args.epochs, lr=cfg["train"]["lr"],
                      weight_decay=cfg["train"].get("weight_decay", 0.0),
                      seed=cfg["seed"], progress=False, eval_fn=validate,
                      eval_every=args.every)
        curve = [(e["epoch"], 100 * e["val_recall@20"], 100 * e["val_ndcg@20"])
                 for e in history.evals]
        best = max(curve, key=lambda c: c[1])
        print(f"{entry} seed={args.seed}: best val recall@20 {best[1]:.2f} "
              f"(ndcg@20 {best[2]:.2f}) at epoch {best[0]}; "
              f"{time.perf_counter() - t0:.0f}s", flush=True)
        print("  recall@20 by epoch: " + ", ".join(
            f"{e}:{r:.2f}" for e, r, _ in curve), flush=True)
        print("  loss by epoch: " + ", ".join(
            f"{i + 1}:{x:.3f}" for i, x in enumerate(history.loss)
            if (i + 1) % args.every == 0 or i == 0), flush=True)


if __name__ == "__main__":
    main()
