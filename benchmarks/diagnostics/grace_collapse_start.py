"""Where GRACE's training starts on a config, and when it leaves that point.

GRACE's InfoNCE has a fixed point where every projected node is the same
vector: each logit is then ``1 / tau``, the loss is exactly
``log(2N - 1)`` and its gradient is zero. The records of GRACE on Photo
(lr 0.1, GCA's ``param/amazon_photo.json``) include a GPU run that ended
there (final loss 9.6355 = log(15,299)) and runs of one seed that ended
7 points apart (``benchmarks/notes/grace.md``). This script shows where a
run starts and how it leaves:

* **at initialisation**, the loss against ``log(2N - 1)``, the spread of
  the normalised projections (``||Z - mean|| / ||Z||``, 0 when collapsed)
  and, in the projection head's first layer, the size of the weight term
  ``W h_i`` against the bias (the same for every node): with row-normalised
  bag-of-words features the encoder's outputs are tiny, the bias dominates
  and every node projects to nearly the same point;
* **every epoch** of ``gcl.fit`` with the config and seed exactly as ``gcl
  bench`` trains it (the diagnostics use no labels and no random numbers,
  so the run is the bench run): the loss, the spread, and the fraction of
  each encoder layer's units that are zero for every node (dead ReLUs).

Usage (CPU, one thread, deterministic)::

    PYTHONPATH=. OMP_NUM_THREADS=1 python \
        benchmarks/diagnostics/grace_collapse_start.py --dataset Photo \
        --seed 0 --epochs 150 > benchmarks/diagnostics/grace_collapse_start_Photo.log
"""

from __future__ import annotations

import argparse
import math
import time

import torch
import torch.nn.functional as F

import gcl
from gcl.app.config import load_config
from gcl.datasets import load
from gcl.methods import build_method


def spread(z: torch.Tensor) -> float:
    """``||Z - mean|| / ||Z||`` of the row-normalised ``z``."""
    z = F.normalize(z, dim=1)
    return float((z - z.mean(0)).norm() / z.norm())


@torch.no_grad()
def layers(method, data) -> tuple[list[torch.Tensor], torch.Tensor]:
    """The encoder's layer outputs and the projections, clean graph."""
    was = method.training
    method.eval()
    enc, convs = method.encoder, []
    hooks = [c.register_forward_hook(lambda _m, _i, out: convs.append(out))
             for c in enc.convs]
    try:
        h = enc(data.x, data.edge_index)
    finally:
        for hook in hooks:
            hook.remove()
    z = method.projector(h)
    method.train(was)
    return [enc.activation(c) for c in convs], z


def dead(h: torch.Tensor) -> float:
    """Fraction of units that are zero for every node."""
    return float(((h > 0).sum(0) == 0).float().mean())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--method", default="grace")
    p.add_argument("--dataset", default="Photo")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=150,
                   help="epochs of gcl.fit; 0 for the initial state only")
    args = p.parse_args()

    cfg = load_config(args.method, args.dataset)
    data = load(args.dataset, **cfg["data"])
    n = data.num_nodes
    method = build_method(cfg["method"], data.num_features, **cfg["model"])
    torch.manual_seed(args.seed)
    method.reset_parameters()
    outs, z = layers(method, data)
    fc1 = next(m for m in method.projector.modules()
               if isinstance(m, torch.nn.Linear))
    with torch.no_grad():
        weight_term = outs[-1] @ fc1.weight.t()
    print(f"{args.method} {args.dataset}, config {cfg['train']} "
          f"{ {k: cfg['model'][k] for k in ('activation', 'tau')} }, "
          f"seed {args.seed}, N = {n}; log(2N - 1) = {math.log(2 * n - 1):.4f}")
    print(f"init (seed {args.seed}, before gcl.fit reseeds): encoder output "
          f"mean |h| {float(outs[-1].abs().mean()):.2e}; projection layer 1: "
          f"mean |W h_i| {float(weight_term.abs().mean()):.2e} against mean "
          f"|bias| {float(fc1.bias.detach().abs().mean()):.2e}; spread of the "
          f"projections {spread(z):.4f}; dead units "
          f"{', '.join(f'{dead(h):.2f}' for h in outs)}")

    if args.epochs == 0:
        return
    t0 = time.time()

    def diagnose(m, d):
        outs, z = layers(m, d)
        return {"spread": spread(z), **{f"dead_l{k + 1}": dead(h)
                                        for k, h in enumerate(outs)}}

    hist = gcl.fit(method, data, epochs=args.epochs, lr=cfg["train"]["lr"],
                   weight_decay=cfg["train"].get("weight_decay", 0.0),
                   seed=args.seed, device="cpu", eval_fn=diagnose,
                   eval_every=1, progress=False)
    first_below = None
    for loss, ev in zip(hist.loss, hist.evals):
        e = ev["epoch"]
        dl = " ".join(f"{ev[k]:.2f}" for k in sorted(ev) if k.startswith("dead"))
        print(f"epoch {e:4d} loss {loss:.4f} spread {ev['spread']:.4f} "
              f"dead {dl}")
        if first_below is None and loss < math.log(2 * n - 1) - 0.01:
            first_below = e
    print(f"first epoch with loss below log(2N - 1) - 0.01: {first_below} "
          f"(epoch 1's loss is computed at the initial weights); "
          f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
