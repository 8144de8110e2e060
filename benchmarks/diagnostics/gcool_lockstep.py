"""Diagnostic: gcl's gCooL against the official lblaoke/gCooL code, in
lockstep, float64, on Cora.

What is compared:

1. **The empty feature column.** On Cora as loaded (column 444 is all
   zero) the official ``feature_drop_weights`` returns NaN for every column
   and ``drop_feature_weighted_2`` then drops every column with probability
   0.7; the script prints this and gcl's probabilities. The lockstep itself
   runs on Cora without that column, where both are defined.
2. **Adaptive drop probabilities and views** (GCA ``degree`` scheme, as the
   official Computers and CS configs). Every step the official
   ``drop_edge_weighted`` and ``drop_feature_weighted_2`` draw the four
   masks in the official order (edges 1, edges 2, features 1, features 2)
   from the official float32 weights; the probabilities handed to
   ``torch.bernoulli`` are captured and compared with gcl's cached ones,
   and gcl's own augmentors draw their views from the same RNG state
   (``view_order = "stagewise"``), which must be the official views.
3. **Training.** Same initial weights (encoder, projection, community
   centres); each model has its own Adam; both train on the official views
   (cast to float64): the official ``gCooL.fit(epoch, ...)`` and gcl's step
   with ``set_epoch(t + 1)`` (gcl counts epochs from 1, the official loop
   from 0). The loss terms (node InfoNCE, DeCA, ReSC) are compared too. The
   steps are placed at ``t = --start ..`` so that both community terms
   are active (the Cora config: stride 500, alpha_rate 0.2).

Patches the official code needs on torch 2.13 / PyG 2.8 (applied at import
time to the source text; the checkout is not modified):

- ``torch_scatter`` is not installed: ``src/utils.py`` imports ``scatter``
  from it (used by its PageRank only); a stub maps it to
  ``torch_geometric.utils.scatter``.
- float64: ``gCooL.DeCA`` builds its dense adjacency with
  ``dtype=torch.float32`` and ``community_contrast`` its empty-community
  centres likewise; with float64 embeddings ``R.T @ A`` and ``torch.stack``
  fail, so both take the embeddings' dtype instead.
- ``main.py`` (argument parsing, ``nni``, dataset paths) is not run; its
  ``train_epoch`` is re-typed here (drop edges twice, drop features twice,
  ``net.fit``).

The official code is not part of this repository::

    mkdir -p /tmp/gcool_official
    git -C <gCooL git dir> archive HEAD | tar -x -C /tmp/gcool_official
    python benchmarks/diagnostics/gcool_lockstep.py --official /tmp/gcool_official
"""

import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import degree, to_undirected

from gcl.app.config import load_config
from gcl.augment import AdaptiveEdgeDrop, AdaptiveFeatureMask
from gcl.methods import build_method
from gcl.methods.two_view import _draw_views

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

PATCHES = {
    "src/model.py": [
        ("A = torch.zeros(n,n,device=R.device,dtype=torch.float32)",
         "A = torch.zeros(n,n,device=R.device,dtype=R.dtype)"),
        ("torch.zeros(h1.shape[1],device=h1.device,dtype=torch.float32)",
         "torch.zeros(h1.shape[1],device=h1.device,dtype=h1.dtype)"),
        ("torch.zeros(h2.shape[1],device=h2.device,dtype=torch.float32)",
         "torch.zeros(h2.shape[1],device=h2.device,dtype=h2.dtype)"),
    ],
}


def load_official(root):
    """Imports the official ``src.functional`` and ``src.model``, patched."""
    from torch_geometric.utils import scatter
    common.stub_module("torch_scatter", scatter=scatter)
    sys.path.insert(0, root)
    mods = {}
    for name in ("src.utils", "src.functional", "src.model"):
        file = f"{name.replace('.', '/')}.py"
        mods[name] = common.load_patched(f"{root}/{file}", name, PATCHES.get(file, []))
    return mods["src.functional"], mods["src.model"]


