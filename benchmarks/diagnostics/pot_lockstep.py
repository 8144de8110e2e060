"""Diagnostic: gcl's POT (official mode, around GRACE) against the official
VoidHaruhi/POT-GCL GRACE code, in lockstep, float64, on Cora.

What is compared:

1. **Bounds.** The official ``Model.pot_loss`` computes the dense
   :math:`U` (``A_upper``) and :math:`L` (``A_lower``) of each view's drop
   rate on its first call (and saves them; captured here instead); they are
   compared with gcl's sparse ``AdjacencyBounds`` (``to_dense``).
2. **Views.** Every step the official ``dropout_edge`` draws the two views
   (``train.py``'s ``dropout_adj``, same random numbers); gcl's own
   augmentors draw from the same RNG state and must give the same views.
3. **Training.** Same initial weights, each model with its own Adam, both
   on the official views: the official loss :math:`(1 - \\kappa)
   \\mathcal{L}_{\\text{GRACE}} + \\kappa (\\mathcal{L}^{(1)}_{\\text{POT}} +
   \\mathcal{L}^{(2)}_{\\text{POT}})/2` with the node list shuffled by NumPy as
   in ``train.py``, against gcl's ``POT(GRACE, mode="official")`` step. The
   official per-node scores (``pot_score``, captured) are compared with
   gcl's ``POT.scores`` on the same views and weights.

Patches the official code needs on torch 2.13 / PyG 2.8 (applied at import
time to the source text; the checkout is not modified):

- float64: ``my_utils.get_alpha_beta`` allocates its slopes and intercepts
  with ``torch.zeros(l.shape)`` (float32), which would round the float64
  relaxation; they take ``l.dtype``. ``Model.pot_loss`` builds its bound
  tensors from the float32 NumPy arrays, the clean and the view's
  ``gcn_norm`` with float32 weights and the BCE target as float32; each
  takes ``x.dtype`` (the stored ``A_upper``/``A_lower`` are still rounded
  to float32 by ``np.float32``, as gcl stores its bounds; without the
  clean graph's float64 ``gcn_norm`` the official :math:`L_{ii} =
  \tilde d_i^{-1/2}\tilde d_i^{-1/2}` is computed in float32 and differs
  from gcl's rounded :math:`1/\tilde d_i` by up to 3e-8).
- ``pot_loss`` saves the bounds under ``~/datasets/bounds``; the
  ``torch.save`` is replaced by a capture.
- ``torch_geometric.utils.dropout_adj`` (``train.py``) is deprecated in
  PyG 2.8; ``dropout_edge`` draws the same mask. ``train.py`` itself
  (argument parsing, CUDA device, dataset paths) is not run; its
  ``train()`` is re-typed here.

The official code is not part of this repository::

    mkdir -p /tmp/pot_official
    git -C <POT-GCL git dir> archive HEAD | tar -x -C /tmp/pot_official
    python benchmarks/diagnostics/pot_lockstep.py --official /tmp/pot_official
"""

import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.nn import GCNConv
from torch_geometric.utils import dropout_edge

from gcl.app.config import load_config
from gcl.augment import EdgeDrop
from gcl.methods import build_method
from gcl.methods.two_view import _draw_views

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

PATCHES = {
    "my_utils.py": [
        ("alpha_L= torch.zeros(l.shape,device=l.device)",
         "alpha_L= torch.zeros(l.shape,device=l.device,dtype=l.dtype)"),
    ],
    "model.py": [
        ("torch.save((A_upper, A_lower), upper_lower_file)",
         "_SAVED.append((A_upper, A_lower))"),
        ("A_upper_tensor = torch.tensor(A_upper[node_list][:,node_list], "
         "device=device)",
         "A_upper_tensor = torch.tensor(A_upper[node_list][:,node_list], "
         "device=device, dtype=x.dtype)"),
        ("A_lower_tensor = torch.tensor(A_lower[node_list][:,node_list], "
         "device=device)",
         "A_lower_tensor = torch.tensor(A_lower[node_list][:,node_list], "
         "device=device, dtype=x.dtype)"),
        ("new_edge_index, An = gcn_norm(edge_index, num_nodes=A.shape[0])",
         "new_edge_index, An = gcn_norm(edge_index, num_nodes=A.shape[0], "
         "dtype=x.dtype)"),
        ("gcn_norm(edge_index_1, num_nodes=A.shape[0])",
         "gcn_norm(edge_index_1, num_nodes=A.shape[0], dtype=x.dtype)"),
        ("target = torch.zeros(pot_score.shape, device=device) + 1",
         "target = torch.zeros(pot_score.shape, device=device, "
         "dtype=pot_score.dtype) + 1"),
        ("pot_loss = self.pot_loss_func(pot_score, target)",
         "_SCORES.append(pot_score.detach()); "
         "pot_loss = self.pot_loss_func(pot_score, target)"),
    ],
}


class Replay(EdgeDrop):
    """An ``EdgeDrop`` of rate ``p`` (POT reads it) that returns the next
    view of ``views`` instead of drawing one.
    """

    def __init__(self, p, views):
        super().__init__(p)
        self.views = views

    def forward(self, data):
        return next(self.views)


def load_official(root):
    """Imports the official ``GRACE/my_utils.py`` and ``GRACE/model.py``."""
    mods = {name: common.load_patched(f"{root}/GRACE/{name}.py", name,
                                      PATCHES[f"{name}.py"],
                                      attrs=dict(_SAVED=[], _SCORES=[]))
            for name in ("my_utils", "model")}
    return mods["model"]


