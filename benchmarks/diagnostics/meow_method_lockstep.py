"""Diagnostic: gcl's whole MEOW (or AdaMEOW) method against the official
model on ACM, in lockstep: same data, same initial weights, same masks, same
dropout masks, same k-means results (MEOW), float64, a few training steps with
each side's own Adam.

``meow_lockstep.py`` checks the losses alone on free embeddings; this script
checks everything around them: the data (features, context incidences,
PathSim top-k graphs, their normalisation), the projections, the context
aggregation, the shared GCN, the semantic attention, the projection head, the
loss and the optimiser, as the official ``code_meow/main.py`` wires them.

What is official: from a MEOW checkout (``jianxiangyu/MEOW``),
``code_meow/utils/load_data.py`` (``load_acm``) and the model package
``code_meow/module/`` (``preprocess.py``: ``pathsim``, ``mask_features``,
``normalize_adj``, ``mask_edges``; ``encoder.py``; ``cluster.py``;
``contrast.py``; ``meow.py``: ``MEOW``), set up as ``main.py`` does (seed,
load, PathSim top-k, feature mask, normalisation, edge masks, model, Adam).
The files are executed in one namespace; the text patches needed on a
CPU-only machine with torch 2.13, numpy 2 and faiss-cpu are applied in memory
and printed (``PATCHES`` below), never written anywhere:

* ``.cuda()`` removed (CPU only); ``run_kmeans``'s GPU index replaced by
  the CPU ``faiss.IndexFlatIP(d)`` (as in ``meow_lockstep.py``);
* ``np.float`` (removed in numpy 1.24) -> ``np.float64``;
* ``pathsim``'s ``np.argsort`` sorts its rows as ``long double``: the
  order among ties of numpy's portable introsort, which the authors'
  numpy 1.23.5 used on every CPU, where numpy 1.25 and later sort float64
  with the CPU's SIMD kernels and order ties by machine
  (:func:`gcl.datasets.pathsim_topk`);
* ``normalize_adj`` returns float64 instead of float32 (the lockstep runs in
  float64);
* the data path points to the checkout's ``data/acm``; the package's
  relative imports are dropped (one namespace).

What is made equal, and how:

* **data**: gcl loads ``ACM-HeCo`` (``features="meow"``) itself; its
  features, context incidences and PathSim top-k graphs are compared with
  the official ones and printed, the top-k graphs with the config's tie rule
  (``ties: numpy``, the official selection) and with gcl's default
  ``"low"`` (ACM's PSP PathSim is all ties). The masks are random draws
  (Python's and numpy's RNG officially, torch's in gcl), so for the
  lockstep gcl's cached graphs (``graph_``: top-k adjacencies, coarse mean,
  edge masks, masked features) are replaced by the official ones, and its
  features by the official values (float64);
* **weights**: gcl's parameters are copied from the official model after its
  seeded initialisation (the GCN weights transposed: ``x @ W`` against
  ``Linear``);
* **dropout**: ``torch.nn.functional.dropout`` (which ``nn.Dropout`` also
  calls) is replaced on both sides by one that draws its masks from a
  seeded generator on the official side and replays them on gcl's side, in
  the order ``GCL_ORDER`` (the two codes call dropout at the same places in
  a different order); every replayed call checks the shape and the rate;
* **k-means**: the official ``run_kmeans`` runs on the official projections;
  gcl's ``kmeans_prototypes`` runs on gcl's and is compared (labels,
  centroids, densities), then the official result is given to both sides
  (its float32 centroids and densities as exact float64 copies, which the
  float64 official ProtoNCE needs), so that both continue from the same
  clusters;
* **loss value**: gcl with ``proto_log_offset=True`` (the official ProtoNCE
  adds the constant ``log(N/K)``; no gradient).

Printed per step: the loss of each side and their difference, the largest
difference of the fine-view embeddings (the official ``z_pos``, what its
``get_embeds`` returns), of the gradients and of the parameters after the
step, and whether gcl's own k-means labels equal the official ones. At the
end: the largest parameter difference, and the embeddings of the last step
and of the clean graph in evaluation mode (``MEOW.embed``; the official
model's ``aggregate_nei_acm`` + ``generate_loss`` + attention in eval mode).

**AdaMEOW** (``--method adameow``): the same, from ``code_adameow/``
(``utils/load_data.py``, then ``module/preprocess.py``, ``encoder.py`` and
``adameow.py``: ``AdaMEOW``), set up as ``code_adameow/main.py`` does (seed,
load, feature mask, PathSim top-k, edge masks at one rate, normalisation,
model, Adam), with gcl's ``AdaMEOW`` from ``gcl/configs/adameow/ACM-HeCo.yaml``.
No k-means; the weight MLP's two layers are paired too, and the official
dropout order differs from MEOW's (``OFFICIAL_CALLS["adameow"]``). Patches
besides MEOW's kind: ``load_data.py`` runs first (it defines a scipy
``normalize_adj`` that ``preprocess.py``'s torch one must shadow, as in
``main.py``); and ``weight_InfoNce`` builds its :math:`N^2 \\times d` pair
matrix (8.3 GB in float64 at N = 4019, three copies) in row chunks
(``pair_chunks``: the official ``w_anchor + w`` of 64 rows at a time through
the official ``self.MLP``, recomputed in the backward pass by
``torch.utils.checkpoint``), the same values summed in another order.
``meow_lockstep.py`` compares the unchunked official loss with gcl's on
free embeddings (N = 600).

Run it outside the repository, on a checkout (``data/acm`` included)::

    mkdir -p /tmp/meow_official
    git -C <MEOW git dir> archive HEAD code_meow code_adameow data/acm \\
        | tar -x -C /tmp/meow_official
    python benchmarks/diagnostics/meow_method_lockstep.py \\
        --meow /tmp/meow_official [--method adameow]
"""

