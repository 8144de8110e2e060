"""Diagnostic: gcl's GRACE against the official CRIPAC-DIG/GRACE model, in
lockstep.

Both models start from the same weights and, every epoch, train on the same
two views, drawn with the official code's own ``dropout_adj`` and
``drop_feature`` in the official order. Any difference that remains is in
the model, the loss, its gradient or the optimiser, not in the random
streams. Prints the largest loss difference over the run, the largest
relative difference of the final clean-graph embeddings, and the ``grace``
protocol accuracy of both final embeddings (same evaluation seed). In
float64 the two runs agree up to rounding; in float32 rounding differences
grow over the epochs, which shows how much a run moves from rounding alone.

The official code is not part of this repository: pass the folder holding
its ``model.py`` (a checkout of https://github.com/CRIPAC-DIG/GRACE)::

    python benchmarks/diagnostics/grace_lockstep.py --official /tmp/grace_off
    python benchmarks/diagnostics/grace_lockstep.py --official /tmp/grace_off \
        --dtype float64

Under PyG 2.x the official ``GCNConv`` normalises directed views by
in-degree, so gcl runs with ``degree="in"`` here (see
``benchmarks/notes/grace.md`` for ``degree="out"``, PyG 1.x's behaviour).
"""

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_geometric.data import Data

from gcl.datasets import load
from gcl.eval import node_classification
from gcl.methods import GRACE

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

# Official Cora configuration (CRIPAC-DIG/GRACE config.yaml).
CORA = dict(lr=5e-4, hidden=128, proj=128, drop_edge=(0.2, 0.4),
            drop_feature=(0.3, 0.4), tau=0.4, weight_decay=1e-5)


def main():
    p = common.lockstep_parser(
        __doc__, "folder with the official model.py", dtype="float32",
        dtype_help="float64 shows the two agree up to rounding; float32 shows "
                   "how far rounding alone moves a run")
    p.add_argument("--epochs", type=int, default=200)
    args = p.parse_args()
    dtype = getattr(torch, args.dtype)
    sys.path.insert(0, args.official)
    from model import Encoder, Model, drop_feature  # the official code
    from torch_geometric.nn import GCNConv
    from torch_geometric.utils import dropout_adj  # as the official train.py

    c = CORA
    data = load("Cora")
    data.x = data.x.to(dtype)
    torch.manual_seed(args.seed)
    official = Model(Encoder(data.num_features, c["hidden"], F.relu, GCNConv, 2),
                     c["hidden"], c["proj"], c["tau"])
    ours = GRACE.from_config(data.num_features, hidden_channels=c["hidden"],
                             proj_channels=c["proj"], degree="in",
                             drop_edge=c["drop_edge"],
                             drop_feature=c["drop_feature"], tau=c["tau"])
    official, ours = official.to(dtype), ours.to(dtype)
    common.copy_grace_weights(official, ours.encoder, ours.projector)
    opt_o, opt_g = common.adam_pair(official, ours, c["lr"], c["weight_decay"])

    worst, t_o, t_g = common.Worst(dloss=0.0), 0.0, 0.0
    for epoch in range(1, args.epochs + 1):
        # the official draws, in the official order (train.py's train())
        ei1 = dropout_adj(data.edge_index, p=c["drop_edge"][0])[0]
        ei2 = dropout_adj(data.edge_index, p=c["drop_edge"][1])[0]
        x1 = drop_feature(data.x, c["drop_feature"][0])
        x2 = drop_feature(data.x, c["drop_feature"][1])

        t = time.perf_counter()
        official.train()
        opt_o.zero_grad()
        loss_o = official.loss(official(x1, ei1), official(x2, ei2))
        loss_o.backward()
        opt_o.step()
        t_o += time.perf_counter() - t

        t = time.perf_counter()
        ours.augmentors = common.replay_views([Data(x=x1, edge_index=ei1),
                                               Data(x=x2, edge_index=ei2)])
        ours.train()
        opt_g.zero_grad()
        loss_g = ours(data)
        loss_g.backward()
        opt_g.step()
        t_g += time.perf_counter() - t

        worst.max(dloss=abs(loss_o.item() - loss_g.item()))
        if epoch in (1, 10, 50, 100, 150, 200) or epoch == args.epochs:
            print(f"epoch {epoch:3d}: official loss {loss_o.item():.6f}, "
                  f"gcl loss {loss_g.item():.6f}", flush=True)

    official.eval()
    with torch.no_grad():
        z_o = official(data.x, data.edge_index)
    z_g = ours.embed(data)
    rel = ((z_o - z_g).abs().max() / z_o.abs().max()).item()
    acc = {name: node_classification(z, data.y, protocol="grace",
                                     seed=args.seed).metrics["accuracy"]
           for name, z in (("official", z_o), ("gcl", z_g))}
    print(f"{args.dtype}, seed {args.seed}, {args.epochs} epochs: max |loss "
          f"difference| {worst['dloss']:.2e}; final embeddings max relative difference "
          f"{rel:.2e}; grace-protocol accuracy official "
          f"{100 * acc['official']:.2f}, gcl {100 * acc['gcl']:.2f}; "
          f"step time official {t_o / args.epochs:.3f} s, gcl "
          f"{t_g / args.epochs:.3f} s")


if __name__ == "__main__":
    main()