def main():
    p = common.lockstep_parser(__doc__, "POT-GCL checkout")
    p.add_argument("--steps", type=int, default=8)
    args = p.parse_args()
    mod = load_official(args.official)

    cfg = load_config("pot", "Cora")
    mc, tc = cfg["model"], cfg["train"]
    data = common.load_dense("Cora", cfg, torch.float64)
    n, kappa, (p1, p2) = data.num_nodes, mc["kappa"], mc["drop_edge"]
    print(f"POT lockstep (GRACE base, official mode), Cora, float64: gcl "
          f"config pot/Cora (drop_edge {mc['drop_edge']}, tau {mc['tau']}, "
          f"kappa {kappa}, hidden {mc['hidden_channels']}, lr {tc['lr']}), "
          f"degree in, {args.steps} steps, seed {args.seed}")

    common.seed_all(args.seed)
    enc = mod.Encoder(data.num_features, mc["hidden_channels"], F.relu,
                      base_model=GCNConv, k=2)
    official = mod.Model(enc, mc["hidden_channels"], mc["proj_channels"],
                         mc["tau"], dataset="Cora").double()
    ours = build_method("pot", data.num_features, **mc).double()
    assert ours.mode == "official"
    base = ours.base
    common.copy_grace_weights(official, base.encoder, base.projector)
    ours.prepare(data)
    opt_o, opt_g = common.adam_pair(official, ours, tc["lr"], tc["weight_decay"])
    augs = base.augmentors
    bounds = [None, None]  # the official A_upper, A_lower per view

    torch.manual_seed(args.seed + 1)
    print(" step   loss_official        loss_gcl      |dL|   |dGRACE|  "
          "|dPOT|  max|dscore|  same views  max|dW|")
    worst = common.Worst(dl=0.0, ds=0.0, dw=0.0, views=0)
    for step in range(1, args.steps + 1):
        (ei1, ei2), (v1, v2), same_rng = common.from_same_rng(
            lambda: (dropout_edge(data.edge_index, p=p1)[0],  # train.py's order
                     dropout_edge(data.edge_index, p=p2)[0]),
            lambda: _draw_views(augs[0], augs[1], data, stagewise=False))
        assert same_rng
        same = torch.equal(v1.edge_index, ei1) and torch.equal(v2.edge_index, ei2)

        official.train()
        opt_o.zero_grad()
        z1, z2 = official(data.x, ei1), official(data.x, ei2)
        node_list = np.arange(n)
        np.random.shuffle(node_list)
        nce = official.loss(z1, z2)
        z11, z22 = z1[node_list], z2[node_list]
        mod._SCORES.clear()
        pots = []
        for v, (za, zb, ei, rate) in enumerate(((z11, z22, ei1, p1),
                                                (z22, z11, ei2, p2))):
            up, lo = bounds[v] if bounds[v] is not None else (None, None)
            mod._SAVED.clear()
            pots.append(official.pot_loss(za, zb, data.x, data.edge_index, ei,
                                          local_changes=rate, node_list=node_list,
                                          A_upper=up, A_lower=lo))
            if bounds[v] is None:
                bounds[v] = mod._SAVED[0]
        loss_o = (1 - kappa) * nce + kappa * (pots[0] + pots[1]) / 2
        loss_o.backward()
        opt_o.step()
        scores_o = []
        for s in mod._SCORES:
            full = torch.empty_like(s)
            full[torch.from_numpy(node_list)] = s
            scores_o.append(full)

        views = iter([Data(x=data.x, edge_index=ei1, num_nodes=n),
                      Data(x=data.x, edge_index=ei2, num_nodes=n)])
        replay = [Replay(p1, views), Replay(p2, views)]
        with common.swapped_augmentors(base, replay):
            ours.train()
            ours.set_epoch(step)
            opt_g.zero_grad()
            st = ours.step(data)
            with torch.no_grad():
                scores_g = ours.scores(data, st.views, st.zs)
            st.loss.backward()
            opt_g.step()

        if step == 1:
            for v, gb in enumerate(ours.bounds(data)):
                lo_g, up_g = gb.to_dense()
                up_o, lo_o = (torch.from_numpy(np.asarray(a)) for a in bounds[v])
                print(f"view {v + 1} bounds: official {up_o.dtype} dense, gcl "
                      f"{gb.num_entries} stored entries; max |U difference| "
                      f"{(up_o.double() - up_g.double()).abs().max():.1e}, max "
                      f"|L difference| "
                      f"{(lo_o.double() - lo_g.double()).abs().max():.1e}")
        ds = max(common.max_abs_diff(a, b) for a, b in zip(scores_o, scores_g))
        dw = common.max_weight_diff(official.encoder.conv, base.encoder.convs)
        dl = abs(loss_o.item() - st.loss.item())
        dn = abs(nce.item() - st.terms["base"].item())
        dpot = abs(((pots[0] + pots[1]) / 2).item() - st.terms["pot"].item())
        worst.max(dl=[dl, dn, dpot], ds=ds, dw=dw)
        worst.count(views=same)
        print(f"{step:5d} {loss_o.item():.13f} {st.loss.item():.13f} {dl:8.1e} "
              f"{dn:9.1e} {dpot:8.1e} {ds:11.1e} {str(same):>11s} {dw:8.1e}",
              flush=True)
    print(f"summary: max |loss or term difference| {worst['dl']:.1e}, max "
          f"|score difference| {worst['ds']:.1e}, gcl's own views equal the "
          f"official ones in {worst['views']} of {args.steps} steps, max "
          f"|weight difference| {worst['dw']:.1e}")


if __name__ == "__main__":
    main()