import argparse
import contextlib
import io
import os
import random
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

import gcl.methods.meow as gcl_meow
from gcl.app.config import load_config
from gcl.datasets import load, pathsim_topk
from gcl.losses import Prototypes
from gcl.methods import build_method
from gcl.nn import meta_path_adjacency

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

FOLDER = {"meow": "code_meow", "adameow": "code_adameow"}
# official files in the order they run in one namespace
FILES = {
    "meow": [f"code_meow/module/{m}.py" for m in
             ("preprocess", "encoder", "cluster", "contrast", "meow")]
    + ["code_meow/utils/load_data.py"],
    # load_data.py first: its scipy normalize_adj must not shadow the torch
    # one of preprocess.py, which main.py and mask_edges use
    "adameow": ["code_adameow/utils/load_data.py"]
    + [f"code_adameow/module/{m}.py" for m in ("preprocess", "encoder", "adameow")],
}
_FLOAT64 = [("astype(np.float))", "astype(np.float64))"),
            ("adj_torch = torch.from_numpy(adj_norm_coo).float()",
             "adj_torch = torch.from_numpy(adj_norm_coo).double()"),
            # the authors' numpy (1.23.5) order among ties on any CPU
            ("np.argsort(pathsim_matrix, axis=1)",
             "np.argsort(pathsim_matrix.astype(np.longdouble), axis=1)")]
_DATA = [('path = "../data/acm/"', 'path = DATA_ACM')]
_NEI_CPU = ("self.nei_index = [i.cuda() for i in nei_index]",
            "self.nei_index = list(nei_index)")
PATCHES = {
    "meow": {
        "code_meow/module/preprocess.py": _FLOAT64,
        "code_meow/module/cluster.py": common.MEOW_KMEANS_CPU_PATCHES,
        "code_meow/module/contrast.py": [(".cuda()", ""),
                                         ("from .cluster import *", "")],
        "code_meow/module/meow.py": [
            _NEI_CPU, ("from .preprocess import *", ""),
            ("from .encoder import *", ""), ("from .cluster import *", ""),
            ("from .contrast import *", "")],
        "code_meow/utils/load_data.py": _DATA,
    },
    "adameow": {
        "code_adameow/module/preprocess.py": _FLOAT64,
        "code_adameow/module/adameow.py": [
            _NEI_CPU, ("from .preprocess import *", ""),
            ("from .encoder import *", ""),
            ("w_anchor = torch.stack([z_anchor[i].unsqueeze(0).repeat(N,1) "
             "for i in range(N)]).reshape(N*N,-1)", "w_anchor = None"),
            ("w = z.unsqueeze(0).repeat(N,1,1).reshape(N*N,-1)", "w = None"),
            ("weight = w_anchor + w", "pass"),
            ("weight = self.MLP(weight).reshape(N,N)",
             "weight = pair_chunks(self.MLP, z_anchor, z)")],
        "code_adameow/utils/load_data.py": _DATA,
    },
}

