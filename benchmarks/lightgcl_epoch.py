"""Seconds and memory of LightGCL training epochs on a recommendation set.

Builds LightGCL from its config (``gcl/configs/<config>/<dataset>.yaml``;
``--config lightgcn`` or ``simgcl`` times the baselines on the same harness,
whose ``svd_s`` is null: they have no SVD view), prepares it once and
reports separately: the normalised adjacency, the rank-q SVD
(``svd_lowrank``, the one-off cost), and the training batches of
one epoch (optimiser steps included). ``--batches N`` times only the first
N batches of the epoch and extrapolates to the whole epoch (batches of the
``interaction`` sampler all have the same size but the last). Peak memory
is the process's resident high-water mark (``VmHWM``) after each phase.
Wall and CPU (``process_time``) seconds are both given: on a shared machine
the wall time also measures the other processes.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/lightgcl_epoch.py \
        --dataset Gowalla --batches 8 --threads 1
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from gcl.app.config import load_config
from gcl.app.record import peak_memory_mb
from gcl.datasets import load_interactions
from gcl.methods import build_method


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="Gowalla")
    p.add_argument("--config", default="lightgcl",
                   help="config folder: lightgcl (code), lightgcl_paper, "
                        "lightgcn or simgcl")
    p.add_argument("--batches", type=int, default=0,
                   help="time this many batches (0: the whole epoch)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--override", nargs="*", default=[],
                   help="config overrides, e.g. model.cache_mb=0")
    p.add_argument("--json", default=None, help="also write the numbers here")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")

    cfg = load_config(args.config, args.dataset, args.override)
    t0 = time.perf_counter()
    data = load_interactions(args.dataset, val_fraction=cfg["data"]["val_fraction"],
                             seed=args.seed)
    load_s = time.perf_counter() - t0
    torch.manual_seed(args.seed)
    model = build_method(cfg["method"], None, num_users=data.num_users,
                         num_items=data.num_items, **cfg["model"])
    mem_data = peak_memory_mb(cpu)
    t0 = time.perf_counter()
    model.prepare(data)
    prepare_s = time.perf_counter() - t0
    svd = getattr(model, "svd", None)  # LightGCN and SimGCL have no SVD view
    svd_s = svd.svd_seconds_ if svd is not None else None
    mem_prepare = peak_memory_mb(cpu)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["train"]["lr"],
                           weight_decay=cfg["train"].get("weight_decay", 0.0))
    model.train()
    t0 = time.perf_counter()
    batches = model.epoch_batches(data)
    sample_s = time.perf_counter() - t0
    todo = batches[:args.batches] if args.batches else batches
    t0, c0 = time.perf_counter(), time.process_time()
    for b in todo:
        opt.zero_grad()
        loss = model(data, b)
        loss.backward()
        opt.step()
    train_s, train_cpu = time.perf_counter() - t0, time.process_time() - c0
    full = len(batches)
    out = {
        "dataset": repr(data), "config": args.config, "threads": args.threads,
        "cache_mb": getattr(model, "cache_mb", None), "batches_per_epoch": full,
        "batches_timed": len(todo), "load_s": round(load_s, 2),
        "adjacency_s": round(prepare_s - (svd_s or 0.0), 3),
        "svd_s": None if svd_s is None else round(svd_s, 3),
        "sample_s": round(sample_s, 3),
        "seconds_per_batch": round(train_s / len(todo), 3),
        "cpu_seconds_per_batch": round(train_cpu / len(todo), 3),
        "epoch_s": round(sample_s + train_s * full / len(todo), 1),
        "epoch_cpu_s": round(sample_s + train_cpu * full / len(todo), 1),
        "extrapolated": len(todo) < full, "last_loss": float(loss.detach()),
        "peak_mb_after_load": round(mem_data), "peak_mb_after_svd": round(mem_prepare),
        "peak_mb": round(peak_memory_mb(cpu)),
        "torch": torch.__version__,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
