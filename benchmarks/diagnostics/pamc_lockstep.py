"""Diagnostic: gcl's PamC against the official gayanku/PAMC training loop
(model ``SCGC_TRIMPOSCCSP``), in lockstep, from the same starting weights,
on ACM-SDCN or Citeseer-SDCN (``--dataset``).

Question: on ACM-SDCN with the official settings and gcl's own pre-trained
SDCN autoencoder, gcl's PamC collapses to almost one cluster within about
20 epochs. Does the official code do the same from the same weights (the
method's dynamics), or is it a gcl difference? And over several seeds
(``--seeds``), what does the official loop score next to gcl?

What is shared: gcl's cached pre-trained autoencoder (its encoder exported
to SDCN's key names and loaded by the official ``SCGC_TRIM(load_from=...)``),
the k-means centres gcl's ``prepare`` fits (copied into the official
``cluster_layer``), the features (``gcl.datasets.load(<dataset>,
normalize=None)``) and the graph file (SDCN's ``acm_graph.txt`` or
``cite_graph.txt``). gcl's model is prepared exactly as ``gcl.fit(seed=s)``
prepares it (``seed_everything(s)``, ``reset_parameters``, ``prepare``), so
the seed fixes the k-means initialisation as in ``gcl bench`` runs; the
official model is built after that and draws nothing gcl would. Each model
has its own Adam (lr 1e-3) and both train for the same epochs.

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
as the official ``--data_path`` (``graph/<name>_graph.txt``, and a dummy
``data/<name>.txt`` from which it only reads N; ``<name>`` is ``acm`` or
``cite``, with ``--k`` unset as the official code sets it for both). The
official Gamma (R = 1 on ACM, R = 3 on Citeseer, cumulative) is compared
with ``gcl.losses.influence_matrix`` before training.

Scoring: the official side is scored with the official ``eva`` and
``cluster_acc`` (``evaluation.py``, extracted the same way; they need
``munkres``, e.g. ``pip install --target /tmp/pamc_deps munkres`` and
``/tmp/pamc_deps`` on ``PYTHONPATH``; without it gcl's
``cluster_metrics(fill_missing=True)``, which reproduces ``eva``, stands
in), gcl's with ``gcl.eval.cluster_metrics`` as ``gcl bench`` scores it.
Both score the clusters of every epoch before its update (what the official
code scores). ``max_over_epochs`` is each metric's maximum over the epochs
(the official ``np.max`` per metric); ``final`` is the model after the last
update (gcl's ``final`` rule; the official code reports no such value).

The official code is not part of this repository: pass a checkout::

    mkdir -p /tmp/pamc_official
    git -C <PAMC git dir> archive HEAD | tar -x -C /tmp/pamc_official
    python benchmarks/diagnostics/pamc_lockstep.py --official /tmp/pamc_official
    python benchmarks/diagnostics/pamc_lockstep.py --official /tmp/pamc_official \
        --dataset Citeseer-SDCN --dtype float32 --seeds 0 1 2 3 4 --every 0

Per epoch it records both losses (the official one split into KL and
NcontrastCCSP), the ACC/NMI/ARI/macro-F1 of argmax q of each model before
its update, the cluster sizes, and prints a table every ``--every`` epochs
and a summary per seed (with gcl's ``gcl bench`` record of that seed from
``benchmarks/runs/pamc`` when there is one). With ``--seeds`` it ends with
a markdown table, per seed and mean +- std (population), official vs gcl,
under both rules, and the CPU seconds of each side's training.

Logs: ``pamc_lockstep_ACM.log`` (float64, made before the seed followed
``gcl.fit``: its seed 42 drew other centres than this script's seed 42)
and ``pamc_lockstep_Citeseer.log``.
"""

import ast
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch_geometric import seed_everything

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
EVAL_FUNCS = ("cluster_acc", "eva")
SDCN_NAMES = {"ACM-SDCN": "acm", "Citeseer-SDCN": "cite"}
METRICS = ("acc", "nmi", "ari", "macro_f1")
RULES = ("max_over_epochs", "final")
RUNS = Path(__file__).resolve().parents[1] / "runs" / "pamc"
SCGC_TRIM = None  # the official model, imported from --official in main()


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