# Dropout calls of one ACM step (two meta-paths), in the official order, and
# gcl's order (MEOWViews._inputs, encode_views: the projections of all node
# types first, then the masked one; each meta-path's context and its masked
# twin; the fine GCNs; the attention; the coarse GCN) as indices into it.
_FINE_GCN = [f"GCN layer {layer}, {path} {view}" for path in ("PAP", "PSP")
             for view in ("view", "masked") for layer in (1, 2)]
OFFICIAL_CALLS = {
    # aggregate_nei_acm, generate_loss, contrast_loss (coarse GCN, attention)
    "meow": ["paper projection", "masked paper projection", "author projection",
             "subject projection", "PAP context (view)",
             "PAP context (masked twin)", "PSP context (view)",
             "PSP context (masked twin)", *_FINE_GCN, "GCN layer 1, coarse",
             "GCN layer 2, coarse", "attention vector"],
    # aggregate_nei_acm (views, then the masked twins), coarse GCN, fine
    # GCNs, attention
    "adameow": ["paper projection", "author projection", "subject projection",
                "PAP context (view)", "PSP context (view)",
                "masked paper projection", "PAP context (masked twin)",
                "PSP context (masked twin)", "GCN layer 1, coarse",
                "GCN layer 2, coarse", *_FINE_GCN, "attention vector"],
}
GCL_ORDER = {"meow": [0, 2, 3, 1, 4, 5, 6, 7, *range(8, 16), 18, 16, 17],
             "adameow": [0, 1, 2, 5, 3, 6, 4, 7, *range(10, 18), 18, 8, 9]}


def pair_chunks(mlp, a, b, rows=64):
    """The official ``self.MLP(w_anchor + w).reshape(N, N)`` of
    ``weight_InfoNce``, ``rows`` anchors at a time: each chunk is the
    official pair matrix of those rows, recomputed in the backward pass
    (``torch.utils.checkpoint``) so that no N^2 x d matrix is kept."""
    def chunk(x, y):
        pairs = (x[:, None, :] + y[None, :, :]).reshape(-1, y.size(1))
        return mlp(pairs).reshape(x.size(0), y.size(0))
    return torch.cat([checkpoint(chunk, a[i:i + rows], b, use_reentrant=False)
                      for i in range(0, a.size(0), rows)])


def load_official(root, data_dir, method):
    """The official model package and ``load_acm``, patched, in one
    namespace."""
    ns = {"__name__": f"{method}_official", "DATA_ACM": data_dir.rstrip("/") + "/",
          "pair_chunks": pair_chunks}
    for rel in FILES[method]:
        src = common.read_official(root, rel, PATCHES[method].get(rel, []))
        exec(compile(src, rel, "exec"), ns)
    return ns


class DropoutReplay:
    """``F.dropout`` drawing masks from ``gen`` (``record``) or replaying the
    recorded ones in gcl's order (``replay``)."""

    def __init__(self, seed, method):
        self.gen = torch.Generator().manual_seed(seed)
        self.names, self.order = OFFICIAL_CALLS[method], GCL_ORDER[method]
        self.mode, self.calls, self.pos = "record", [], 0

    def __call__(self, input, p=0.5, training=True, inplace=False):
        if not training or p == 0.0:
            return input
        if self.mode == "record":
            keep = (torch.rand(input.shape, generator=self.gen, dtype=torch.float64)
                    >= p).to(input.dtype)
            self.calls.append((tuple(input.shape), p, keep))
        else:
            shape, p0, keep = self.calls[self.order[self.pos]]
            name = self.names[self.order[self.pos]]
            if shape != tuple(input.shape) or p0 != p:
                raise RuntimeError(f"dropout call {self.pos} of gcl ({name}): shape "
                                   f"{tuple(input.shape)}, p {p}; official {shape}, "
                                   f"p {p0}")
            self.pos += 1
        return input * keep / (1.0 - p)

    def start(self, mode):
        if mode == "record":
            self.calls = []
        self.mode, self.pos = mode, 0

    def check_done(self):
        if len(self.calls) != len(self.names) or self.pos != len(self.order):
            raise RuntimeError(f"{len(self.calls)} official and {self.pos} gcl dropout "
                               f"calls, expected {len(self.names)}")


