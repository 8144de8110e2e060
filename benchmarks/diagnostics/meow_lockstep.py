"""Diagnostic: gcl's MEOW, AdaMEOW and HeCo losses against the official code,
in lockstep, on the same embeddings, clusterings and weights, in float64.

What is official: from a MEOW checkout (``jianxiangyu/MEOW``),
``run_kmeans`` (``code_meow/module/cluster.py``), ``InfoNce`` and
``ProtoNCE`` (``code_meow/module/contrast.py``) and AdaMEOW's
``weight_InfoNce`` method (``code_adameow/module/adameow.py``); from a HeCo
checkout (``liun-online/HeCo``, optional), ``Contrast``
(``code/module/contrast.py``). The functions are extracted with ``ast`` and
executed; the text patches needed on a CPU-only machine with torch 2.13 and
faiss-cpu are applied in memory and printed (``PATCHES`` below):

* ``.cuda()`` removed everywhere (CPU only);
* ``run_kmeans``: the GPU index (``StandardGpuResources``,
  ``GpuIndexFlatConfig``, ``GpuIndexFlatIP``) replaced by the CPU
  ``faiss.IndexFlatIP(d)``; ``clus.gpu = True`` is left (an inert attribute
  on faiss-cpu).

``torch.range`` (deprecated) still works on torch 2.13 and is not patched.
faiss needs float32 points, so both k-means runs get the float32 copy of the
fine-view projections (the official model runs in float32); the losses run in
float64 on both sides.

What is compared, every step (free embeddings as parameters, one Adam per
side, same start):

* MEOW: the official ``run_kmeans`` against ``gcl.losses.kmeans_prototypes``
  (labels, centroids, densities), then ``InfoNce + lam * ProtoNCE`` against
  ``weighted_info_nce(cluster_labels=...) + lam * proto_nce``. The official
  ProtoNCE denominator is mean-over-prototypes times N, a constant
  ``log(N / K)`` above PCL's softmax per clustering; it is added to gcl's
  value for the comparison (it has no gradient).
* AdaMEOW: ``weight_InfoNce`` (the N^2 x d MLP input) against
  ``adameow_loss`` with the same MLP weights; the MLP trains too.
* HeCo: ``Contrast`` (with its projection head) against
  ``ProjectionHead(xavier_gain=1.414)`` + ``heco_loss(eps=1e-8)`` with the
  same weights, positives with the diagonal plus random pairs.

Run it outside the repository, on a checkout::

    mkdir -p /tmp/meow_official /tmp/heco_official
    git -C <MEOW git dir> archive HEAD code_meow/module code_adameow/module \\
        | tar -x -C /tmp/meow_official
    git -C <HeCo git dir> archive HEAD code/module | tar -x -C /tmp/heco_official
    python benchmarks/diagnostics/meow_lockstep.py --meow /tmp/meow_official \\
        --heco /tmp/heco_official
"""

import argparse
import ast
import importlib.util
import math
import os
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from gcl.losses import (
    PairWeightMLP,
    adameow_loss,
    heco_loss,
    kmeans_prototypes,
    proto_nce,
    weighted_info_nce,
)
from gcl.nn import ProjectionHead

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

PATCHES = {
    "code_meow/module/cluster.py": common.MEOW_KMEANS_CPU_PATCHES,
    "code_meow/module/contrast.py": [(".cuda()", "")],
    "code_adameow/module/adameow.py": [(".cuda()", "")],
}


def load_official(path, rel, names, namespace, cls=None):
    """Executes functions ``names`` (methods of class ``cls`` if given) of
    ``path/rel`` after the text patches of ``PATCHES[rel]``."""
    src = common.read_official(path, rel, PATCHES.get(rel, []))
    tree = ast.parse(src, filename=rel)
    body = tree.body
    if cls is not None:
        body = next(n for n in body
                    if isinstance(n, ast.ClassDef) and n.name == cls).body
    found = [n for n in body if isinstance(n, ast.FunctionDef) and n.name in names]
    if {n.name for n in found} != set(names):
        raise RuntimeError(f"{rel}: missing {set(names) - {n.name for n in found}}")
    exec(compile(ast.Module(body=found, type_ignores=[]), rel, "exec"), namespace)


