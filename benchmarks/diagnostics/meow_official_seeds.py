"""Diagnostic: the official MEOW code on ACM or IMDB over more seeds, with
the trap signature of ``benchmarks/notes/meow.md`` (ACM seed 4) logged per
epoch.

Two steps, each in its own process (the official package names ``utils`` and
``module`` are put on ``sys.path``):

``python meow_official_seeds.py run S --code DIR [--dataset D] [--pathsim PKL]``
    runs ``DIR/main.py D --seed S --turn S`` (``D``: ``acm``, the default, or
    ``imdb``, the two data sets the official model embeds with
    ``aggregate_nei_acm``) (``DIR`` is a CPU-patched copy
    of ``jianxiangyu/MEOW``'s ``code_meow``: the patches are listed in the
    notes, "How these numbers were made") with read-only hooks that draw no
    random numbers, so the run is the official one (checked: the losses of
    the first 23 epochs of seed 2 equal an unhooked run's to the printed 6
    decimals):

    * a forward hook on the semantic attention's softmax: $\\beta$ of the four
      fine views (ACM: PAP, PAP masked, PSP, PSP masked; IMDB: MAM, MDM, MKM
      and their masked twins) of every training forward;
    * a wrapper around ``module.contrast.run_kmeans``: per epoch and per
      k-means run (ACM K = 100, 300; IMDB 500, 700), the non-empty
      clusters, the largest cluster and how many of its members are nodes
      whose row of the normalised top-k graph of the last meta-path is
      empty (the nodes no node keeps: 1252 papers of ACM's PSP);
    * the official ``evaluate`` is replaced by a no-op (it takes about six
      minutes on CPU); the embeddings are scored by ``score`` instead;
    * optionally ``pathsim`` returns a pickled output of the official
      ``pathsim`` made on the same numpy (it is deterministic; this saves its
      Python loop over the 4.3 million PSP entries).

    After training it saves the official ``get_embeds()`` (``S.pkl``, the
    fine view of the last training forward) and the clean-graph embedding of
    the model in evaluation mode (``S_eval.pkl``, what gcl's ``MEOW.embed``
    computes), and writes ``rec_D_S.json`` (losses, $\\beta$, clusters).

``python meow_official_seeds.py score S [S ...] --code DIR [--dataset D]``
    (from the repository root, ``PYTHONPATH=.``) scores both embeddings with
    gcl's ``heco`` protocol (50 runs, the official ``eva_lr``: ACM 0.03, IMDB
    0.01; probe seed 0) and prints the record's summary: epochs, the loss
    with and without the constant $\\frac12\\sum_k \\log(N/K_k)$ that the
    official ProtoNCE adds (gcl's
    ``proto_log_offset: false`` leaves it out), and every 20 epochs the
    attention and clusters.
"""
import argparse
import json
import math
import os
import pickle
import runpy
import sys
import time

# official data set name -> gcl's (its config holds the official num_cluster
# and eva_lr)
DATASETS = {"acm": "ACM-HeCo", "imdb": "IMDB-MEOW"}
METRICS = [f"{m}@{r}" for m in ("macro_f1", "micro_f1", "auc")
           for r in (20, 40, 60)]