def param_pairs(off, ours):
    """(name, official parameter, gcl parameter, transposed): the GCN weights
    are used as ``x @ W`` officially, as ``Linear`` (``x @ W^T``) in gcl."""
    pairs = []
    for i, t in enumerate(["paper", "author", "subject"]):
        pairs += [(f"fc_list.{i}.weight", off.fc_list[i].weight,
                   ours.projections.lins[t].weight, False),
                  (f"fc_list.{i}.bias", off.fc_list[i].bias,
                   ours.projections.lins[t].bias, False)]
    for i, m in enumerate(["pap_1", "psp_1"]):
        pairs.append((f"agg.{i}.weight", off.agg[i].weight, ours.agg[m].weight, False))
    enc, genc = off.Encoder, ours.encoder
    pairs += [("Encoder.gc1.weight", enc.gc1.weight, genc.lin1.weight, True),
              ("Encoder.gc2.weight", enc.gc2.weight, genc.lin2.weight, True),
              ("Encoder.gc1.act.weight", enc.gc1.act.weight, genc.act.weight, False),
              ("att.fc.weight", off.att.fc.weight, ours.attention.lin.weight, False),
              ("att.fc.bias", off.att.fc.bias, ours.attention.lin.bias, False),
              ("att.att", off.att.att, ours.attention.att, False),
              ("project.weight", off.project.weight, ours.projector.lin.weight, False),
              ("project.bias", off.project.bias, ours.projector.lin.bias, False)]
    if hasattr(off, "MLP"):  # AdaMEOW's weight MLP
        mlp = ours.loss.mlp
        pairs += [("MLP.0.weight", off.MLP[0].weight, mlp.lin1.weight, False),
                  ("MLP.0.bias", off.MLP[0].bias, mlp.lin1.bias, False),
                  ("MLP.2.weight", off.MLP[2].weight, mlp.lin2.weight, False),
                  ("MLP.2.bias", off.MLP[2].bias, mlp.lin2.bias, False)]
    return pairs


def pdiff(pairs, grad=False):
    """Largest difference of the paired parameters (or their gradients)."""
    out = 0.0
    for _, a, b, tr in pairs:
        if grad:
            a, b = a.grad, b.grad
            if a is None or b is None:
                if a is not None or b is not None:
                    raise RuntimeError("a parameter has a gradient on one side only")
                continue
        out = max(out, maxdiff(a.t() if tr else a, b))
    return out


def maxdiff(a, b):
    return float((a.detach().double() - b.detach().double()).abs().max())


def csr(dense):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return dense.to_sparse_csr()


