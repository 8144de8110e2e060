"""Diagnostic: how GRACE+POT and its base (kappa = 0) train, side by side.

Trains the ``pot`` config (or ``pot_base``, or any ``--set`` variant) with
the same loop as :func:`gcl.fit` (seeded, Adam, one step per epoch) and
prints, every ``--every`` epochs:

- ``nce``, ``pot``: the InfoNCE and POT terms of that step (for a base run,
  ``pot`` is computed on the side, without gradient, on the step's own
  views: what the regulariser would be); the score statistics below are of
  the same step, before its update, the model statistics after it;
- ``neg``: the fraction of nodes with a negative POT score, ``above``: the
  fraction whose score exceeds the node's actual principle value
  :math:`f_i = w_i^\\top z_i` in the sampled view (the official score is
  evaluated at the view and is not a certified bound);
- ``unst1``, ``unst2``: the fraction of unstable neurons (:math:`l < 0 <
  u`) in the layer-1 / layer-2 intervals of view 1's bounds;
- ``dead1``, ``dead2``: the fraction of hidden / output units never active
  on the clean graph; ``|z|``: mean embedding norm; ``erank``: effective
  rank of the row-normalised, centred clean embeddings;
- ``probe``: POT's evaluator (one random 10/10/80 split, seed 0, fewer
  probe epochs than the published 3000: a trend, not a result).

The side computations save and restore torch's RNG state, so the training
run draws exactly the random numbers it would draw without them.

    python benchmarks/diagnostics/pot_dynamics.py pot Photo --epochs 100
    python benchmarks/diagnostics/pot_dynamics.py pot_base Photo --epochs 100
"""

import argparse
import time

import torch
import torch.nn.functional as F
from torch_geometric import seed_everything

from gcl.app.config import load_config
from gcl.datasets import load
from gcl.eval import pot_protocol
from gcl.losses import pot_loss, principle_direction
from gcl.methods import build_method
from gcl.nn.bounds import gcn_bounds


@torch.no_grad()
def score_stats(method, data, step) -> dict:
    """POT-score statistics of the step (weights before its update)."""
    z1, z2 = step.zs
    s = method.scores(data, step.views, step.zs)
    f = [(principle_direction(z2) * z1).sum(1),
         (principle_direction(z1) * z2).sum(1)]
    out = {"pot_side": pot_loss(s).item(),
           "neg": sum((si < 0).float().mean().item() for si in s) / 2,
           "above": sum((si > fi).float().mean().item()
                        for si, fi in zip(s, f)) / 2}
    gb = gcn_bounds(method.encoder, data.x, method.bounds(data)[0],
                    mode=method.mode)
    out["unst1"] = ((gb.lower1 < 0) & (gb.upper1 > 0)).float().mean().item()
    out["unst2"] = ((gb.lower2 < 0) & (gb.upper2 > 0)).float().mean().item()
    return out


@torch.no_grad()
def model_stats(method, data, probe_epochs: int) -> dict:
    """Embedding statistics and a probe of the current weights; draws no
    random numbers that the training run would see.
    """
    rng = torch.get_rng_state()
    out = {}
    enc = method.encoder
    h = enc.activation(enc.convs[0](data.x, data.edge_index))
    z = enc.activation(enc.convs[1](h, data.edge_index))
    out["dead1"] = ((h > 0).sum(0) == 0).float().mean().item()
    out["dead2"] = ((z > 0).sum(0) == 0).float().mean().item()
    out["znorm"] = z.norm(dim=1).mean().item()
    zn = F.normalize(z, dim=1)
    sv = torch.linalg.svdvals(zn - zn.mean(0))
    out["erank"] = (sv.sum() ** 2 / (sv ** 2).sum()).item()
    res = pot_protocol(z, data.y, data=data, seed=0, epochs=probe_epochs)
    out["probe"] = 100 * res.metrics["micro_f1"]
    out["probe_ma"] = 100 * res.metrics["macro_f1"]
    torch.set_rng_state(rng)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("config", help="pot or pot_base")
    p.add_argument("dataset")
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--every", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--probe-epochs", type=int, default=1000)
    p.add_argument("--set", nargs="*", default=[], help="config overrides")
    args = p.parse_args()
    cfg = load_config(args.config, args.dataset, args.set)
    data = load(args.dataset, normalize=cfg["data"]["normalize"])
    m = cfg["model"]
    print(f"{args.config} {args.dataset} seed {args.seed}: kappa {m['kappa']}, "
          f"drop_edge {m['drop_edge']}, tau {m['tau']}, lr {cfg['train']['lr']}",
          flush=True)
    method = build_method(cfg["method"], data.num_features, **m)
    seed_everything(args.seed)  # as gcl.fit(seed=...)
    method.reset_parameters()
    method.prepare(data)
    method.bounds(data)  # also for kappa = 0 (side statistics)
    opt = torch.optim.Adam(method.parameters(), lr=cfg["train"]["lr"],
                           weight_decay=cfg["train"]["weight_decay"])
    t0 = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        method.train()
        method.set_epoch(epoch - 1)
        opt.zero_grad()
        step = method.step(data)
        step.loss.backward()
        due = epoch == 1 or epoch % args.every == 0 or epoch == args.epochs
        if due:
            nce = step.terms.get("base", step.loss).item()
            st = score_stats(method, data, step)
        opt.step()
        if due:
            st.update(model_stats(method, data, args.probe_epochs))
            print(f"epoch {epoch:4d}: loss {step.loss.item():.4f} nce {nce:.4f} "
                  f"pot {st['pot_side']:.4f} neg {st['neg']:.3f} above "
                  f"{st['above']:.3f} unst1 {st['unst1']:.3f} unst2 "
                  f"{st['unst2']:.3f} dead1 {st['dead1']:.3f} dead2 "
                  f"{st['dead2']:.3f} |z| {st['znorm']:.3g} erank "
                  f"{st['erank']:.1f} probe {st['probe']:.2f}/{st['probe_ma']:.2f}"
                  f" ({time.perf_counter() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