def main():
    p = common.lockstep_parser(__doc__, "gCooL checkout")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--start", type=int, default=40,
                   help="first schedule step t (the official epoch counter)")
    args = p.parse_args()
    fun, mod = load_official(args.official)

    cfg = load_config("gcool", "Cora")
    mc = {**cfg["model"], "drop_scheme": "degree", "degree": "in"}
    tc = cfg["train"]
    full = common.load_dense("Cora", cfg)
    node_deg = degree(to_undirected(full.edge_index)[1])
    empty = ((full.x != 0).sum(0) == 0).nonzero().view(-1)
    fw = fun.feature_drop_weights(full.x, node_c=node_deg)
    with common.BernoulliCapture() as cap:
        fun.drop_feature_weighted_2(full.x, fw, mc["drop_feature"][0])
    ours_full = build_method("gcool", full.num_features, **mc)
    ours_full.prepare(full)
    mask = ours_full.augmentors[0].augmentors[1].drop_probabilities()
    print(f"gCooL lockstep, Cora, float64: gcl config gcool/Cora with "
          f"drop_scheme degree (GCA), degree in (PyG 2.x GCNConv); drop_edge "
          f"{mc['drop_edge']}, drop_feature {mc['drop_feature']}, tau "
          f"{mc['tau']}, K {mc['num_communities']}, lam {mc['lam']}, stride "
          f"{mc['stride']:g}, alpha_rate {mc['alpha_rate']}, lr {tc['lr']}; "
          f"steps t = {args.start}..{args.start + args.steps - 1}, seed "
          f"{args.seed}")
    print(f"full Cora: empty columns {empty.tolist()}; official feature "
          f"weights NaN in {int(torch.isnan(fw).sum())} of {fw.numel()} "
          f"columns, official drop probabilities (view 1, p = "
          f"{mc['drop_feature'][0]}): all 0.7 = "
          f"{bool((cap.probs[0] == 0.7).all())}; gcl's: column 444 "
          f"{mask[444].item():.2f}, the others mean {mask[mask != 0.7].mean():.3f}"
          f", max {mask[torch.arange(mask.numel()) != 444].max():.3f}")

    keep = torch.ones(full.num_features, dtype=torch.bool)
    keep[empty] = False
    data32 = Data(x=full.x[:, keep], edge_index=full.edge_index,
                  num_nodes=full.num_nodes)
    data = Data(x=data32.x.double(), edge_index=data32.edge_index,
                num_nodes=data32.num_nodes)
    print(f"lockstep on Cora without the empty column ({data.num_features} "
          f"features)")
    drop_w = fun.degree_drop_weights(data.edge_index)
    feat_w = fun.feature_drop_weights(data32.x, node_c=node_deg)

    torch.manual_seed(args.seed)
    enc = mod.Encoder(data.num_features, mc["first_hidden"],
                      mc["hidden_channels"], F.relu)
    net = mod.gCooL(enc, mc["hidden_channels"], mc["proj_channels"],
                    tau=mc["tau"], num_community=mc["num_communities"],
                    lamda=mc["lam"], gamma=mc["gamma"],
                    alpha_rate=mc["alpha_rate"], stride=mc["stride"]).double()
    ours = build_method("gcool", data.num_features, **mc).double()
    ours.prepare(data)
    common.copy_gcn_weights(net.encoder.conv, ours.encoder.convs)
    with torch.no_grad():
        ours.projector.fc1.load_state_dict(net.proj[0].state_dict())
        ours.projector.fc2.load_state_dict(net.proj[2].state_dict())
        ours.centers.copy_(net.center)
    opt_o, opt_g = common.adam_pair(net, ours, tc["lr"], tc["weight_decay"])
    augs = ours.augmentors
    assert all(isinstance(a.augmentors[0], AdaptiveEdgeDrop)
               and isinstance(a.augmentors[1], AdaptiveFeatureMask) for a in augs)
    keep_g = [1.0 - a.augmentors[0].drop_probabilities() for a in augs]
    drop_g = [a.augmentors[1].drop_probabilities() for a in augs]

    torch.manual_seed(args.seed + 1)
    pe, pf = mc["drop_edge"], mc["drop_feature"]
    print("    t  alpha*c  alpha*(1-c)   loss_official       loss_gcl     "
          "|dL|  |dnode|  |dDeCA|  |dReSC|  max|dp|  same views  max|dW|")
    worst = common.Worst(dl=0.0, dterm=0.0, dp=0.0, dw=0.0, views=0)

    def official_draws():  # main.py's train_epoch, official order
        with common.BernoulliCapture() as cap:
            ei1 = fun.drop_edge_weighted(data.edge_index, drop_w, p=pe[0],
                                         threshold=0.7)
            ei2 = fun.drop_edge_weighted(data.edge_index, drop_w, p=pe[1],
                                         threshold=0.7)
            x1 = fun.drop_feature_weighted_2(data32.x, feat_w, pf[0])
            x2 = fun.drop_feature_weighted_2(data32.x, feat_w, pf[1])
        return ei1, ei2, x1, x2, cap.probs

    for t in range(args.start, args.start + args.steps):
        (ei1, ei2, x1, x2, probs), (v1, v2), same_rng = common.from_same_rng(
            official_draws,
            lambda: _draw_views(augs[0], augs[1], data, stagewise=True))
        assert same_rng
        dp = max(common.max_abs_diff(a.double(), b.double())
                 for a, b in zip(probs, keep_g + drop_g))
        same = (torch.equal(v1.edge_index, ei1) and torch.equal(v2.edge_index, ei2)
                and torch.equal(v1.x, x1.double()) and torch.equal(v2.x, x2.double()))
        x1, x2 = x1.double(), x2.double()

        net.train()
        with torch.no_grad():  # the official terms, from the same forward
            h1, h2 = net.proj(net(x1, ei1)), net.proj(net(x2, ei2))
            r1, r2 = net.community_assign(h1), net.community_assign(h2)
            node_o = net.node_contrast(h1, h2).item()
            deca_o = ((net.DeCA(r1, ei1) + net.DeCA(r2, ei2)) / 2).item()
            resc_o = net.community_contrast(h1, h2, r1, r2).item()
        loss_o = net.fit(t, opt_o, x1, x2, ei1, ei2)

        views = [Data(x=x1, edge_index=ei1, num_nodes=data.num_nodes),
                 Data(x=x2, edge_index=ei2, num_nodes=data.num_nodes)]
        with common.swapped_augmentors(ours, common.replay_views(views)):
            ours.train()
            ours.set_epoch(t + 1)
            opt_g.zero_grad()
            st = ours.step(data)
            st.loss.backward()
            opt_g.step()

        alpha = max(0.0, 1 - t / mc["alpha_rate"] / mc["stride"])
        coef = math.exp(-t / mc["stride"])
        dterm = [abs(a - st.terms[k].item()) if k in st.terms else float("nan")
                 for a, k in ((node_o, "node"), (deca_o, "deca"), (resc_o, "resc"))]
        dw = max(common.max_weight_diff(net.encoder.conv, ours.encoder.convs),
                 common.max_abs_diff(net.center, ours.centers))
        dl = abs(loss_o.item() - st.loss.item())
        worst.max(dl=dl, dterm=dterm, dp=dp, dw=dw)
        worst.count(views=same)
        print(f"{t:5d} {alpha * coef:8.4f} {alpha * (1 - coef):12.4f} "
              f"{loss_o.item():.12f} {st.loss.item():.12f} {dl:8.1e} "
              f"{dterm[0]:8.1e} {dterm[1]:8.1e} {dterm[2]:8.1e} {dp:8.1e} "
              f"{str(same):>11s} {dw:8.1e}", flush=True)
    print(f"summary: max |loss difference| {worst['dl']:.1e}, max |term "
          f"difference| {worst['dterm']:.1e}, max |drop probability "
          f"difference| {worst['dp']:.1e}, gcl's own views equal the official "
          f"ones in {worst['views']} of {args.steps} steps, max |weight or "
          f"centre difference| {worst['dw']:.1e}")


if __name__ == "__main__":
    main()