def sparse_diff(a, b):
    """Largest |a - b| of two sparse/dense matrices, and the number of
    entries differing by more than 1e-12 (not rounding), without densifying."""
    a = a.to_sparse_coo() if a.layout != torch.sparse_coo else a
    b = b.to_sparse_coo() if b.layout != torch.sparse_coo else b
    d = (a.double().coalesce() - b.double().coalesce()).coalesce()
    v = d.values().abs()
    return (float(v.max()) if v.numel() else 0.0), int((v > 1e-12).sum())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--meow", required=True,
                   help="MEOW checkout (code_meow/ or code_adameow/, data/acm/)")
    p.add_argument("--method", choices=["meow", "adameow"], default="meow")
    p.add_argument("--data", help="official ACM folder (default: <meow>/data/acm)")
    p.add_argument("--steps", type=int, default=8)
    p.add_argument("--seed", type=int, default=0, help="official seed (main.py)")
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ada = args.method == "adameow"

    def log(msg):
        print(msg, flush=True)

    import faiss
    # the official Attention's softmax has no dim (AdaMEOW's warns every step)
    warnings.filterwarnings("ignore", message="Implicit dimension choice")
    ns = load_official(args.meow, args.data or os.path.join(args.meow, "data/acm"),
                       args.method)
    log(f"{args.method}: torch {torch.__version__}, numpy {np.__version__}, faiss "
        f"{faiss.__version__}, float64, {args.steps} steps, official seed {args.seed}")
    common.log_patches(PATCHES[args.method], log)

    # ---------------- official set-up, as <folder>/main.py -------------------
    cfg = load_config(args.method, "ACM-HeCo")
    mc, tc = cfg["model"], cfg["train"]
    np.random.seed(args.seed)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    quiet = contextlib.redirect_stdout(io.StringIO())
    t0 = time.time()
    with quiet, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nei_index, feats, adjs, label, *_ = ns["load_acm"]([20, 40, 60],
                                                            [4019, 7167, 60])
        if ada:  # code_adameow/main.py's order, one edge-mask rate
            mask_feat = ns["mask_features"](feats[0], mc["feat_mask"])
            adjs = ns["pathsim"](adjs, mc["nei_max"])
            mask_adjs = ns["mask_edges"](adjs, len(adjs), mc["adj_mask"])
            adjs_norm = [ns["normalize_adj"](a) for a in adjs]
        else:
            adjs = ns["pathsim"](adjs, mc["nei_max"])
            mask_feat = ns["mask_features"](feats[0], mc["feat_mask"])
            adjs_norm = [ns["normalize_adj"](a) for a in adjs]
            mask_adjs = ns["mask_edges"](adjs, len(adjs), mc["adj_mask"])
        nei_index = [i.double().coalesce() for i in nei_index]
        dims = [f.shape[1] for f in feats]
        if ada:
            official = ns["AdaMEOW"](dims, len(adjs), mc["hidden_channels"],
                                     mc["embed_channels"], mc["tau"], adjs_norm,
                                     mc["dropout"], nei_index, feats[0], "acm")
        else:
            official = ns["MEOW"](dims, len(adjs), mc["hidden_channels"],
                                  mc["embed_channels"], mc["tau"], adjs_norm,
                                  mc["lam_proto"], mc["dropout"], nei_index, "acm")
        official = official.double()
    feats = [f.double() for f in feats]
    mask_feat = mask_feat.double().coalesce()
    official.nei_index_count = [c.double() for c in official.nei_index_count]
    opt_off = torch.optim.Adam(official.parameters(), lr=tc["lr"],
                               weight_decay=tc["weight_decay"])
    log(f"official set-up (load, PathSim top-k, masks, model) {time.time() - t0:.0f}s")

    # ---------------- gcl: the data, the method, the comparison -------------
    data = load("ACM-HeCo", **cfg["data"])
    for t, f in zip(["paper", "author", "subject"], feats):
        x = data[t].x.to_dense() if data[t].x.is_sparse else data[t].x
        log(f"features {t}: gcl {tuple(x.shape)} {x.dtype}, max |gcl - official| "
            f"{maxdiff(x, f):.1e}")
        data[t].x = f.clone()  # the official values, float64
    method = build_method(args.method, data.num_features, **mc).double()
    if not ada:
        method.proto_log_offset = True
    method.prepare(data)
    g = method.graph_
    for name, ctx, inc, cnt in zip(["PAP", "PSP"], g["contexts"], nei_index,
                                   official.nei_index_count):
        ref = inc.to_dense() / cnt  # the official torch.mm(nei, h) / count
        log(f"context {name}: {len(ctx)} prefix incidence(s), row means, max "
            f"|gcl - official| {maxdiff(ctx[0].to_dense(), ref):.1e}")
    for ties in dict.fromkeys([method.ties, "low"]):
        for name, k, ref in zip(method.metapaths, method.nei_max, adjs_norm):
            st = data["paper", name, "paper"]
            ei, cnt = pathsim_topk(st.edge_index, st.edge_weight, k, 4019, ties=ties)
            a = meta_path_adjacency(ei, cnt, 4019, dtype=torch.float64)
            dmax, n = sparse_diff(a, ref)
            loops = int((ei[0] == ei[1]).sum())
            log(f"top-k graph {name} (normalised), gcl ties={ties!r}"
                f"{' (config)' if ties == method.ties else ''}: gcl {a._nnz()} "
                f"entries, official {int((ref != 0).sum())}, {n} entries differ "
                f"(> 1e-12), max |diff| {dmax:.1e}; rows without their own node: "
                f"gcl {4019 - loops}, official {int((torch.diagonal(ref) == 0).sum())}")
    g["adjs"] = [csr(a) for a in adjs_norm]
    g["coarse"] = csr(official.adj)
    g["masked"] = [csr(a) for a in mask_adjs]
    g["x_mask"] = {"paper": mask_feat.to_dense()}
    log("gcl's graph_ now holds the official top-k graphs, coarse mean, edge masks "
        "and masked features")
    with torch.no_grad():
        for _, a, b, tr in param_pairs(official, method):
            b.copy_(a.t() if tr else a)
    opt_ours = torch.optim.Adam(method.parameters(), lr=tc["lr"],
                                weight_decay=tc["weight_decay"])

    # ---------------- dropout and k-means hooks ------------------------------
    drop = DropoutReplay(args.seed, args.method)
    F.dropout = drop  # nn.Dropout calls F.dropout too
    captured = {}
    if not ada:
        run_kmeans = ns["run_kmeans"]

        def official_kmeans(x, clusters, tau):
            res = run_kmeans(x.float(), clusters, tau)
            res["centroids"] = [t.double() for t in res["centroids"]]
            res["density"] = [t.double() for t in res["density"]]
            captured["off"] = res
            return res

        ns["run_kmeans"] = official_kmeans
        real_kmeans = gcl_meow.kmeans_prototypes

        def gcl_kmeans(x, num_clusters, tau):
            captured["gcl"] = real_kmeans(x, num_clusters, tau)
            off = captured["off"]
            return Prototypes([t.long() for t in off["im2cluster"]],
                              off["centroids"], off["density"])

        gcl_meow.kmeans_prototypes = gcl_kmeans
        log("official run_kmeans gets the float32 copy of its float64 projections "
            "(the official model runs in float32); its centroids and densities go "
            "to both sides as float64 copies")
    log("dropout calls of a step, gcl's order -> the official one: " + "; ".join(
        f"{i}->{j} {drop.names[j]}" for i, j in enumerate(drop.order)))

    # ---------------- the steps ----------------------------------------------
    pairs = param_pairs(official, method)
    log(f"{len(pairs)} parameter tensors paired (the official gc2.act PReLU is "
        f"unused), max |initial difference| {pdiff(pairs):.1e}")
    log("step   loss_official        loss_gcl     |dL|  |dz_fine|"
        + ("" if ada else "  labels=  |dcent|  |ddens|")
        + "  |dgrad|max  |dparam|max")
    worst = {"loss": 0.0, "z": 0.0, "param": 0.0}
    z_gcl = None
    for step in range(args.steps):
        t0 = time.time()
        official.train()
        method.train()
        method.set_epoch(step + 1)
        drop.start("record")
        opt_off.zero_grad()
        with contextlib.redirect_stdout(io.StringIO()):
            loss_o = (official(feats, mask_feat, adjs_norm, mask_adjs) if ada else
                      official(feats, mask_feat, mask_adjs, adjs_norm,
                               mc["num_clusters"]))
        drop.start("replay")
        opt_ours.zero_grad()
        rec = method.step(data)
        drop.check_done()
        loss_o.backward()
        rec.loss.backward()
        clusters = ""
        if not ada:
            same = all(torch.equal(a.long(), b) for a, b in
                       zip(captured["off"]["im2cluster"], captured["gcl"].labels))
            dcent = max(maxdiff(a, b) for a, b in zip(captured["off"]["centroids"],
                                                      captured["gcl"].centroids))
            ddens = max(maxdiff(a, b) for a, b in zip(captured["off"]["density"],
                                                      captured["gcl"].density))
            clusters = f"  {str(same):>7}  {dcent:7.1e}  {ddens:7.1e}"
        dgrad = pdiff(pairs, grad=True)
        opt_off.step()
        opt_ours.step()
        z_gcl = rec.zs[1].detach()
        dz = maxdiff(official.get_embeds(), z_gcl)
        dparam = pdiff(pairs)
        dl = abs(loss_o.item() - rec.loss.item())
        worst = {"loss": max(worst["loss"], dl), "z": max(worst["z"], dz),
                 "param": max(worst["param"], dparam)}
        log(f"{step:4d} {loss_o.item():15.12f} {rec.loss.item():15.12f} {dl:8.1e}  "
            f"{dz:9.1e}{clusters}  {dgrad:10.1e}  {dparam:10.1e}   "
            f"[{time.time() - t0:.1f}s]")

    # ---------------- final embeddings ---------------------------------------
    F.dropout = drop  # still patched; evaluation mode draws nothing
    official.eval()
    with torch.no_grad():
        h_view, h_mask, _ = official.aggregate_nei_acm(feats, mask_feat)
        zs = [official.Encoder(h, a) for i in range(len(adjs_norm))
              for h, a in ((h_view[i], adjs_norm[i]), (h_mask[i], mask_adjs[i]))]
        z_off_eval = official.att([F.normalize(z, dim=1) for z in zs])
    z_gcl_eval = method.embed(data)
    worst_param = pdiff(pairs)
    log(f"after {args.steps} steps: max |parameter difference| {worst_param:.1e}; "
        f"last training-step fine view (official get_embeds) max |diff| "
        f"{maxdiff(official.get_embeds(), z_gcl):.1e}; clean graph in eval mode "
        f"(gcl {type(method).__name__}.embed) max |diff| "
        f"{maxdiff(z_off_eval, z_gcl_eval):.1e}")
    log(f"max over the steps: |loss difference| {worst['loss']:.1e}, |fine-view "
        f"difference| {worst['z']:.1e}, |parameter difference| {worst['param']:.1e}")


if __name__ == "__main__":
    main()