def official_scorer(folder):
    """The official ``eva`` (``evaluation.py``: ``munkres`` for the cluster
    map, SDCN's relabelling of absent classes) when ``munkres`` can be
    imported, else gcl's ``cluster_metrics(fill_missing=True)``, which
    reproduces it. Returns ``(score, name)``; ``score(y, pred)`` gives a dict
    like ``cluster_metrics``."""
    try:
        from munkres import Munkres
    except ImportError:
        return (lambda y, pred: cluster_metrics(y, pred, fill_missing=True),
                "gcl cluster_metrics(fill_missing=True) (munkres not found)")
    from sklearn import metrics
    from sklearn.metrics import adjusted_rand_score
    from sklearn.metrics.cluster import normalized_mutual_info_score
    ns = {"np": np, "Munkres": Munkres, "metrics": metrics,
          "nmi_score": normalized_mutual_info_score,
          "ari_score": adjusted_rand_score}
    extract(os.path.join(folder, "evaluation.py"), EVAL_FUNCS, ns)

    def score(y, pred):
        # eva relabels its argument in place (the official Z scores see it)
        acc, nmi, ari, f1 = ns["eva"](y, pred.copy(), verbosity=0)
        return {"acc": acc, "nmi": nmi, "ari": ari, "macro_f1": f1}
    return score, "official evaluation.eva (munkres)"


def sdcn_layout(tmp, name, graph, n):
    """A folder laid out as the official ``--data_path``: ``graph/<name>
    _graph.txt`` (a link to SDCN's file) and a dummy ``data/<name>.txt``
    from which ``load_graph`` only reads N."""
    os.makedirs(os.path.join(tmp, "graph"))
    os.makedirs(os.path.join(tmp, "data"))
    os.symlink(os.path.abspath(graph),
               os.path.join(tmp, "graph", f"{name}_graph.txt"))
    np.savetxt(os.path.join(tmp, "data", f"{name}.txt"), np.zeros((n, 2)),
               fmt="%d")


def recorded(dataset, seed):
    """gcl's benchmark record of this seed (``gcl bench`` run), if any:
    ``{"final": metrics, "max_over_epochs": metrics}``."""
    path = RUNS / dataset / "config" / f"seed{seed}.json"
    if not path.is_file():
        return None
    rec = json.loads(path.read_text())
    return {"final": rec["metrics"],
            "max_over_epochs": rec["tasks"]["max_over_epochs"]["metrics"]}