def planted(n, d, k, gen):
    centers = F.normalize(torch.randn(k, d, generator=gen, dtype=torch.float64), dim=1)
    lab = torch.randint(0, k, (n,), generator=gen)
    return centers[lab] + 0.6 * torch.randn(n, d, generator=gen, dtype=torch.float64)


def meow_lockstep(ns, args, log):
    gen = torch.Generator().manual_seed(args.seed)
    zc0 = planted(args.n, args.d, 5, gen)
    zf0 = zc0 + 0.3 * torch.randn(args.n, args.d, generator=gen, dtype=torch.float64)
    off = [zc0.clone().requires_grad_(), zf0.clone().requires_grad_()]
    ours = [zc0.clone().requires_grad_(), zf0.clone().requires_grad_()]
    opt_off = torch.optim.Adam(off, lr=args.lr)
    opt_ours = torch.optim.Adam(ours, lr=args.lr)
    ks = args.clusters
    log(f"MEOW: N {args.n}, d {args.d}, clusters {ks}, tau {args.tau}, "
        f"lam_proto {args.lam_proto}, Adam lr {args.lr}, {args.steps} steps")
    log("step   loss_official        loss_gcl     |dL|  labels=  |dcent|  "
        "|ddens|  |dgrad|max  |dz|max")
    worst = 0.0
    for step in range(args.steps):
        t0 = time.time()
        pc_o, pf_o = (F.normalize(z, dim=1) for z in off)
        pc_g, pf_g = (F.normalize(z, dim=1) for z in ours)
        res_o = ns["run_kmeans"](pf_o.detach().float(), ks, args.tau)
        res_g = kmeans_prototypes(pf_g.detach(), ks, args.tau)
        same = all(torch.equal(a.long(), b) for a, b in
                   zip(res_o["im2cluster"], res_g.labels))
        dcent = max(float((a.double() - b).abs().max()) for a, b in
                    zip(res_o["centroids"], res_g.centroids))
        ddens = max(float((a.double() - b).abs().max()) for a, b in
                    zip(res_o["density"], res_g.density))
        # Both sides continue from the official clustering (float64 copies).
        res = {"im2cluster": [t.long() for t in res_o["im2cluster"]],
               "centroids": [t.double() for t in res_o["centroids"]],
               "density": [t.double() for t in res_o["density"]]}
        loss_o = (ns["InfoNce"](pc_o, pf_o, res, ks, args.tau)
                  + args.lam_proto * ns["ProtoNCE"](pc_o, res))
        offset = float(np.mean([math.log(args.n / k) for k in ks]))
        loss_g = (weighted_info_nce(pc_g, pf_g, cluster_labels=res["im2cluster"],
                                    tau=args.tau)
                  + args.lam_proto * (proto_nce(pc_g, res["im2cluster"],
                                                res["centroids"], res["density"])
                                      + offset))
        opt_off.zero_grad()
        opt_ours.zero_grad()
        loss_o.backward()
        loss_g.backward()
        dgrad = max(float((a.grad - b.grad).abs().max()) for a, b in zip(off, ours))
        opt_off.step()
        opt_ours.step()
        dz = max(float((a - b).abs().max()) for a, b in zip(off, ours))
        dl = abs(loss_o.item() - loss_g.item())
        worst = max(worst, dl)
        log(f"{step:4d} {loss_o.item():15.12f} {loss_g.item():15.12f} {dl:8.1e}  "
            f"{str(same):>6}  {dcent:7.1e}  {ddens:7.1e}  {dgrad:10.1e}  "
            f"{dz:7.1e}   [{time.time() - t0:.1f}s]")
    return worst


