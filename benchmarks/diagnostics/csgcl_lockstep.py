"""Diagnostic: gcl's CSGCL against the official HanChen-HUST/CSGCL code, in
lockstep, float64, on Cora.

What is compared:

1. **Community statistics.** One Leiden partition (gcl's ``detect``, seed
   ``--community-seed``) is handed to the official ``community_strength``
   (on ``to_networkx(data, to_undirected=True)``) and ``get_edge_weight``;
   their :math:`S_c`, :math:`S_i` and CED edge weights are compared with
   gcl's ``community_strength`` and ``ced_edge_weight``.
2. **Adaptive drop probabilities and views.** Every step the official
   ``ced`` and ``cav`` draw the four masks in the official order (CED 1, CED
   2, CAV 1, CAV 2) from float32 features and float32 node strengths, as in
   the official run; the probabilities they hand to ``torch.bernoulli`` are
   captured and compared with gcl's cached ``keep_prob_`` / ``drop_prob_``.
   From the same RNG state gcl's own augmentors then draw their views
   (``view_order = "stagewise"``) and the script checks that they are the
   official views.
3. **Training.** Both models start from the same weights and train with
   their own Adam on the official views (cast to float64): the official
   ``CSGCL.team_up_loss`` and gcl's ``CSGCL`` step (``gcl.fit``'s epoch
   hook ``set_epoch``). The steps are placed at epochs ``--start + 1 ..``
   of the schedule so that :math:`\\gamma(t) > 0` (Team-up active).

Patches the official code needs on torch 2.13 / PyG 2.8 (applied here at
import time, the checkout is not modified):

- ``cdlib`` is not installed (and not needed: the partition is given):
  ``src/functional.py`` imports ``cdlib.algorithms`` and
  ``cdlib.utils.convert_graph_formats``; a stub module provides them
  (``convert_graph_formats(g, nx.Graph)`` returns ``g``).
- ``src/__init__.py`` imports ``nni`` (through ``sp.py``) and the
  evaluators; the two files used, ``src/model.py`` and
  ``src/functional.py``, are loaded directly instead.
- ``GCNConv(...).jittable()`` (``src/model.py``) is deprecated in PyG 2.8;
  the result is the same module, so the call is skipped.
- float64: ``community_strength`` returns ``node_cs`` as float32, which
  ``team_up_loss`` adds to the similarities (float32 + float64 is float64,
  so no patch is needed); ``cav`` multiplies float32 features by float32
  strengths, so the views are drawn from the float32 features as in the
  official run and cast to float64 for training.

The official code is not part of this repository::

    mkdir -p /tmp/csgcl_official
    git -C <CSGCL git dir> archive HEAD | tar -x -C /tmp/csgcl_official
    python benchmarks/diagnostics/csgcl_lockstep.py --official /tmp/csgcl_official
"""

import sys
import types
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import to_networkx

from gcl.app.config import load_config
from gcl.augment import CommunalAttributeVoting, CommunalEdgeDrop
from gcl.augment.communal_edge_drop import ced_edge_weight
from gcl.community import community_strength, detect
from gcl.methods import build_method
from gcl.methods.two_view import _draw_views

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402


def load_official(root):
    """Imports the official ``src/functional.py`` and ``src/model.py``."""
    utils = common.stub_module("cdlib.utils", convert_graph_formats=lambda g, cls: g)
    common.stub_module("cdlib", algorithms=types.SimpleNamespace(), utils=utils)
    common.skip_jittable()  # deprecated; same module
    return tuple(common.load_patched(f"{root}/src/{name}.py",
                                     f"csgcl_official_{name}")
                 for name in ("functional", "model"))


