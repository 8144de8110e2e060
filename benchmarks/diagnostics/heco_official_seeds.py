"""Diagnostic: the official HeCo code trained on a data set for given seeds,
its embeddings scored with gcl's ``heco`` protocol and the official
``evaluate``.

Question: gcl's HeCo on AMiner at seed 0 scores Macro-F1 66.92 / 72.29 /
74.72 at 20 / 40 / 60 labels per class, the paper 71.38 / 73.75 / 75.80.
Does the official code score the same on this machine?

What is official: the model package ``code/module/``, ``load_data``,
``evaluate`` and ``LogReg`` (``code/utils/``) and the data set's
``<set>_params`` of a HeCo checkout (``liun-online/HeCo``), loaded with the
in-memory patches of ``heco_method_lockstep.py`` (printed at the start;
here the normalised meta-path graphs stay float32 as in the official
loader, and the one-hot features stay sparse, which is exact: see that
script), plus ``from .logreg import LogReg`` dropped from ``evaluate.py``.
The model runs in float32, as the official one. The training loop of
``main.py`` is re-typed (``main.py`` cannot be imported: it trains when
run): seeds (numpy, random, torch) from ``--seeds``, ``load_data``,
``HeCo(...)``, Adam(``lr``, ``l2_coef``), then per epoch the forward, early
stopping on the training loss (a lower loss saves the weights and resets
the wait, otherwise the wait grows; at ``patience`` the loop stops before
that epoch's update), backward, step; then the lowest-loss weights are
reloaded (kept in memory instead of ``HeCo_<set>.pkl``), the model is put in
evaluation mode and ``get_embeds`` gives the embeddings. The dropout and the
neighbour samples draw from the CPU generators (the official runs drew
dropout on CUDA), so a seed here is not the seed of a GPU run.

Scoring: gcl's ``gcl.eval.heco_protocol`` with the config's ``eval`` block
(AMiner: 50 runs, lr 0.01, weight decay 0) and the probe seed equal to the
training seed (what ``gcl bench`` does with ``seed``), and the official
``evaluate`` for each split (``eva_lr``, ``eva_wd``; its ``result_*.txt``
goes to a temporary folder). The official evaluate is slow (two sklearn
F1 scores per probe epoch: about 12 minutes per seed here), so it runs
after all seeds are trained and scored by gcl, each from the torch
generator state its training ended with (as in ``main.py``). Progress
(epoch, loss, best) is printed every ``--every`` epochs; the embeddings
are saved as ``<save>/<set>_<seed>.pt``.

Run it (one thread; AMiner: 7-10 s per epoch on a loaded 2-core CPU, so
several hours per seed for the ~1300 epochs gcl's seed 0 needed)::

    mkdir -p /tmp/heco_official
    git -C <HeCo git dir> archive HEAD code | tar -x -C /tmp/heco_official
    OMP_NUM_THREADS=1 GCL_DATA=<data root> PYTHONPATH=. python \\
        benchmarks/diagnostics/heco_official_seeds.py \\
        --official /tmp/heco_official --dataset aminer --seeds 0 4

On a GPU (``--device cuda``) the model, features, meta-path graphs and
positives move there and each neighbour sample follows them, as the
official ``main.py`` does when CUDA is available; dropout then draws from
the CUDA generator, so a seed's run differs from its CPU run (as the
official GPU runs did). ``benchmarks/gpu/README.md`` has the device
command for several AMiner seeds side by side.

Exact speed-ups (same numbers; checked on ACM: the losses and scores of a
3-epoch run are the same with and without them): ``Contrast`` densifies
``pos`` once (``SPEED_PATCHES``) instead of twice per step, and the
sampler gets the neighbour lists as numpy arrays (``np.random.choice``
converts its argument to an array first, so the draws are the same).
With ``--resume`` a run continues from its last checkpoint
(``<save>/<set>_<seed>.ckpt``, written every ``--every`` epochs with the
generator states), exactly: on ACM, a run stopped at epoch 2 and resumed
gave the losses and scores of an uninterrupted run.

Result (``heco_official_seeds_AMiner.log``, seed 0, 2026-11-28): the
official code trained 1831 epochs over four sessions, resumed from its
checkpoint each time (its losses repeat those of an earlier, stopped
attempt at every epoch both reached), and early-stopped with the lowest
loss 5.1016 at epoch 1790 (gcl's ten seeds: 1220-3426 epochs, final
losses 5.013-5.127). Its embeddings score Macro-F1 **71.25 / 72.82 /
76.59** with gcl's protocol and **71.11 / 72.92 / 76.69** with the
official ``evaluate`` (paper 71.38 / 73.75 / 75.80); the two scorers
agree within 0.15 on the same embeddings. gcl's seeds give 66.06-72.99
at 20 labels per class (mean of ten 69.76): the official run falls
inside that spread, above seven of the ten. Seed 1 (2026-11-29, 1132
epochs, lowest loss 5.1061 at epoch 1091) scores **70.52 / 73.79 /
76.49** with gcl's protocol, also above seven of gcl's ten at 20 labels.
Seed 2 (2026-11-29, 1050 epochs, lowest loss 5.1077 at epoch 1009) scores
**68.87 / 71.58 / 74.71**, above two of gcl's ten. The three official runs
average 70.21 / 72.73 / 75.93 against gcl's 69.76 / 73.35 / 75.23 (Welch
p 0.67 / 0.46 / 0.40; ``benchmarks/notes/heco.md``); seed 4 (the official
``params.py`` seed) was not run (about 2.3 hours on an uncontended CPU
thread).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import sys
import tempfile
import time

import numpy as np
import torch

from gcl.app.config import load_config, protocol_options
from gcl.datasets import load
from gcl.eval import heco_protocol

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as common  # noqa: E402
import heco_method_lockstep as lockstep  # noqa: E402

METRICS = [f"{m}@{r}" for m in ("macro_f1", "micro_f1", "auc")
           for r in (20, 40, 60)]
EVAL_PATCHES = {"code/utils/evaluate.py": [("from .logreg import LogReg", "")]}
#: Exact speed-ups: ``Contrast`` densifies the same ``pos`` twice per step;
#: ``DENSE`` does it once per tensor and keeps the result.
SPEED_PATCHES = {"code/module/contrast.py": [("pos.to_dense()", "DENSE(pos)")]}
#: The official sampler moves each drawn neighbour matrix to the GPU
#: (``.cuda()`` in ``sc_encoder.py``, which the lockstep's patch replaced by
#: a capture); here it moves to ``DEVICE`` (``--device``; a no-op on the CPU).
DEVICE_PATCHES = {"code/module/sc_encoder.py": [
    ("SAMPLES.append(sele_nei)", "sele_nei = sele_nei.to(DEVICE)")]}


def dense_once():
    """``pos.to_dense()``, computed once per ``pos`` tensor."""
    memo = {}

    def dense(pos):
        if id(pos) not in memo:
            memo[id(pos)] = (pos, pos.to_dense())
        return memo[id(pos)][1]
    return dense


def load_evaluate(root: str, ns: dict) -> None:
    """Adds the official ``LogReg`` and ``evaluate`` to ``ns``."""
    for rel in ("code/utils/logreg.py", "code/utils/evaluate.py"):
        src = common.read_official(root, rel, EVAL_PATCHES.get(rel, []))
        exec(compile(src, rel, "exec"), ns)


CPU = torch.device("cpu")


def train(ns, params, seed, max_epochs, every, log, ckpt=None, resume=False,
          device=CPU):
    """``main.py``'s ``train()`` up to ``get_embeds``; returns the
    embeddings (on the CPU), the loaded data and a summary. Every ``every``
    epochs the whole state (weights, Adam, best weights, counters, the
    torch / CUDA / numpy / random generators) is saved to ``ckpt`` before
    the epoch's forward, so that ``resume`` continues exactly where the
    saved run was. On a GPU ``device``, the model, features, meta-path
    graphs and positives move there as in ``main.py`` (which also seeds
    CUDA with the seed), and each neighbour sample follows them
    (``DEVICE_PATCHES``)."""
    model, loaded = lockstep.official_setup(ns, params, seed)
    nei_index, feats, mps, pos = loaded[:4]
    if device.type == "cuda":
        torch.cuda.manual_seed(seed)
        model.to(device)
        feats = [f.to(device) for f in feats]
        mps = [m.to(device) for m in mps]
        pos = pos.to(device)
    # np.random.choice turns its argument into an array first: numpy arrays
    # give the same draws as the official LongTensors, without the copies.
    nei_np = [[v.numpy() for v in per_type] for per_type in nei_index]
    opt = torch.optim.Adam(model.parameters(), lr=params.lr,
                           weight_decay=params.l2_coef)
    cnt_wait, best, best_t, best_state = 0, 1e9, 0, None
    epochs = min(params.nb_epochs, max_epochs or params.nb_epochs)
    t0 = time.time()
    losses, start, spent = [], 0, 0.0
    if resume and ckpt and os.path.exists(ckpt):
        st = torch.load(ckpt, weights_only=False)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        cnt_wait, best, best_t, best_state = (st["cnt_wait"], st["best"],
                                              st["best_t"], st["best_state"])
        losses, start, spent = st["losses"], st["epoch"], st["seconds"]
        torch.set_rng_state(st["torch_rng"])
        if st.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(st["cuda_rng"], device)
        np.random.set_state(st["np_rng"])
        random.setstate(st["py_rng"])
        log(f"  seed {seed}: resumed from {ckpt} at epoch {start} "
            f"({spent:.0f}s spent before)")
    t0 -= spent
    for epoch in range(start, epochs):
        if ckpt and epoch % every == 0 and epoch > start:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "cnt_wait": cnt_wait, "best": best, "best_t": best_t,
                        "best_state": best_state, "losses": losses,
                        "epoch": epoch, "seconds": time.time() - t0,
                        "torch_rng": torch.get_rng_state(),
                        "cuda_rng": (torch.cuda.get_rng_state(device)
                                     if device.type == "cuda" else None),
                        "np_rng": np.random.get_state(),
                        "py_rng": random.getstate()}, ckpt + ".tmp")
            os.replace(ckpt + ".tmp", ckpt)
        model.train()
        opt.zero_grad()
        ns["SAMPLES"].clear()
        with lockstep.quiet():
            loss = model(feats, pos, mps, nei_np)
        losses.append(loss.item())
        if loss < best:
            best, best_t, cnt_wait = loss.item(), epoch, 0
            best_state = {k: v.detach().clone()
                          for k, v in model.state_dict().items()}
        else:
            cnt_wait += 1
        stop = cnt_wait == params.patience
        if epoch % every == 0 or stop:
            log(f"  seed {seed} epoch {epoch:5d} loss {loss.item():.6f} best "
                f"{best:.6f} (epoch {best_t}) wait {cnt_wait}/{params.patience} "
                f"[{time.time() - t0:.0f}s]")
        if stop:
            log(f"  seed {seed}: early stopping at epoch {epoch}")
            break
        loss.backward()
        opt.step()
    ns["SAMPLES"].clear()
    log(f"  seed {seed}: loading epoch {best_t} (loss {best:.6f}); "
        f"{len(losses)} forward passes, {time.time() - t0:.0f}s")
    if ckpt and os.path.exists(ckpt):
        os.remove(ckpt)
    model.load_state_dict(best_state)
    model.eval()
    with lockstep.quiet():
        embeds = model.get_embeds(feats, mps).cpu()
    summary = {"epochs": len(losses), "best_epoch": best_t, "best_loss": best,
               "seconds": time.time() - t0}
    return embeds, loaded, summary


def official_scores(ns, params, embeds, loaded, log):
    """The official ``evaluate`` for every split, its printout logged."""
    label, idx_train, idx_val, idx_test = loaded[4:]
    nb_classes = label.shape[-1]
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            for i in range(len(idx_train)):
                out = io.StringIO()
                with contextlib.redirect_stdout(out):
                    ns["evaluate"](embeds, params.ratio[i], idx_train[i],
                                   idx_val[i], idx_test[i], label, nb_classes,
                                   torch.device("cpu"), params.dataset,
                                   params.eva_lr, params.eva_wd)
                log(f"  official evaluate, {params.ratio[i]} labels per class: "
                    f"{out.getvalue().strip()}")
        finally:
            os.chdir(cwd)


def main():
    p = common.lockstep_parser(__doc__, "HeCo checkout (code/)", seed=None)
    p.add_argument("--dataset", choices=list(lockstep.SETS), default="aminer")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--data", help="folder holding the official <set>/ folders "
                   "(default: $GCL_DATA/heco)")
    p.add_argument("--every", type=int, default=50, help="progress every N epochs")
    p.add_argument("--max-epochs", type=int, default=None,
                   help="cap on the epochs (default: params.py's nb_epochs)")
    p.add_argument("--resume", action="store_true",
                   help="continue from <save>/<set>_<seed>.ckpt where one exists")
    p.add_argument("--no-official-eval", action="store_true",
                   help="skip the official evaluate")
    p.add_argument("--save", default=os.path.join(tempfile.gettempdir(),
                                                  "heco_official_embeds"),
                   help="folder for the embeddings (outside the repository)")
    p.add_argument("--device", default="cpu",
                   help="cpu (default) or cuda: train where the official "
                   "main.py does when a GPU is present; scoring stays on the CPU")
    args = p.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device is available")

    def log(msg):
        print(msg, flush=True)

    data_root = args.data or os.path.join(os.environ.get("GCL_DATA", "."), "heco")
    params = lockstep.official_params(args.official, args.dataset)
    cfg = load_config("heco", lockstep.SETS[args.dataset])
    eval_kw = protocol_options(cfg["eval"])
    log(f"torch {torch.__version__}, numpy {np.__version__}, float32, data set "
        f"{args.dataset}, seeds {args.seeds}, {torch.get_num_threads()} thread(s), "
        f"device {device}"
        + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda"
           else "") + f", data {data_root}")
    common.log_patches({**lockstep.PATCHES, **EVAL_PATCHES}, log)
    common.log_patches({**SPEED_PATCHES, **DEVICE_PATCHES}, log)
    log("SPARSE_DTYPE = float32 (the official value)")
    log("official params: " + ", ".join(f"{k}={v}" for k, v in vars(params).items()))
    log(f"gcl protocol heco with the config's eval block {eval_kw}, probe seed = "
        f"training seed")
    data = load(cfg["dataset"], **cfg["data"], metapaths=False, positives=False)
    os.makedirs(args.save, exist_ok=True)
    rows, evals = [], []
    for seed in args.seeds:
        ns = lockstep.load_official(args.official, data_root,
                                    sparse_dtype=np.float32,
                                    extra={**SPEED_PATCHES, **DEVICE_PATCHES})
        ns["DEVICE"] = device
        ns["DENSE"] = dense_once()
        load_evaluate(args.official, ns)
        log(f"seed {seed}: training (random.seed, np.random.seed, "
            f"torch.manual_seed = {seed})")
        ckpt = os.path.join(args.save, f"{args.dataset}_{seed}.ckpt")
        embeds, loaded, summary = train(ns, params, seed, args.max_epochs,
                                        args.every, log, ckpt, args.resume,
                                        device)
        rng = torch.get_rng_state()  # for the official evaluate, run last
        path = os.path.join(args.save, f"{args.dataset}_{seed}.pt")
        torch.save(embeds, path)
        log(f"  embeddings saved to {path}")
        t0 = time.time()
        m = heco_protocol(embeds, None, data=data, seed=seed,
                          **eval_kw).metrics
        log(f"  gcl heco protocol ({time.time() - t0:.0f}s): " + " ".join(
            f"{k} {100 * float(m[k]):.2f}" for k in METRICS))
        rows.append((seed, summary, m))
        evals.append((seed, ns, embeds, loaded, rng))
        del ns, loaded
    log("summary (gcl heco protocol on the official embeddings):")
    for seed, s, m in rows:
        log(f"  seed {seed}: {s['epochs']} epochs, best {s['best_epoch']} (loss "
            f"{s['best_loss']:.4f}); Ma-F1 " + "/".join(
                f"{100 * float(m[f'macro_f1@{k}']):.2f}" for k in (20, 40, 60))
            + " Mi-F1 " + "/".join(
                f"{100 * float(m[f'micro_f1@{k}']):.2f}" for k in (20, 40, 60))
            + " AUC " + "/".join(
                f"{100 * float(m[f'auc@{k}']):.2f}" for k in (20, 40, 60)))
    if args.no_official_eval:
        return
    # after all seeds: the official evaluate is slow (sklearn f1 every epoch)
    for seed, ns, embeds, loaded, rng in evals:
        t0 = time.time()
        torch.set_rng_state(rng)
        log(f"seed {seed}: official evaluate")
        official_scores(ns, params, embeds, loaded, log)
        log(f"  official evaluate took {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