def run(setup, seed, args):
    """One seed: gcl's PamC prepared as ``gcl.fit(seed=seed)`` prepares it
    (the seed fixes the k-means initialisation), the official model from
    the same encoder and centres, both trained side by side."""
    cfg, data, off, adj, score_off = (setup[k] for k in
                                      ("cfg", "data", "off", "adj", "score"))
    m = cfg["model"]
    alpha, beta, tau, K = m["alpha"], m["beta"], m["tau"], m["num_clusters"]
    dtype = getattr(torch, args.dtype)
    y = data.y.numpy()
    N, F_in = data.x.shape

    # gcl, exactly as run_config + fit(seed=...): build, seed_everything,
    # reset_parameters, prepare (the cached autoencoder; k-means seeded from
    # torch's RNG), in float32 (the cached autoencoder's key)
    torch.set_default_dtype(torch.float32)
    ours = build_method(cfg, F_in)
    seed_everything(seed)
    ours.reset_parameters()
    ours.prepare(data)

    # official model from the same encoder weights (load_from a state dict),
    # created after gcl's prepare so that it draws nothing gcl would
    pkl = os.path.join(setup["tmp"], f"ae_seed{seed}.pkl")
    torch.save(sdcn_state_dict(ours.encoder.state_dict()), pkl)
    official = SCGC_TRIM(500, 500, 2000, 2000, 500, 500, n_input=F_in,
                         n_z=m["out_channels"], n_clusters=K, load_from=pkl,
                         mode="full", v=1.0)
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
    gdata = data.clone()
    gdata.x = x
    # the official NcontrastCCSP and get_feature_dis create float tensors
    # (torch.zeros, torch.eye) in the default dtype
    torch.set_default_dtype(dtype)

    opt_o, opt_g = common.adam_pair(official, ours, lr=cfg["train"]["lr"])
    hist = []
    verbose = args.every > 0
    print(f"\n== seed {seed}: start max |weight difference| {dw:.1e}",
          flush=True)
    if verbose:
        print(f"{'ep':>4} {'loss_off':>10} {'loss_gcl':>10} {'|dL|':>8} "
              f"{'KL_off':>8} {'NC_off':>8} {'ACC_o':>6} {'NMI_o':>6} "
              f"{'ACC_g':>6} {'NMI_g':>6} {'sizes_off':>24} "
              f"{'sizes_gcl':>24} {'|dz|max':>8}", flush=True)
    cpu = {"official": 0.0, "gcl": 0.0}
    for epoch in range(args.epochs):
        # ---- official train_scgc_trimPOS_CCSP, one epoch (re-typed) ----
        t = time.process_time()
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
        cpu["official"] += time.process_time() - t

        # ---- gcl (one step of gcl.fit) ----
        t = time.process_time()
        ours.train()
        opt_g.zero_grad()
        loss_g = ours(gdata)
        pred_g = ours.assignment_.cpu().numpy()
        loss_g.backward()
        opt_g.step()
        cpu["gcl"] += time.process_time() - t

        # each scored as its own code scores (before the epoch's update)
        mo, mg = score_off(y, pred_o), cluster_metrics(y, pred_g)
        rec = dict(epoch=epoch, lo=loss_o.item(), lg=loss_g.item(),
                   kl=kl.item(), nc=nc.item(), mo=mo, mg=mg,
                   so=sizes(pred_o, K), sg=sizes(pred_g, K),
                   agree=float((pred_o == pred_g).mean()))
        hist.append(rec)
        last = epoch == args.epochs - 1
        if verbose and (epoch % args.every == 0 or last or epoch < 3):
            with torch.no_grad():  # both after this epoch's update
                dz = (official.ae(x)[4] - ours.encoder(x)).abs().max().item()
            print(f"{epoch:4d} {rec['lo']:10.6f} {rec['lg']:10.6f} "
                  f"{abs(rec['lo'] - rec['lg']):8.1e} {rec['kl']:8.5f} "
                  f"{rec['nc']:8.5f} {mo['acc']:6.4f} {mo['nmi']:6.4f} "
                  f"{mg['acc']:6.4f} {mg['nmi']:6.4f} "
                  f"{str(rec['so']):>24} {str(rec['sg']):>24} {dz:8.1e}   "
                  f"[cpu {cpu['official'] + cpu['gcl']:.0f}s]", flush=True)

    # the trained models (gcl's "final" rule: predict after the last update)
    with torch.no_grad():
        pred_fo = official(x, None)[1].cpu().numpy().argmax(1)
    pred_fg = ours.predict(gdata).cpu().numpy()
    out = {"seed": seed, "hist": hist, "cpu": cpu,
           "official": {"final": score_off(y, pred_fo),
                        "max_over_epochs": {k: max(r["mo"][k] for r in hist)
                                            for k in METRICS},
                        "sizes": sizes(pred_fo, K)},
           "gcl": {"final": cluster_metrics(y, pred_fg),
                   "max_over_epochs": {k: max(r["mg"][k] for r in hist)
                                       for k in METRICS},
                   "sizes": sizes(pred_fg, K)},
           "record": recorded(cfg["dataset"], seed)}
    summarise(out, args, N)
    return out


