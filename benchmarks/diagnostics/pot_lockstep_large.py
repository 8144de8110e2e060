"""Diagnostic: gcl's GRACE+POT against the official VoidHaruhi/POT-GCL code,
in lockstep, on any data set (written for Amazon Photo).

Both models start from the same weights and, every step, train on the same
two edge-drop views drawn with the official ``dropout_adj`` and the same
shuffled node list (``np.random.shuffle``, as the official ``train()``).
The official side runs the official ``Model.loss`` and ``Model.pot_loss``
(dense bounds computed by the official code on the first step, then
reloaded from its cache file as ``train.py`` does). Per step it prints the
InfoNCE term, the POT term, their largest differences, the largest
difference of the per-node POT scores and of the gradients, and two
statistics of the official scores: the fraction of nodes whose score is
negative and the fraction whose score exceeds the node's actual principle
value :math:`f_i = w_i^\\top z^{(1)}_i` in the sampled view (the official
score is evaluated at the view and is not a certified bound).

The official code is not part of this repository. Pass a checkout (a
``git --git-dir=... archive HEAD GRACE`` of https://github.com/VoidHaruhi/POT-GCL
at ``ad4910b``, or the ``GRACE`` folder itself)::

    python benchmarks/diagnostics/pot_lockstep_large.py --official /tmp/pot_off \
        --dataset Photo --steps 6 --dtype float64

The script copies ``model.py`` and ``my_utils.py`` to a scratch folder and
patches only what torch 2.13 / PyG 2.8 and float64 need, each replacement
asserted to occur exactly once:

- ``my_utils.get_A_bounds``: ``torch.load(..., weights_only=False)`` (the
  cache holds numpy arrays, which torch >= 2.6 refuses by default);
- ``model.pot_loss``: the two ``np.float32(...)`` casts of the dense bounds
  become casts to the run's dtype (identity in float32);
- ``HOME`` points at the scratch folder, so the official bounds cache
  (``~/datasets/bounds/{dataset}_{rate}_upper_lower.pkl``) starts empty.

``train.py`` is not imported (it calls ``torch.cuda.set_device``); its
``train()`` is transcribed in :class:`Official`. Memory: the official
code holds dense ``N x N`` bounds and products (Photo: about 10 GB peak in
float64).
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch_geometric.data import Data
from torch_geometric.utils import degree, to_undirected

from gcl.datasets import load
from gcl.losses import principle_direction
from gcl.methods import GRACE, POT
from gcl.nn.bounds import edge_drop_bounds

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

# POT's GRACE config.yaml, Photo (the argparse defaults override drop/tau).
PHOTO = dict(hidden=256, proj=64, lr=5e-4, weight_decay=1e-5)

PATCHES = {
    "my_utils.py": [("A_upper, A_lower = torch.load(upper_lower_file)",
                     "A_upper, A_lower = torch.load(upper_lower_file, "
                     "weights_only=False)")],
    "model.py": [("A_upper = np.float32(A_upper)",
                  "A_upper = A_upper.astype(_POT_NP_DTYPE)"),
                 ("A_lower = np.float32(A_lower)",
                  "A_lower = A_lower.astype(_POT_NP_DTYPE)"),
                 ("from my_utils import get_alpha_beta, get_crown_weights",
                  "from my_utils import get_alpha_beta, get_crown_weights\n"
                  "import os as _os\n"
                  "_POT_NP_DTYPE = np.dtype(_os.environ['POT_NP_DTYPE'])")],
}


def patched_copy(official: str, dtype: torch.dtype) -> str:
    """Copies and patches the official files into a scratch folder."""
    tmp = tempfile.mkdtemp(prefix="pot_lockstep_")
    for name in ("model.py", "my_utils.py"):
        with open(os.path.join(official, name)) as f:
            src = common.patch_source(f.read(), PATCHES[name], name, once=True)
        with open(os.path.join(tmp, name), "w") as f:
            f.write(src)
    os.makedirs(os.path.join(tmp, "datasets", "bounds"))
    os.environ["HOME"] = tmp
    os.environ["POT_NP_DTYPE"] = "float64" if dtype == torch.float64 else "float32"
    return tmp


def official_budget(edge_index, num_nodes, rate, dtype):
    """The official budget ``min(max(d~ - 2, 0), round(p d))``, with the degree
    in ``dtype`` as the official code computes it under that default dtype.
    """
    deg = degree(to_undirected(edge_index)[1], num_nodes, dtype=dtype).numpy()
    q = np.minimum(np.maximum((deg + 1).astype("int") - 2, 0), np.round(rate * deg))
    return torch.as_tensor(q).long()


def inject_bounds(ours: POT, data, rates, dtype) -> None:
    r"""Gives gcl the bounds the official code computes in this dtype.

    gcl computes budgets as the official code does in its own (float32)
    runs, :math:`\mathrm{round}(p\,d)` in float32, and stores the bounds in
    float32. Under float64 the official code rounds :math:`p\,d` in float64
    (Photo: 4 nodes get another budget at :math:`p = 0.3`, e.g. :math:`0.3
    \cdot 5` is 1.5000000596 in float32 and 1.4999999999999998 in float64)
    and keeps its bounds in float64; the lockstep uses the same here.
    """
    ours.bounds(data)  # fills the cache keys
    for v, rate in enumerate(rates):
        q = official_budget(data.edge_index, data.num_nodes, rate, dtype)
        b = edge_drop_bounds(data.edge_index, data.num_nodes, rate, degree="in",
                             budget=q, dtype=dtype)
        hit = ours.bounds_[v]
        ours.bounds_[v] = (hit[0], hit[1], hit[2], b)


def param_pairs(official, ours: POT):
    """(name, official parameter, gcl parameter) triples."""
    out = []
    for k, (co, cg) in enumerate(zip(official.encoder.conv, ours.encoder.convs)):
        out += [(f"conv{k}.weight", co.lin.weight, cg.lin.weight),
                (f"conv{k}.bias", co.bias, cg.bias)]
    for name in ("fc1", "fc2"):
        lo, lg = getattr(official, name), getattr(ours.base.projector, name)
        out += [(f"{name}.weight", lo.weight, lg.weight),
                (f"{name}.bias", lo.bias, lg.bias)]
    return out


class _Recorder(torch.nn.BCEWithLogitsLoss):
    """The official ``pot_loss_func`` that also keeps the scores it sees."""

    def __init__(self, scores: list):
        super().__init__()
        self.scores = scores

    def forward(self, score, target):
        self.scores.append(score.detach().clone())
        return super().forward(score, target)


class Official:
    """The official ``train()`` of GRACE/train.py (POT branch), one step at a
    time, recording the per-node POT scores of both views.
    """

    def __init__(self, model, data, rates, kappa, get_A_bounds):
        self.model, self.data, self.rates, self.kappa = model, data, rates, kappa
        self.get_A_bounds = get_A_bounds
        self.bounds = [get_A_bounds(data.name, r) for r in rates]
        self.scores = []
        model.pot_loss_func = _Recorder(self.scores)

    def step(self, ei1, ei2, node_list):
        m, data = self.model, self.data
        z1 = m(data.x, ei1)
        z2 = m(data.x, ei2)
        nce = m.loss(z1, z2)
        if any(b[0] is None for b in self.bounds):
            self.bounds = [self.get_A_bounds(data.name, r) for r in self.rates]
        z11, z22 = z1[node_list], z2[node_list]
        self.scores.clear()
        (u1, l1), (u2, l2) = self.bounds
        p1 = m.pot_loss(z11, z22, data.x, data.edge_index, ei1,
                        local_changes=self.rates[0], node_list=node_list,
                        A_upper=u1, A_lower=l1)
        p2 = m.pot_loss(z22, z11, data.x, data.edge_index, ei2,
                        local_changes=self.rates[1], node_list=node_list,
                        A_upper=u2, A_lower=l2)
        pot = (p1 + p2) / 2
        loss = (1 - self.kappa) * nce + self.kappa * pot
        return loss, nce, pot, (z1, z2)


def main():
    p = common.lockstep_parser(
        __doc__, "folder with the official GRACE/model.py and my_utils.py",
        dtype="float64")
    p.add_argument("--dataset", default="Photo")
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--drop-edge", type=float, nargs=2, default=(0.4, 0.3))
    p.add_argument("--tau", type=float, default=0.9)
    p.add_argument("--kappa", type=float, default=0.4)
    args = p.parse_args()
    dtype = getattr(torch, args.dtype)
    sys.path.insert(0, patched_copy(args.official, dtype))
    torch.set_default_dtype(dtype)  # the official code allocates by default
    from model import Encoder, Model  # the official code (patched copy)
    from my_utils import get_A_bounds
    from torch_geometric.nn import GCNConv
    from torch_geometric.utils import dropout_adj  # as the official train.py

    c = PHOTO
    data = load(args.dataset)
    data.x = data.x.to(dtype)
    data.name = args.dataset
    common.seed_all(args.seed)
    official = Model(Encoder(data.num_features, c["hidden"], F.relu, GCNConv, 2),
                     c["hidden"], c["proj"], args.tau, dataset=args.dataset)
    grace = GRACE.from_config(data.num_features, hidden_channels=c["hidden"],
                              proj_channels=c["proj"], degree="in",
                              drop_edge=args.drop_edge, drop_feature=(0.0, 0.0),
                              tau=args.tau)
    ours = POT(grace, kappa=args.kappa, mode="official")
    official, ours = official.to(dtype), ours.to(dtype)
    common.copy_grace_weights(official, ours.encoder, ours.base.projector)
    opt_o, opt_g = common.adam_pair(official, ours, c["lr"], c["weight_decay"])
    inject_bounds(ours, data, args.drop_edge, dtype)
    off = Official(official, data, list(args.drop_edge), args.kappa, get_A_bounds)
    pairs = param_pairs(official, ours)
    n = data.num_nodes
    print(f"{args.dataset}: N={n}, E={data.edge_index.size(1)}, {args.dtype}, "
          f"drop_edge={tuple(args.drop_edge)}, tau={args.tau}, "
          f"kappa={args.kappa}", flush=True)
    worst = common.Worst(nce=0.0, pot=0.0, score=0.0, grad=0.0, weight=0.0)
    for step in range(1, args.steps + 1):
        ei1 = dropout_adj(data.edge_index, p=args.drop_edge[0])[0]
        ei2 = dropout_adj(data.edge_index, p=args.drop_edge[1])[0]
        node_list = np.arange(n)
        np.random.shuffle(node_list)

        t = time.perf_counter()
        official.train()
        opt_o.zero_grad()
        loss_o, nce_o, pot_o, _ = off.step(ei1, ei2, node_list)
        loss_o.backward()
        t_o = time.perf_counter() - t
        inv = np.argsort(node_list)  # official scores are in node_list order
        s_o = [s[torch.as_tensor(inv)] for s in off.scores]

        t = time.perf_counter()
        views = (Data(x=data.x, edge_index=ei1), Data(x=data.x, edge_index=ei2))
        ours.base.encode_views = lambda _d, v=views: (
            v, (ours.base.encode(v[0]), ours.base.encode(v[1])))
        ours.train()
        opt_g.zero_grad()
        rec = ours.step(data)
        rec.loss.backward()
        t_g = time.perf_counter() - t
        with torch.no_grad():
            s_g = ours.scores(data, rec.views, rec.zs)
            z1, z2 = rec.zs
            f = [(principle_direction(z2) * z1).sum(1),
                 (principle_direction(z1) * z2).sum(1)]

        d_nce = abs(nce_o.item() - rec.terms["base"].item())
        d_pot = abs(pot_o.item() - rec.terms["pot"].item())
        d_score = max(common.max_abs_diff(a, b) for a, b in zip(s_o, s_g))
        d_grad = max(((po.grad - pg.grad).abs().max()
                      / po.grad.abs().max().clamp_min(1e-300)).item()
                     for _, po, pg in pairs)
        opt_o.step()
        opt_g.step()
        d_w = max(common.max_abs_diff(po, pg) for _, po, pg in pairs)
        worst.max(nce=d_nce, pot=d_pot, score=d_score, grad=d_grad, weight=d_w)
        neg = np.mean([(s < 0).double().mean().item() for s in s_o])
        above = np.mean([(s > fi).double().mean().item() for s, fi in zip(s_o, f)])
        print(f"step {step}: InfoNCE {nce_o.item():.10f} (gcl diff {d_nce:.1e}), "
              f"POT {pot_o.item():.10f} (diff {d_pot:.1e}); scores max diff "
              f"{d_score:.1e} (|s| max {max(s.abs().max().item() for s in s_o):.3g}); "
              f"grad max rel diff {d_grad:.1e}; weights after step max diff "
              f"{d_w:.1e}; official scores < 0: {100 * neg:.1f}%, above f_i: "
              f"{100 * above:.1f}%; time official {t_o:.1f} s, gcl {t_g:.1f} s",
              flush=True)
    print(f"worst over {args.steps} steps: InfoNCE {worst['nce']:.1e}, POT "
          f"{worst['pot']:.1e}, scores {worst['score']:.1e}, gradients (relative) "
          f"{worst['grad']:.1e}, weights {worst['weight']:.1e}")
    shutil.rmtree(os.environ["HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
