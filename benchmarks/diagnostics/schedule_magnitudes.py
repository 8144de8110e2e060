"""Diagnostic: how large CSGCL's Team-up bias and gCooL's community weights
get with the shipped configs, without training.

Both depend only on the schedule and on graph statistics fixed before
training, so they are computed here from the configs and the data:

- **CSGCL.** Team-up adds :math:`\\gamma(t)(S_i + S_j)` to every cosine
  similarity (before the division by :math:`\\tau`), with
  :math:`\\gamma(t) = \\min(\\max(0, (t - t_0)/100), \\gamma_{\\max})` and
  :math:`S_i` the strength of node :math:`i`'s Leiden community. For each
  epoch the bias over all pairs :math:`(i, j)` has maximum
  :math:`2\\gamma(t)\\max_i S_i` and mean :math:`2\\gamma(t)\\bar S`; the
  script reports the largest of these over the epochs with
  :math:`\\gamma > 0` (the last one), their mean over those epochs, how many
  epochs have :math:`\\gamma > 0`, and, since the anchor's :math:`\\gamma S_i`
  cancels, the largest effective logit shift of a sample,
  :math:`\\gamma \\max_j S_j / \\tau`. The partition is the one gcl's CSGCL
  computes for run seeds 0, 1, 2 (``community_seed`` null: the run seed).
- **gCooL.** With :math:`t` = epoch - 1, :math:`\\alpha(t) = \\max(0, 1 -
  t/(\\text{alpha\\_rate}\\cdot\\text{stride}))` and :math:`c(t) =
  e^{-t/\\text{stride}}`, DeCA is weighted :math:`\\alpha c` and ReSC (the
  node-community contrast) :math:`\\alpha(1 - c)`; the node InfoNCE always
  has weight 1. The script reports each weight's maximum and the step where
  it is reached, the last step with :math:`\\alpha > 0` and the share of the
  run it covers.

Run from the repository root (``GCL_DATA`` set)::

    python benchmarks/diagnostics/schedule_magnitudes.py
"""

import argparse

import torch

from gcl.app.config import load_config
from gcl.community import community_strength, detect
from gcl.datasets import load
from gcl.losses import team_up_gamma
from gcl.methods.gcool import gcool_schedule


def csgcl_row(name: str, seeds) -> str:
    cfg = load_config("csgcl", name)
    mc, epochs = cfg["model"], cfg["train"]["epochs"]
    data = load(name, **cfg["data"])
    gammas = [team_up_gamma(e, mc["t0"], mc["gamma_max"])
              for e in range(1, epochs + 1)]
    active = [g for g in gammas if g > 0]
    out = []
    for seed in seeds:
        membership = detect(data, mc.get("community", "leiden"), seed=seed)
        _, s_i = community_strength(data.edge_index, membership,
                                    data.num_nodes, dtype=torch.float64)
        smax, smean = float(s_i.max()), float(s_i.mean())
        top = [2 * g * smax for g in active]
        mean = [2 * g * smean for g in active]
        out.append(
            f"| {name} | {seed} | {int(membership.max()) + 1} | {smax:.4f} | "
            f"{smean:.4f} | {mc['t0']} | {mc['gamma_max']:g} | {len(active)} "
            f"of {epochs} | {max(top, default=0):.3f} | "
            f"{sum(top) / max(len(top), 1):.3f} | "
            f"{max(mean, default=0):.3f} | {sum(mean) / max(len(mean), 1):.3f} | "
            f"{max(active, default=0) * smax / mc['tau']:.3f} |")
    return "\n".join(out)


def gcool_row(name: str) -> str:
    cfg = load_config("gcool", name)
    mc, epochs = cfg["model"], cfg["train"]["epochs"]
    stride, rate = mc["stride"], mc["alpha_rate"]
    deca, resc = [], []
    for t in range(epochs):
        alpha, c = gcool_schedule(t, stride, rate)
        deca.append(alpha * c)
        resc.append(alpha * (1 - c))
    last = max((t for t in range(epochs) if deca[t] > 0), default=-1)
    t_resc = max(range(epochs), key=lambda t: resc[t])
    return (f"| {name} | {epochs} | {stride:g} | {rate:g} | {max(deca):.3f} "
            f"(t=0) | {resc[t_resc]:.4f} (t={t_resc}) | {last} | "
            f"{100 * (last + 1) / epochs:.1f}% |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--csgcl", nargs="+",
                   default=["Cora", "CiteSeer", "Photo", "Computers", "CS"])
    p.add_argument("--gcool", nargs="+",
                   default=["Cora", "CiteSeer", "Photo", "Computers", "CS",
                            "WikiCS"])
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = p.parse_args()
    print("CSGCL Team-up bias gamma(t) (S_i + S_j) over the epochs with "
          "gamma > 0 (pairs: max = 2 gamma max S, mean = 2 gamma mean S; "
          "'shift' = gamma_max max S / tau, the largest effective logit shift "
          "of a sample)\n")
    print("| dataset | seed | K | max S | mean S | t0 | gamma_max | epochs "
          "with gamma > 0 | max-pair bias: max | its mean over epochs | "
          "mean-pair bias: max | its mean | shift |")
    print("|" + "---|" * 13)
    for name in args.csgcl:
        print(csgcl_row(name, args.seeds), flush=True)
    print("\ngCooL community weights (t = epoch - 1; DeCA alpha c, ReSC "
          "alpha (1 - c), node InfoNCE 1)\n")
    print("| dataset | epochs | stride | alpha_rate | DeCA weight max | "
          "ReSC weight max | last t with alpha > 0 | share of the run |")
    print("|" + "---|" * 8)
    for name in args.gcool:
        print(gcool_row(name))


if __name__ == "__main__":
    main()
