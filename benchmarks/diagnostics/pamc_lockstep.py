"""Diagnostic: gcl's PamC against the official gayanku/PAMC training loop
(model ``SCGC_TRIMPOSCCSP``), in lockstep, from the same starting weights.

Question: on ACM-SDCN with the official settings and gcl's own pre-trained
SDCN autoencoder, gcl's PamC collapses to almost one cluster within about
20 epochs. Does the official code do the same from the same weights (the
method's dynamics), or is it a gcl difference?

What is shared: gcl's cached pre-trained autoencoder (its encoder exported
to SDCN's key names and loaded by the official ``SCGC_TRIM(load_from=...)``),
the k-means centres gcl's ``prepare`` fits (copied into the official
``cluster_layer``), the features (``gcl.datasets.load("ACM-SDCN",
normalize=None)``) and the graph file (SDCN's ``acm_graph.txt``). Each
model has its own Adam (lr 1e-3) and both train for the same epochs.

What is official: ``models.SCGC_TRIM`` is imported from the checkout. The
official ``train.py`` cannot be imported here (its module-level imports
need ``h5py`` and ``munkres``, via ``utils`` and ``evaluation``), so the
functions the loop calls, ``NcontrastCCSP``, ``get_feature_dis``,
``target_distribution`` and ``get_A_r_flexSP`` from ``train.py`` and
``load_graph``, ``normalize``, ``sparse_mx_to_torch_sparse_tensor`` from
``utils.py``, are extracted with ``ast`` from the files at run time and
executed unchanged. The epoch loop of ``train_scgc_trimPOS_CCSP`` (a
separate no-grad forward for ``p`` and the scored clusters, then the
training forward, KL, one-hot meta-nodes, ``NcontrastCCSP``) is re-typed
below. ``load_graph`` reads the graph file from a temporary folder laid out
as the official ``--data_path`` (``graph/acm_graph.txt``, and a dummy
``data/acm.txt`` from which it only reads N). The official Gamma is compared
with ``gcl.losses.influence_matrix`` before training.

The official code is not part of this repository: pass a checkout::

    mkdir -p /tmp/pamc_official
    git -C <PAMC git dir> archive HEAD | tar -x -C /tmp/pamc_official
    python benchmarks/diagnostics/pamc_lockstep.py --official /tmp/pamc_official

Per epoch it records both losses (the official one split into KL and
NcontrastCCSP), the ACC/NMI of argmax q of each model before its update
(what the official code scores), the cluster sizes, and prints a table every
``--every`` epochs and a summary.
"""

import ast
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from gcl.app import load_config
from gcl.datasets import load
from gcl.eval import cluster_metrics
from gcl.losses import influence_matrix
from gcl.methods import build_method

sys.path.insert(0, str(Path(__file__).parent))
import _common as common  # noqa: E402

TRAIN_FUNCS = ("get_A_r_flexSP", "NcontrastCCSP", "get_feature_dis",
               "target_distribution")
UTILS_FUNCS = ("load_graph", "normalize", "sparse_mx_to_torch_sparse_tensor")


def extract(path, names, namespace):
    """Executes the top-level functions ``names`` of ``path`` unchanged in
    ``namespace`` (the module itself is not imported)."""
    with open(path) as f:
        tree = ast.parse(f.read(), filename=path)
    found = [node for node in tree.body
             if isinstance(node, ast.FunctionDef) and node.name in names]
    missing = set(names) - {node.name for node in found}
    if missing:
        raise RuntimeError(f"{path}: no function(s) {sorted(missing)}")
    module = ast.Module(body=found, type_ignores=[])
    exec(compile(module, path, "exec"), namespace)


def official_functions(folder):
    ns = {"np": np, "sp": sp, "torch": torch, "F": F}
    extract(os.path.join(folder, "train.py"), TRAIN_FUNCS, ns)
    extract(os.path.join(folder, "utils.py"), UTILS_FUNCS, ns)
    return ns


def sdcn_state_dict(encoder_state):
    """gcl ``MLPEncoder`` keys (``lins.0`` .. ``lins.3``) to SDCN's
    (``enc_1``, ``enc_2``, ``enc_3``, ``z_layer``): the inverse of
    ``gcl.nn.sdcn_encoder_state_dict``."""
    names = ("enc_1", "enc_2", "enc_3", "z_layer")
    out = {}
    for key, value in encoder_state.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "lins":
            out[f"{names[int(parts[1])]}.{parts[2]}"] = value.detach().clone()
    if len(out) != 2 * len(names):
        raise KeyError(f"unexpected encoder keys {sorted(encoder_state)}")
    return out