def adameow_lockstep(ns, args, log):
    gen = torch.Generator().manual_seed(args.seed + 1)
    n = args.adameow_n
    zc0 = planted(n, args.d, 5, gen)
    zf0 = zc0 + 0.3 * torch.randn(n, args.d, generator=gen, dtype=torch.float64)
    torch.manual_seed(args.seed)
    mlp = PairWeightMLP(args.d).double()
    seq = torch.nn.Sequential(torch.nn.Linear(args.d, 16), torch.nn.Tanh(),
                              torch.nn.Linear(16, 1), torch.nn.Sigmoid()).double()
    with torch.no_grad():
        seq[0].weight.copy_(mlp.lin1.weight)
        seq[0].bias.copy_(mlp.lin1.bias)
        seq[2].weight.copy_(mlp.lin2.weight)
        seq[2].bias.copy_(mlp.lin2.bias)
    this = types.SimpleNamespace(MLP=seq, tau=args.tau)
    off = [zf0.clone().requires_grad_(), zc0.clone().requires_grad_()]
    ours = [zf0.clone().requires_grad_(), zc0.clone().requires_grad_()]
    opt_off = torch.optim.Adam(off + list(seq.parameters()), lr=args.lr)
    opt_ours = torch.optim.Adam(ours + list(mlp.parameters()), lr=args.lr)
    log(f"AdaMEOW: N {n}, d {args.d}, tau {args.tau}, Adam lr {args.lr} on the "
        f"embeddings and the MLP, {args.steps} steps")
    log("step   loss_official        loss_gcl     |dL|  |dgrad|max  |dz|max  |dmlp|max")
    worst = 0.0
    for step in range(args.steps):
        pf_o, pc_o = (F.normalize(z, dim=1) for z in off)
        pf_g, pc_g = (F.normalize(z, dim=1) for z in ours)
        loss_o = ns["weight_InfoNce"](this, pf_o, pc_o)
        loss_g = adameow_loss(pf_g, pc_g, mlp, args.tau)
        opt_off.zero_grad()
        opt_ours.zero_grad()
        loss_o.backward()
        loss_g.backward()
        pairs = list(zip(off + list(seq.parameters()), ours + [
            mlp.lin1.weight, mlp.lin1.bias, mlp.lin2.weight, mlp.lin2.bias]))
        dgrad = max(float((a.grad - b.grad).abs().max()) for a, b in pairs)
        opt_off.step()
        opt_ours.step()
        dz = max(float((a - b).abs().max()) for a, b in pairs[:2])
        dm = max(float((a - b).abs().max()) for a, b in pairs[2:])
        dl = abs(loss_o.item() - loss_g.item())
        worst = max(worst, dl)
        log(f"{step:4d} {loss_o.item():15.12f} {loss_g.item():15.12f} {dl:8.1e}  "
            f"{dgrad:10.1e}  {dz:7.1e}  {dm:7.1e}")
    return worst


