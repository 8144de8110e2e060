"""Where gcl's training step spends its time: a phase split and the top ops.

For each method the config ``gcl/configs/<method>/<dataset>.yaml`` is built
and prepared as in ``speed_methods.py``; then, per step (median over
``--epochs`` after one warm-up, process CPU time): the views and the encoder
(``encode_views``), the objective's forward, the backward pass and Adam;
and ``torch.profiler``'s operators by self CPU time over the timed steps.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/speed_profile.py
        [--dataset Photo] [--methods csgcl gcool pot gca] [--epochs 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from gcl.losses import pot_loss

sys.path.insert(0, str(Path(__file__).parent))
from speed_methods import phases  # noqa: E402


def profile_method(name: str, dataset: str, epochs: int, top: int) -> None:
    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.methods import build_method

    cfg = load_config(name, dataset)
    data = load(dataset, **cfg["data"])
    torch.manual_seed(cfg["seed"])
    method = build_method(cfg["method"], data.num_features, **cfg["model"])
    opt = torch.optim.Adam(method.parameters(), lr=cfg["train"]["lr"])
    method.prepare(data)
    two_view = getattr(method, "base", method)
    for label, first in phases(name, cfg):
        parts = {"views + encoder": [], "objective": [], "backward": [],
                 "adam": []}
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for epoch in range(first, first + 1 + epochs):
                method.set_epoch(epoch)
                opt.zero_grad()
                c0 = time.process_time()
                if method is two_view:
                    views, zs = method.encode_views(data)
                    c1 = time.process_time()
                    out = method.objective(*zs, views)
                    loss = out["loss"] if isinstance(out, dict) else out
                else:  # POT: its step runs the base's; split the POT term
                    views, zs = two_view.encode_views(data)
                    c1 = time.process_time()
                    base = two_view.objective(*zs, views)
                    reg = pot_loss(method.scores(data, views, zs))
                    loss = (1 - method.kappa) * base + method.kappa * reg
                c2 = time.process_time()
                loss.backward()
                c3 = time.process_time()
                opt.step()
                c4 = time.process_time()
                if epoch > first:
                    for key, t in zip(parts, (c1 - c0, c2 - c1, c3 - c2,
                                              c4 - c3)):
                        parts[key].append(t)
        split = ", ".join(f"{k} {statistics.median(v):.3f}"
                          for k, v in parts.items())
        print(f"\n## {name} on {dataset} {label} (epoch {first}): CPU s/step: "
              f"{split}")
        print(prof.key_averages().table(sort_by="self_cpu_time_total",
                                        row_limit=top))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", default="Photo")
    p.add_argument("--methods", nargs="+",
                   default=["csgcl", "gcool", "pot", "gca"])
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    for name in args.methods:
        profile_method(name, args.dataset, args.epochs, args.top)


if __name__ == "__main__":
    main()