def run(seed, code, cache, dataset):
    import numpy as np
    import torch
    import torch.nn.functional as F

    os.chdir(code)
    sys.path.insert(0, code)
    sys.argv = ["main.py", dataset, "--seed", str(seed), "--turn", str(seed)]
    import module.contrast as ct
    import module.encoder as enc
    import module.meow as mm
    import module.preprocess as pp
    import utils

    rec = {"seed": seed, "loss": [], "beta": [], "clusters": []}
    state = {}
    official_pathsim = pp.pathsim

    def pathsim(adjs, max_nei):
        if cache:
            with open(cache, "rb") as f:
                top = pickle.load(f)
        else:
            top = official_pathsim(adjs, max_nei)
        last = top[-1].tocoo()
        empty = torch.ones(last.shape[0], dtype=torch.bool)
        empty[torch.from_numpy(np.unique(last.col[last.data != 0])).long()] = False
        state["empty"] = empty
        print("nodes with an empty row in the normalised graph of the last "
              "meta-path:", int(empty.sum()))
        return top

    pp.pathsim = pathsim  # main.py's star import reads it after this

    attention_init = enc.Attention.__init__

    def init(self, *args, **kwargs):
        attention_init(self, *args, **kwargs)
        self.softmax.register_forward_hook(
            lambda m, i, o: state.__setitem__("beta", o.detach().tolist()))

    enc.Attention.__init__ = init

    kmeans = ct.run_kmeans

    def run_kmeans(x, clusters, tau):
        res = kmeans(x, clusters, tau)
        row = []
        for lab in res["im2cluster"]:
            cnt = torch.bincount(lab)
            big = lab == int(cnt.argmax())
            row.append([int((cnt > 0).sum()), int(cnt.max()),
                        int((big & state["empty"]).sum())])
        rec["clusters"].append(row)
        return res

    ct.run_kmeans = run_kmeans

    forward = mm.MEOW.forward

    def hooked(self, feats, mask_feat, mask_adjs, adjs_norm, num_cluster):
        state["model"] = self
        state["inputs"] = (feats, mask_feat, mask_adjs, adjs_norm)
        loss = forward(self, feats, mask_feat, mask_adjs, adjs_norm, num_cluster)
        rec["loss"].append(float(loss))
        rec["beta"].append(state.pop("beta"))
        return loss

    mm.MEOW.forward = hooked
    utils.evaluate = lambda *args, **kwargs: None

    t0 = time.time()
    runpy.run_path("main.py", run_name="__main__")
    rec["seconds"] = time.time() - t0
    model = state["model"]
    feats, mask_feat, mask_adjs, adjs_norm = state["inputs"]
    model.eval()
    with torch.no_grad():
        h_view, h_mask, _ = model.aggregate_nei_acm(feats, mask_feat)
        zs = model.generate_loss(h_view, h_mask, mask_adjs, adjs_norm)
        z = model.att([F.normalize(v, dim=1) for v in zs])
    rec["beta_eval"] = state.pop("beta")
    rec["epochs"] = len(rec["loss"])
    with open(f"embeds/{dataset}/{seed}_eval.pkl", "wb") as f:
        pickle.dump(z.numpy(), f)
    with open(f"rec_{dataset}_{seed}.json", "w") as f:
        json.dump(rec, f)


def score(seeds, code, dataset):
    import torch

    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.eval import heco_protocol

    cfg = load_config("meow", DATASETS[dataset])
    data = load(DATASETS[dataset], **cfg["data"])
    n, ks = data[data.target_node_type].num_nodes, cfg["model"]["num_clusters"]
    off = sum(math.log(n / k) for k in ks) / len(ks)  # the official ProtoNCE's
    lr = cfg["eval"]["lr"]
    for s in seeds:
        with open(os.path.join(code, f"rec_{dataset}_{s}.json")) as f:
            rec = json.load(f)
        loss = rec["loss"]
        best = min(range(len(loss)), key=loss.__getitem__)
        print(f"seed {s}: {len(loss)} epochs ({rec['seconds']:.0f} s), best epoch "
              f"{best + 1}, min loss {loss[best]:.4f} (without the offset "
              f"{off:.4f}: {loss[best] - off:.4f}), final {loss[-1]:.4f} "
              f"({loss[-1] - off:.4f}); eval-mode beta "
              f"{[round(b, 3) for b in rec['beta_eval']]}")
        for e in sorted(set(range(0, len(loss), 20)) | {len(loss) - 1}):
            c = rec["clusters"][e]
            print(f"  epoch {e + 1:4d} loss {loss[e] - off:.4f} beta "
                  f"{[round(b, 3) for b in rec['beta'][e]]} k-means non-empty "
                  f"[{c[0][0]}, {c[1][0]}] largest [{c[0][1]}, {c[1][1]}] of them "
                  f"empty-row nodes [{c[0][2]}, {c[1][2]}]")
        for tag, fname in (("get_embeds", f"{s}.pkl"), ("eval mode", f"{s}_eval.pkl")):
            with open(os.path.join(code, "embeds", dataset, fname), "rb") as f:
                z = torch.from_numpy(pickle.load(f))
            m = heco_protocol(z, None, data=data, runs=50, lr=lr, seed=0).metrics
            print(f"  {tag}: " + " ".join(f"{k} {100 * float(m[k]):.2f}"
                                          for k in METRICS), flush=True)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=["run", "score"])
    p.add_argument("seeds", type=int, nargs="+")
    p.add_argument("--code", required=True, help="CPU-patched code_meow copy")
    p.add_argument("--dataset", choices=sorted(DATASETS), default="acm")
    p.add_argument("--pathsim", help="pickled official pathsim output (optional)")
    a = p.parse_args()
    if a.what == "run":
        run(a.seeds[0], os.path.abspath(a.code), a.pathsim, a.dataset)
    else:
        score(a.seeds, os.path.abspath(a.code), a.dataset)
