"""Seconds per training epoch of a recommender: an older gcl against the
working tree, alternating epochs in one process.

The older tree is taken from git (``git archive <rev> gcl``) into a
temporary folder and imported as the package ``gcl_before`` (its imports
rewritten), so both versions run side by side on the same data, from the
same initial weights, each with its own Adam; the epochs alternate (ABBA)
so that load on a shared machine hits both alike. Wall and CPU
(``process_time``) seconds per epoch, medians; the batch losses of the two
versions are printed so that a change of the math shows.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/diagnostics/rec_epoch_ab.py \
        lightgcl LastFM --before 89fe63c --epochs 4
"""

from __future__ import annotations

import argparse
import importlib
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

import torch


def import_before(rev: str, dest: Path):
    """``gcl`` at ``rev`` as the package ``gcl_before`` under ``dest``."""
    tar = subprocess.run(["git", "archive", rev, "gcl"], check=True,
                         capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(tar)) as tf:
        tf.extractall(dest, filter="data")
    (dest / "gcl").rename(dest / "gcl_before")
    for py in (dest / "gcl_before").rglob("*.py"):
        text = py.read_text()
        text = re.sub(r"(from|import) gcl\b", r"\1 gcl_before", text)
        text = re.sub(r"\bgcl\.([a-z_])", r"gcl_before.\1", text)
        text = text.replace('f"gcl.{name}"', 'f"gcl_before.{name}"')
        py.write_text(text)
    sys.path.insert(0, str(dest))
    return importlib.import_module("gcl_before")


def build(pkg, name: str, dataset: str, overrides: list[str]):
    cfg = importlib.import_module(f"{pkg.__name__}.app.config").load_config(
        name, dataset, overrides)
    data = pkg.datasets.load_interactions(
        dataset, val_fraction=cfg["data"]["val_fraction"], seed=0)
    torch.manual_seed(0)
    model = pkg.methods.build_method(cfg["method"], None, num_users=data.num_users,
                                     num_items=data.num_items, **cfg["model"])
    model.prepare(data)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg["train"]["lr"],
                           weight_decay=cfg["train"].get("weight_decay", 0.0))
    return model, data, opt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("config", help="config folder, e.g. lightgcl, lightgcl_paper")
    p.add_argument("dataset")
    p.add_argument("--before", required=True, help="git revision to compare with")
    p.add_argument("--epochs", type=int, default=4, help="epochs per version")
    p.add_argument("--override", nargs="*", default=[])
    args = p.parse_args()
    torch.set_num_threads(1)
    import gcl

    with tempfile.TemporaryDirectory() as tmp:
        before = import_before(args.before, Path(tmp))
        runs = {"before": build(before, args.config, args.dataset, args.override),
                "after": build(gcl, args.config, args.dataset, args.override)}
        runs["after"][0].load_state_dict(runs["before"][0].state_dict())
        wall = {k: [] for k in runs}
        cpu = {k: [] for k in runs}
        for r in range(args.epochs):
            for k in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                model, data, opt = runs[k]
                torch.manual_seed(r)
                t, c, losses = time.perf_counter(), time.process_time(), []
                for batch in model.epoch_batches(data):
                    opt.zero_grad()
                    loss = model(data, batch)
                    loss.backward()
                    opt.step()
                    losses.append(float(loss.detach()))
                wall[k].append(time.perf_counter() - t)
                cpu[k].append(time.process_time() - c)
                print(f"{k} epoch {r}: {wall[k][-1]:.2f} s, cpu {cpu[k][-1]:.2f} s, "
                      f"mean loss {statistics.fmean(losses):.6f}", flush=True)
    for k in runs:
        print(f"{args.config} {args.dataset} {k}: median "
              f"{statistics.median(wall[k]):.2f} s/epoch wall, "
              f"{statistics.median(cpu[k]):.2f} s/epoch cpu")


if __name__ == "__main__":
    main()