def heco_lockstep(path, args, log):
    spec = importlib.util.spec_from_file_location(
        "heco_contrast", os.path.join(path, "code/module/contrast.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.manual_seed(args.seed)
    contrast = mod.Contrast(args.d, args.heco_tau, args.heco_lam).double()
    head = ProjectionHead(args.d, args.d, xavier_gain=1.414).double()
    with torch.no_grad():
        head.fc1.weight.copy_(contrast.proj[0].weight)
        head.fc1.bias.copy_(contrast.proj[0].bias)
        head.fc2.weight.copy_(contrast.proj[2].weight)
        head.fc2.bias.copy_(contrast.proj[2].bias)
    gen = torch.Generator().manual_seed(args.seed + 2)
    n = args.n
    zm0 = planted(n, args.d, 5, gen)
    zs0 = zm0 + 0.3 * torch.randn(n, args.d, generator=gen, dtype=torch.float64)
    rows = torch.cat([torch.arange(n), torch.randint(0, n, (4 * n,), generator=gen)])
    cols = torch.cat([torch.arange(n), torch.randint(0, n, (4 * n,), generator=gen)])
    index = torch.unique(torch.stack([rows, cols]), dim=1)
    pos = torch.sparse_coo_tensor(index, torch.ones(index.size(1), dtype=torch.float64),
                                  (n, n)).coalesce()
    off = [zm0.clone().requires_grad_(), zs0.clone().requires_grad_()]
    ours = [zm0.clone().requires_grad_(), zs0.clone().requires_grad_()]
    opt_off = torch.optim.Adam(off + list(contrast.parameters()), lr=args.lr)
    opt_ours = torch.optim.Adam(ours + list(head.parameters()), lr=args.lr)
    log(f"HeCo: N {n}, d {args.d}, {index.size(1)} positive pairs, tau "
        f"{args.heco_tau}, lam {args.heco_lam}, Adam lr {args.lr} on the embeddings "
        f"and the head, {args.steps} steps")
    log("step   loss_official        loss_gcl     |dL|  |dgrad|max  |dz|max  "
        "|dhead|max")
    worst = 0.0
    for step in range(args.steps):
        loss_o = contrast(off[0], off[1], pos)
        loss_g = heco_loss(head(ours[0]), head(ours[1]), index, args.heco_tau,
                           args.heco_lam, eps=1e-8)
        opt_off.zero_grad()
        opt_ours.zero_grad()
        loss_o.backward()
        loss_g.backward()
        pairs = list(zip(off + [contrast.proj[0].weight, contrast.proj[0].bias,
                                contrast.proj[2].weight, contrast.proj[2].bias],
                         ours + [head.fc1.weight, head.fc1.bias, head.fc2.weight,
                                 head.fc2.bias]))
        dgrad = max(float((a.grad - b.grad).abs().max()) for a, b in pairs)
        opt_off.step()
        opt_ours.step()
        dz = max(float((a - b).abs().max()) for a, b in pairs[:2])
        dh = max(float((a - b).abs().max()) for a, b in pairs[2:])
        dl = abs(loss_o.item() - loss_g.item())
        worst = max(worst, dl)
        log(f"{step:4d} {loss_o.item():15.12f} {loss_g.item():15.12f} {dl:8.1e}  "
            f"{dgrad:10.1e}  {dz:7.1e}  {dh:7.1e}")
    return worst


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--meow", required=True, help="MEOW checkout (code_meow/ inside)")
    p.add_argument("--heco", help="HeCo checkout (code/module/ inside)")
    p.add_argument("--n", type=int, default=4019, help="nodes (ACM: 4019)")
    p.add_argument("--d", type=int, default=64)
    p.add_argument("--clusters", type=int, nargs="+", default=[100, 300])
    p.add_argument("--tau", type=float, default=0.4)
    p.add_argument("--lam-proto", type=float, default=1.0)
    p.add_argument("--adameow-n", type=int, default=600,
                   help="nodes for AdaMEOW (the official input is N^2 x d)")
    p.add_argument("--heco-tau", type=float, default=0.8)
    p.add_argument("--heco-lam", type=float, default=0.5)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))

    def log(msg):
        print(msg, flush=True)

    import faiss
    ns = {"torch": torch, "np": np, "F": F, "faiss": faiss}
    load_official(args.meow, "code_meow/module/cluster.py", ["run_kmeans"], ns)
    load_official(args.meow, "code_meow/module/contrast.py", ["InfoNce", "ProtoNCE"],
                  ns)
    load_official(args.meow, "code_adameow/module/adameow.py", ["weight_InfoNce"], ns,
                  cls="AdaMEOW")
    log(f"torch {torch.__version__}, faiss {faiss.__version__}, float64 losses")
    common.log_patches(PATCHES, log)
    results = {"MEOW": meow_lockstep(ns, args, log),
               "AdaMEOW": adameow_lockstep(ns, args, log)}
    if args.heco:
        results["HeCo"] = heco_lockstep(args.heco, args, log)
    log("max |loss difference| over the steps: " + ", ".join(
        f"{k} {v:.1e}" for k, v in results.items()))


if __name__ == "__main__":
    main()