def sizes(pred, k):
    return np.bincount(pred, minlength=k).tolist()


def main():
    p = common.lockstep_parser(
        __doc__, "folder with the official models.py, train.py, utils.py",
        seed=42, dtype="float64")
    p.add_argument("--graph", default=None,
                   help="SDCN's acm_graph.txt (default: $GCL_DATA/sdcn/acm/)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--every", type=int, default=10)
    p.add_argument("--alpha", type=float, default=None,
                   help="override the config's alpha (PamC term)")
    p.add_argument("--beta", type=float, default=None,
                   help="override the config's beta (KL term)")
    args = p.parse_args()
    dtype = getattr(torch, args.dtype)
    torch.set_default_dtype(torch.float32)

    sys.path.insert(0, args.official)
    from models import SCGC_TRIM  # the official model
    off = official_functions(args.official)

    cfg = load_config("pamc", "ACM-SDCN")
    if args.alpha is not None:
        cfg["model"]["alpha"] = args.alpha
    if args.beta is not None:
        cfg["model"]["beta"] = args.beta
    m = cfg["model"]
    alpha, beta, tau, order = m["alpha"], m["beta"], m["tau"], m["order"]
    lr, K = cfg["train"]["lr"], m["num_clusters"]
    print(f"PamC lockstep, ACM-SDCN: alpha {alpha}, beta {beta}, tau {tau}, "
          f"order {order} (cumulative {m['cumulative']}), lr {lr}, "
          f"{args.epochs} epochs, {args.dtype}, seed {args.seed}", flush=True)

    data = load("ACM-SDCN", normalize=cfg["data"].get("normalize"))
    y = data.y.numpy()
    N, F_in = data.x.shape

    # gcl: build and prepare in float32 (the cached autoencoder's key)
    torch.manual_seed(args.seed)
    ours = build_method(cfg, F_in)
    ours.prepare(data)

    # official model from the same encoder weights (load_from a state dict)
    tmp = tempfile.mkdtemp(prefix="pamc_lockstep_")
    pkl = os.path.join(tmp, "acm.pkl")
    torch.save(sdcn_state_dict(ours.encoder.state_dict()), pkl)
    official = SCGC_TRIM(500, 500, 2000, 2000, 500, 500, n_input=F_in,
                         n_z=m["out_channels"], n_clusters=K, load_from=pkl,
                         mode="full", v=1.0)

    # the official graph builder on the official file
    graph = args.graph or os.path.join(
        os.environ.get("GCL_DATA", "data"), "sdcn", "acm", "acm_graph.txt")
    os.makedirs(os.path.join(tmp, "graph"))
    os.makedirs(os.path.join(tmp, "data"))
    os.symlink(os.path.abspath(graph), os.path.join(tmp, "graph", "acm_graph.txt"))
    np.savetxt(os.path.join(tmp, "data", "acm.txt"), np.zeros((N, 2)), fmt="%d")
    adj = off["load_graph"](tmp, "acm", None)
    adj = off["get_A_r_flexSP"](adj, order, cumulative=m["cumulative"])
    gi, gv = influence_matrix(data.edge_index, N, order, m["cumulative"])
    G_gcl = torch.sparse_coo_tensor(gi, gv.double(), (N, N)).coalesce()
    G_off = adj.double().coalesce()  # adj itself stays as built
    same_support = (G_gcl.indices().shape == G_off.indices().shape
                    and torch.equal(G_gcl.indices(), G_off.indices()))
    dG = (G_gcl - G_off).coalesce().values().abs().max().item()
    print(f"Gamma: official nnz {G_off._nnz()}, gcl nnz {G_gcl._nnz()}, same "
          f"support {same_support}, max |difference| {dG:.2e}", flush=True)

    # same dtype, same centres
    official, ours = official.to(dtype), ours.to(dtype)
    x = data.x.to(dtype)
    adj = adj.to(dtype)
    with torch.no_grad():
        official.cluster_layer.data = ours.head.centers.detach().clone()
    dw = max((a - b).abs().max().item() for a, b in zip(
        [official.ae.enc_1.weight, official.ae.enc_2.weight,
         official.ae.enc_3.weight, official.ae.z_layer.weight,
         official.cluster_layer],
        [ours.encoder.lins[0].weight, ours.encoder.lins[1].weight,
         ours.encoder.lins[2].weight, ours.encoder.lins[3].weight,
         ours.head.centers]))
    print(f"start: max |weight difference| {dw:.1e}", flush=True)
    gdata = data.clone()
    gdata.x = x
    # the official NcontrastCCSP and get_feature_dis create float tensors
    # (torch.zeros, torch.eye) in the default dtype
    torch.set_default_dtype(dtype)

    opt_o, opt_g = common.adam_pair(official, ours, lr)
    hist = []
    head = (f"{'ep':>4} {'loss_off':>10} {'loss_gcl':>10} {'|dL|':>8} "
            f"{'KL_off':>8} {'NC_off':>8} {'ACC_o':>6} {'NMI_o':>6} "
            f"{'ACC_g':>6} {'NMI_g':>6} {'sizes_off':>18} {'sizes_gcl':>18} "
            f"{'|dz|max':>8}")
    print(head, flush=True)
    print("(losses, scores and sizes: before the epoch's update, as the "
          "official code scores; |dz|max: max |z_official - z_gcl| after it)",
          flush=True)
    t0 = time.time()
    for epoch in range(args.epochs):
        # ---- official train_scgc_trimPOS_CCSP, one epoch (re-typed) ----
        official.train()
        with torch.no_grad():  # the official no-grad forward for p and scores
            _, tmp_q, _, _, _, _ = official(x, None)
        tmp_q = tmp_q.data
        p_o = off["target_distribution"](tmp_q)
        pred_o = tmp_q.cpu().numpy().argmax(1)
        _, q, _, z_o, _, _ = official(x, None)
        kl = F.kl_div(q.log(), p_o, reduction="batchmean")
        cc = torch.sum(z_o.unsqueeze(1) * F.one_hot(q.detach().argmax(1))
                       .unsqueeze(2), dim=0)
        cc_dis = off["get_feature_dis"](cc)
        nc = off["NcontrastCCSP"](z_o, cc_dis, adj, tau=tau)
        loss_o = beta * kl + alpha * nc
        opt_o.zero_grad()
        loss_o.backward()
        opt_o.step()

        # ---- gcl ----
        ours.train()
        opt_g.zero_grad()
        loss_g = ours(gdata)
        pred_g = ours.assignment_.cpu().numpy()
        loss_g.backward()
        opt_g.step()

        mo, mg = cluster_metrics(y, pred_o), cluster_metrics(y, pred_g)
        rec = dict(epoch=epoch, lo=loss_o.item(), lg=loss_g.item(),
                   kl=kl.item(), nc=nc.item(), acc_o=mo["acc"], nmi_o=mo["nmi"],
                   acc_g=mg["acc"], nmi_g=mg["nmi"], so=sizes(pred_o, K),
                   sg=sizes(pred_g, K),
                   agree=float((pred_o == pred_g).mean()))
        hist.append(rec)
        last = epoch == args.epochs - 1
        if epoch % args.every == 0 or last or epoch < 3:
            with torch.no_grad():  # both after this epoch's update
                dz = (official.ae(x)[4] - ours.encoder(x)).abs().max().item()
            print(f"{epoch:4d} {rec['lo']:10.6f} {rec['lg']:10.6f} "
                  f"{abs(rec['lo'] - rec['lg']):8.1e} {rec['kl']:8.5f} "
                  f"{rec['nc']:8.5f} {rec['acc_o']:6.4f} {rec['nmi_o']:6.4f} "
                  f"{rec['acc_g']:6.4f} {rec['nmi_g']:6.4f} "
                  f"{str(rec['so']):>18} {str(rec['sg']):>18} {dz:8.1e}   "
                  f"[{time.time() - t0:.0f}s]", flush=True)

    def first_below(key, thr=0.5):
        return next((r["epoch"] for r in hist if r[key] < thr), None)

    max_dl = max(abs(r["lo"] - r["lg"]) for r in hist)
    min_agree = min(r["agree"] for r in hist)
    fin = hist[-1]

    def collapsed(s):
        return max(s) >= 0.9 * N

    print(f"\nsummary ({args.dtype}, alpha {alpha}, beta {beta}, "
          f"{args.epochs} epochs):")
    print(f"  max |loss difference| {max_dl:.2e}; min fraction of identical "
          f"argmax-q clusters {min_agree:.4f}")
    for tag, a, n_, s in (("official", "acc_o", "nmi_o", "so"),
                          ("gcl", "acc_g", "nmi_g", "sg")):
        print(f"  {tag:8s}: ACC epoch 0 {hist[0][a]:.4f} -> last {fin[a]:.4f} "
              f"(max {max(r[a] for r in hist):.4f}), NMI {hist[0][n_]:.4f} -> "
              f"{fin[n_]:.4f}; final sizes {fin[s]}; collapsed (>=90% in one "
              f"cluster) {collapsed(fin[s])}; ACC first < 0.5 at epoch "
              f"{first_below(a)}")


if __name__ == "__main__":
    main()
