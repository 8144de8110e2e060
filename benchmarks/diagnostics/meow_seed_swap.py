"""Diagnostic: gcl's MEOW on ACM (the bench config) with the static masks of
one seed and the training randomness of another.

``python meow_seed_swap.py T S [CK] [PROBE_RUNS] [MAX_EPOCHS]``: the initial
weights, dropout and everything after ``prepare`` come from ``fit(seed=T)``;
the masked features and masked top-k graphs are those ``fit(seed=S)`` draws
(the ``T`` run still draws its own, so its random stream is unchanged, then
they are replaced). Every ``CK`` epochs (default 20) it prints the loss, the
non-empty and largest k-means clusters of the step, the semantic-attention
weights of the four fine views (PAP, PAP masked, PSP, PSP masked) and the
Macro-F1 of the eval-mode embedding with ``PROBE_RUNS`` (default 5) probe
runs; at the end, the heco protocol with 50 runs. ``T == S`` is the bench run.
See ``benchmarks/notes/meow.md`` (seed 4).
"""
import random
import sys
import time

import numpy as np
import torch
from torch_geometric import seed_everything

from gcl.app.config import load_config
from gcl.datasets import load
from gcl.eval import heco_protocol
from gcl.methods import build_method
from gcl.train import fit

T, S = int(sys.argv[1]), int(sys.argv[2])
CK = int(sys.argv[3]) if len(sys.argv) > 3 else 20
PR = int(sys.argv[4]) if len(sys.argv) > 4 else 5
EP = int(sys.argv[5]) if len(sys.argv) > 5 else None

cfg = load_config("meow", "ACM-HeCo")
data = load("ACM-HeCo", **cfg["data"])


def make():
    return build_method("meow", data.num_features, **cfg["model"])


method = make()
attn_forward = method.attention.forward
beta = {}


def attention(embeds, return_attention=False):
    z, b = attn_forward(embeds, return_attention=True)
    beta["b"] = b.detach()
    return (z, b) if return_attention else z


method.attention.forward = attention

if S != T:
    other = make()
    seed_everything(S)
    other.reset_parameters()
    other.prepare(data)
    g_s = other.graph_
    build = method.build_graph

    def build_graph(d):
        g = dict(build(d))  # draws T's masks: T's random stream is unchanged
        g["masked"], g["x_mask"] = g_s["masked"], g_s["x_mask"]
        return g

    method.build_graph = build_graph


def f1(z, runs):
    m = heco_protocol(z, None, data=data, runs=runs, lr=0.03, seed=T).metrics
    return " ".join(f"{100 * m[k]:.2f}" for k in
                    ("macro_f1@20", "macro_f1@40", "macro_f1@60"))


step, count = method.step, [0]


def checked_step(d):
    rec = step(d)
    count[0] += 1
    if count[0] % CK == 0 or count[0] == 1:
        states = torch.get_rng_state(), np.random.get_state(), random.getstate()
        protos = method.prototypes_
        sizes = [torch.bincount(lab, minlength=k)
                 for lab, k in zip(protos.labels, method.num_clusters)]
        z = method.embed(d)
        print(f"   beta(eval) {[round(float(x), 3) for x in beta['b']]}", flush=True)
        print(f"ep {count[0]:4d} loss {float(rec.loss):.4f} clusters nonempty "
              f"{[int((s > 0).sum()) for s in sizes]} max "
              f"{[int(s.max()) for s in sizes]} | probe({PR}) F1 {f1(z, PR)}",
              flush=True)
        torch.set_rng_state(states[0])
        np.random.set_state(states[1])
        random.setstate(states[2])
    return rec


method.step = checked_step
t = cfg["train"]
t0 = time.time()
h = fit(method, data, epochs=EP or t["epochs"], lr=t["lr"],
        weight_decay=t["weight_decay"], seed=T, monitor="loss",
        patience=t["patience"], restore_best=False, progress=False)
print(f"T={T} S={S}: {len(h.loss)} epochs, best epoch {h.best_epoch}, min loss "
      f"{min(h.loss):.4f} final {h.loss[-1]:.4f}, {time.time() - t0:.0f}s", flush=True)
print("loss every 5:", " ".join(f"{v:.3f}" for v in h.loss[::5]), flush=True)
print(f"FINAL eval-mode z, 50 runs: {f1(method.embed(data), 50)}", flush=True)
