"""Diagnostic: how GRACE's embeddings develop during training.

Prints the linear-probe accuracy (GCA protocol, 2 splits), the mean
per-dimension standard deviation of the embeddings and the effective rank of
the l2-normalised, centred embeddings, before training and at four points of
a run of the config. The probe scores test nodes: this is for diagnosis only,
nothing is selected on it.

    python benchmarks/diagnostics/grace_probe_trajectory.py Computers 100
"""

import argparse

import torch
import torch.nn.functional as F

import gcl
from gcl.app.config import load_config
from gcl.datasets import load
from gcl.eval import node_classification
from gcl.methods import build_method


def snapshot(method, data) -> dict:
    z = method.embed(data)
    acc = node_classification(z, data.y, protocol="linear_probe", runs=2,
                              seed=0).metrics["accuracy"]
    zn = F.normalize(z, dim=1)
    sv = torch.linalg.svdvals(zn - zn.mean(0))
    eff_rank = (sv.sum() ** 2 / (sv ** 2).sum()).item()
    return {"acc": acc, "zstd": z.std(0).mean().item(), "eff_rank": eff_rank}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset")
    p.add_argument("epochs", type=int)
    p.add_argument("--set", nargs="*", default=[], help="config overrides")
    args = p.parse_args()
    cfg = load_config("grace", args.dataset, args.set)
    data = load(args.dataset, normalize=cfg["data"]["normalize"],
                sparse_features=cfg["data"].get("sparse_features", False))
    print(cfg["model"], cfg["train"], flush=True)
    method = build_method(cfg["method"], data.num_features, **cfg["model"])
    x = data.x.to_dense() if data.x.is_sparse else data.x
    raw = node_classification(x, data.y, protocol="linear_probe", runs=2, seed=0)
    print("raw x:", raw.metrics["accuracy"], flush=True)
    torch.manual_seed(0)
    method.reset_parameters()
    print("init:", snapshot(method, data), flush=True)
    history = gcl.fit(method, data, epochs=args.epochs, lr=cfg["train"]["lr"],
                      weight_decay=cfg["train"]["weight_decay"], seed=0,
                      eval_fn=snapshot, eval_every=max(1, args.epochs // 4),
                      progress=False, device="cpu")
    for row in history.evals:
        print(row, flush=True)
    print("loss", [round(x, 3) for x in history.loss[::max(1, args.epochs // 10)]],
          "s/ep", sum(history.seconds) / len(history.seconds))


if __name__ == "__main__":
    main()