def summarise(out, args, n):
    hist = out["hist"]
    finite = [r for r in hist if np.isfinite(r["lo"]) and np.isfinite(r["lg"])]
    max_dl = max((abs(r["lo"] - r["lg"]) for r in finite), default=float("nan"))
    agree = [r["agree"] for r in hist]
    diverge = next((r["epoch"] for r in hist if r["agree"] < 1.0), None)
    nan = {k: next((r["epoch"] for r in hist if not np.isfinite(r[k])), None)
           for k in ("lo", "lg")}
    print(f"seed {out['seed']} summary ({args.dtype}, {args.epochs} epochs; "
          f"CPU s: official {out['cpu']['official']:.0f}, gcl "
          f"{out['cpu']['gcl']:.0f}):")
    print(f"  max |loss difference| {max_dl:.2e} (over the {len(finite)} "
          f"epochs where both are finite); first epoch with a NaN loss: "
          f"official {nan['lo']}, gcl {nan['lg']}; identical argmax-q "
          f"clusters min {min(agree):.4f}, last {agree[-1]:.4f}; first epoch "
          f"with any different cluster: {diverge}")
    for tag, key in (("official", "mo"), ("gcl", "mg")):
        r = out[tag]
        acc = [h[key]["acc"] for h in hist]
        first = next((h["epoch"] for h in hist if h[key]["acc"] < 0.5), None)
        print(f"  {tag:8s}: max_over_epochs "
              f"{fmt(r['max_over_epochs'])} (ACC best at epoch "
              f"{int(np.argmax(acc))}); final {fmt(r['final'])}; final sizes "
              f"{r['sizes']}; collapsed (>=90% in one cluster) "
              f"{max(r['sizes']) >= 0.9 * n}; ACC first < 0.5 at epoch {first}")
    if out["record"] is not None:
        r = out["record"]
        print(f"  gcl bench record (benchmarks/runs): max_over_epochs "
              f"{fmt(r['max_over_epochs'])}; final {fmt(r['final'])}")
    sys.stdout.flush()


def fmt(m):
    return " / ".join(f"{100 * m[k]:.2f}" for k in METRICS)


def table(outs):
    """Markdown table: ACC / NMI / ARI / F1 per seed and mean ± std
    (population, as ``gcl bench``), official vs gcl, both rules."""
    lines = ["| seed | rule | official ACC / NMI / ARI / F1 | gcl ACC / NMI / "
             "ARI / F1 | gcl - official ACC, NMI |", "|---|---|---|---|---|"]
    for rule in RULES:
        for o in outs:
            a, b = o["official"][rule], o["gcl"][rule]
            lines.append(f"| {o['seed']} | {rule} | {fmt(a)} | {fmt(b)} | "
                         f"{100 * (b['acc'] - a['acc']):+.2f}, "
                         f"{100 * (b['nmi'] - a['nmi']):+.2f} |")
        cells = []
        for side in ("official", "gcl"):
            vals = {k: 100 * np.array([o[side][rule][k] for o in outs])
                    for k in METRICS}
            cells.append(" / ".join(f"{v.mean():.2f} ± {v.std():.2f}"
                                    for v in vals.values()))
        d = {k: 100 * np.mean([o["gcl"][rule][k] - o["official"][rule][k]
                               for o in outs]) for k in ("acc", "nmi")}
        lines.append(f"| mean ± std | {rule} | {cells[0]} | {cells[1]} | "
                     f"{d['acc']:+.2f}, {d['nmi']:+.2f} |")
    return "\n".join(lines)