def main():
    p = common.lockstep_parser(__doc__, "CSGCL checkout")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--start", type=int, default=150,
                   help="the steps are epochs start+1.. of the schedule")
    p.add_argument("--community-seed", type=int, default=0)
    args = p.parse_args()
    fun, mod = load_official(args.official)

    cfg = load_config("csgcl", "Cora")
    mc, tc = cfg["model"], cfg["train"]
    data32 = common.load_dense("Cora", cfg)
    data = data32.clone()
    data.x = data.x.double()
    print(f"CSGCL lockstep, Cora, float64: gcl config csgcl/Cora (CED "
          f"{mc['drop_edge']}, CAV {mc['drop_feature']}, tau {mc['tau']}, t0 "
          f"{mc['t0']}, gamma_max {mc['gamma_max']}, lr {tc['lr']}), degree in "
          f"(PyG 2.x GCNConv), steps = epochs {args.start + 1}.."
          f"{args.start + args.steps}, seed {args.seed}")

    # 1. community statistics on one partition
    membership = detect(data, seed=args.community_seed)
    communities = [np.flatnonzero(membership.numpy() == c).tolist()
                   for c in range(int(membership.max()) + 1)]
    g = to_networkx(data, to_undirected=True)
    com_cs, node_cs = fun.community_strength(g, communities)
    s_c, s_i = community_strength(data.edge_index, membership,
                                  dtype=torch.float64)
    w_off = fun.get_edge_weight(data.edge_index, membership.numpy(), com_cs)
    w_gcl = ced_edge_weight(data.edge_index, membership, s_c)
    print(f"partition: {len(communities)} Leiden communities (seed "
          f"{args.community_seed}); max |S_c difference| "
          f"{np.abs(com_cs - s_c.numpy()).max():.1e}, max |S_i difference| "
          f"(official float32) {np.abs(node_cs - s_i.float().numpy()).max():.1e}"
          f", max |CED weight difference| "
          f"{(w_off - w_gcl).abs().max().item():.1e}")

    # models with the same weights
    torch.manual_seed(args.seed)
    act = common.official_activation(mc["activation"])
    enc = mod.Encoder(data.num_features, mc["hidden_channels"], act,
                      base_model=GCNConv, k=2)
    official = mod.CSGCL(enc, mc["hidden_channels"], mc["proj_channels"],
                         mc["tau"]).double()
    ours = build_method("csgcl", data.num_features,
                        **{**mc, "degree": "in",
                           "community_seed": args.community_seed}).double()
    ours.prepare(data)
    assert torch.equal(ours.membership_, membership)
    common.copy_grace_weights(official, ours.encoder, ours.projector)
    opt_o, opt_g = common.adam_pair(official, ours, tc["lr"], tc["weight_decay"])
    augs = ours.augmentors
    keep_g = [a.augmentors[0].keep_prob_ for a in augs]
    drop_g = [a.augmentors[1].drop_prob_ for a in augs]
    assert all(isinstance(a.augmentors[0], CommunalEdgeDrop)
               and isinstance(a.augmentors[1], CommunalAttributeVoting)
               for a in augs)
    node_cs64 = node_cs.astype(np.float64)

    torch.manual_seed(args.seed + 1)
    pe, pf = mc["drop_edge"], mc["drop_feature"]
    print(" step  gamma   loss_official        loss_gcl      |dL|  "
          "max|dp|(CED,CAV)  same views  max|dW|")
    worst = common.Worst(dl=0.0, dp=0.0, dw=0.0, views=0)

    def official_draws():  # the official draws, official order
        with common.BernoulliCapture() as cap:
            ei1 = fun.ced(data.edge_index, w_off, p=pe[0], threshold=mc["ced_thr"])
            ei2 = fun.ced(data.edge_index, w_off, p=pe[1], threshold=mc["ced_thr"])
            x1 = fun.cav(data32.x, node_cs, pf[0], max_threshold=mc["cav_thr"])
            x2 = fun.cav(data32.x, node_cs, pf[1], max_threshold=mc["cav_thr"])
        return ei1, ei2, x1, x2, cap.probs

    for step in range(1, args.steps + 1):
        epoch = args.start + step
        # then gcl's own augmentors, same numbers
        (ei1, ei2, x1, x2, probs), (v1, v2), same_rng = common.from_same_rng(
            official_draws,
            lambda: _draw_views(augs[0], augs[1], data, stagewise=True))
        assert same_rng
        dp = max([common.max_abs_diff(a.double(), b.double())
                  for a, b in zip(probs[:2], keep_g)]
                 + [common.max_abs_diff(a.double(), b.double())
                    for a, b in zip(probs[2:], drop_g)])
        same = (torch.equal(v1.edge_index, ei1) and torch.equal(v2.edge_index, ei2)
                and torch.equal(v1.x, x1.double()) and torch.equal(v2.x, x2.double()))

        official.train()
        opt_o.zero_grad()
        z1 = official(x1.double(), ei1)
        z2 = official(x2.double(), ei2)
        loss_o = official.team_up_loss(z1, z2, cs=node_cs64, current_ep=epoch,
                                       t0=mc["t0"], gamma_max=mc["gamma_max"])
        loss_o.backward()
        opt_o.step()

        views = [Data(x=x1.double(), edge_index=ei1, num_nodes=data.num_nodes),
                 Data(x=x2.double(), edge_index=ei2, num_nodes=data.num_nodes)]
        with common.swapped_augmentors(ours, common.replay_views(views)):
            ours.train()
            ours.set_epoch(epoch)
            opt_g.zero_grad()
            loss_g = ours(data)
            loss_g.backward()
            opt_g.step()

        dw = common.max_weight_diff(official.encoder.conv, ours.encoder.convs)
        dl = abs(loss_o.item() - loss_g.item())
        worst.max(dl=dl, dp=dp, dw=dw)
        worst.count(views=same)
        print(f"{epoch:5d} {ours.gamma:6.2f} {loss_o.item():.13f} "
              f"{loss_g.item():.13f} {dl:9.1e} {dp:17.1e} {str(same):>11s} "
              f"{dw:8.1e}", flush=True)
    print(f"summary: max |loss difference| {worst['dl']:.1e}, max |drop "
          f"probability difference| {worst['dp']:.1e}, gcl's own views equal "
          f"the official ones in {worst['views']} of {args.steps} steps, max "
          f"|weight difference| after the last step {worst['dw']:.1e}")


if __name__ == "__main__":
    main()
