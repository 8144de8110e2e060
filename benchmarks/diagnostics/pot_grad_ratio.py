"""Diagnostic: how strongly POT's term pulls against InfoNCE at initialisation.

For each data set, builds the ``pot`` config (with ``--set`` overrides),
seeds it as :func:`gcl.fit` does, draws one step and prints the gradient
norms of the two weighted terms, :math:`(1 - \\kappa)\\mathcal{L}_{\\mathrm{NCE}}`
and :math:`\\kappa\\mathcal{L}_{\\mathrm{POT}}`, over the encoder's
parameters (the projection head only sees InfoNCE), their ratio and
cosine, and the fraction of layer-1 interval neurons that are unstable.

    python benchmarks/diagnostics/pot_grad_ratio.py Cora CiteSeer Photo
    python benchmarks/diagnostics/pot_grad_ratio.py Photo \
        --set model.drop_edge=[0.3,0.5] model.tau=0.2
"""

import argparse

import torch
from torch_geometric import seed_everything

from gcl.app.config import load_config
from gcl.datasets import load
from gcl.methods import build_method
from gcl.nn.bounds import gcn_bounds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("datasets", nargs="+")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--set", nargs="*", default=[], help="config overrides")
    args = p.parse_args()
    for name in args.datasets:
        cfg = load_config("pot", name, args.set)
        data = load(name, normalize=cfg["data"]["normalize"])
        m = cfg["model"]
        method = build_method(cfg["method"], data.num_features, **m)
        seed_everything(args.seed)
        method.reset_parameters()
        method.prepare(data)
        step = method.step(data)
        k = method.kappa
        params = list(method.encoder.parameters())
        g_nce = torch.autograd.grad((1 - k) * step.terms["base"], params,
                                    retain_graph=True)
        g_pot = torch.autograd.grad(k * step.terms["pot"], params)
        a = torch.cat([g.flatten() for g in g_nce])
        b = torch.cat([g.flatten() for g in g_pot])
        with torch.no_grad():
            gb = gcn_bounds(method.encoder, data.x, method.bounds(data)[0],
                            mode=method.mode)
            unst = ((gb.lower1 < 0) & (gb.upper1 > 0)).float().mean().item()
        deg = data.edge_index.size(1) / data.num_nodes
        print(f"{name} (mean degree {deg:.1f}, drop_edge {m['drop_edge']}, tau "
              f"{m['tau']}, kappa {k}): |grad (1-k) NCE| {a.norm():.3e}, "
              f"|grad k POT| {b.norm():.3e}, ratio POT/NCE "
              f"{(b.norm() / a.norm()):.2f}, cosine "
              f"{torch.nn.functional.cosine_similarity(a, b, dim=0):.3f}; "
              f"NCE {step.terms['base'].item():.4f}, POT "
              f"{step.terms['pot'].item():.4f}; unstable layer-1 neurons "
              f"{100 * unst:.1f}%", flush=True)


if __name__ == "__main__":
    main()