def main():
    p = common.lockstep_parser(
        __doc__, "folder with the official models.py, train.py, utils.py, "
        "evaluation.py", seed=42, dtype="float64")
    p.add_argument("--dataset", choices=sorted(SDCN_NAMES), default="ACM-SDCN")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="run these seeds one after the other and print the "
                   "summary table (instead of the one --seed)")
    p.add_argument("--graph", default=None,
                   help="SDCN's <name>_graph.txt (default: "
                   "$GCL_DATA/sdcn/<name>/)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--every", type=int, default=10,
                   help="print the per-epoch table every this many epochs "
                   "(0: only the summaries)")
    p.add_argument("--alpha", type=float, default=None,
                   help="override the config's alpha (PamC term)")
    p.add_argument("--beta", type=float, default=None,
                   help="override the config's beta (KL term)")
    args = p.parse_args()
    torch.set_default_dtype(torch.float32)

    sys.path.insert(0, args.official)
    global SCGC_TRIM
    from models import SCGC_TRIM  # the official model
    off = official_functions(args.official)
    score, score_name = official_scorer(args.official)

    cfg = load_config("pamc", args.dataset)
    if args.alpha is not None:
        cfg["model"]["alpha"] = args.alpha
    if args.beta is not None:
        cfg["model"]["beta"] = args.beta
    m = cfg["model"]
    seeds = args.seeds if args.seeds is not None else [args.seed]
    print(f"PamC lockstep, {args.dataset}: alpha {m['alpha']}, beta "
          f"{m['beta']}, tau {m['tau']}, order {m['order']} (cumulative "
          f"{m['cumulative']}), lr {cfg['train']['lr']}, {args.epochs} "
          f"epochs, {args.dtype}, seeds {seeds}", flush=True)
    print(f"official scores: {score_name}; gcl scores: gcl cluster_metrics "
          "(as gcl bench)", flush=True)

    data = load(args.dataset, normalize=cfg["data"].get("normalize"))
    N = data.num_nodes

    # the official graph builder on the official file
    name = SDCN_NAMES[args.dataset]
    graph = args.graph or os.path.join(
        os.environ.get("GCL_DATA", "data"), "sdcn", name, f"{name}_graph.txt")
    tmp = tempfile.mkdtemp(prefix="pamc_lockstep_")
    sdcn_layout(tmp, name, graph, N)
    adj = off["load_graph"](tmp, name, None)
    adj = off["get_A_r_flexSP"](adj, m["order"], cumulative=m["cumulative"])
    gi, gv = influence_matrix(data.edge_index, N, m["order"], m["cumulative"])
    G_gcl = torch.sparse_coo_tensor(gi, gv.double(), (N, N)).coalesce()
    G_off = adj.double().coalesce()  # adj itself stays as built
    same_support = (G_gcl.indices().shape == G_off.indices().shape
                    and torch.equal(G_gcl.indices(), G_off.indices()))
    dG = (G_gcl - G_off).coalesce().values().abs().max().item()
    print(f"Gamma: official nnz {G_off._nnz()} (as built {adj._nnz()}, "
          f"coalesced {adj.is_coalesced()}), gcl nnz {G_gcl._nnz()}, same "
          f"support {same_support}, max |difference| {dG:.2e}", flush=True)
    if args.every > 0:
        print("(per-epoch table: losses, scores and sizes before the epoch's "
              "update, as the official code scores; |dz|max: max |z_official"
              " - z_gcl| after it)", flush=True)

    setup = {"cfg": cfg, "data": data, "off": off, "adj": adj,
             "score": score, "tmp": tmp}
    outs = [run(setup, s, args) for s in seeds]
    if len(outs) > 1:
        print(f"\n{args.dataset}, {args.dtype}, {args.epochs} epochs, seeds "
              f"{seeds}: ACC / NMI / ARI / macro-F1 in %, official ({score_name})"
              f" vs gcl; max_over_epochs: each metric's maximum over the "
              f"epochs (scored before each update); final: the trained model")
        print(table(outs))
        cpu = {k: [o["cpu"][k] for o in outs] for k in ("official", "gcl")}
        print(f"CPU seconds per run (training only): official "
              f"{np.mean(cpu['official']):.0f}, gcl {np.mean(cpu['gcl']):.0f}")
        recs = [o for o in outs if o["record"] is not None]
        if recs:
            dev = max(abs(o["record"][r][k] - o["gcl"][r][k])
                      for o in recs for r in RULES for k in METRICS)
            print(f"gcl here vs gcl bench records (benchmarks/runs), seeds "
                  f"{[o['seed'] for o in recs]}: max |difference| "
                  f"{100 * dev:.2f} points over metrics and rules")


if __name__ == "__main__":
    main()
