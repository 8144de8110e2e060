"""PamC's loss against the full pairwise loss: time per epoch and peak memory.

For each dataset the PamC configuration (``gcl/configs/pamc/<dataset>.yaml``)
is built and trained with :func:`gcl.fit` for a few epochs, twice from the
config's seed:

- **PamC**: the method as it is, ``beta KL + alpha PamC``
  (:func:`gcl.losses.pamc_loss`: positives over the non-zeros of the sparse
  influence matrix Gamma, negatives over the K x K meta-nodes);
- **full**: the same model, data and seed with the PamC term replaced by the
  node-level contrast it approximates, Graph-MLP/SCGC's Ncontrast
  (:func:`gcl.losses.ncontrast_loss`: negatives over all N x N node pairs,
  block-wise with a recomputing backward), i.e. SCGC*'s objective
  ``beta KL + alpha Ncontrast`` (a subclass of PamC defined here; ``gcl/`` is
  not changed).

Both variants use ``model.pretrain=false``: SDCN's autoencoder pre-training
(cached per dataset in normal runs) is the same for both and is not what is
timed; the encoder starts from its random initialisation, then ``prepare``
runs k-means for the centres and computes Gamma as usual.

Each variant runs in a fresh child process (``multiprocessing`` spawn), so the
two do not share a memory high-water mark. Reported per variant:

- seconds per epoch: median of ``History.seconds`` without the first epoch;
- peak memory: on CPU ``VmHWM`` of the child (:func:`gcl.app.experiment.
  peak_memory_mb`: interpreter, torch, data and training), and the training
  increment: the high-water mark is reset (``/proc/self/clear_refs``) just
  before ``fit`` and the resident size at that point subtracted; on CUDA
  ``torch.cuda.max_memory_allocated`` over ``fit`` (data and model already on
  the device) and the same increment; and the increment of the epochs alone
  (the window restarts at the first epoch, after fit's input check and
  ``prepare``);
- loss-only cost (in the PamC child, on the fixed ``z`` of its trained model,
  the hard clusters of its head): forward + backward of ``pamc_loss`` and of
  the block-wise ``ncontrast_loss`` alone, alternated, median over repeats
  after one warm-up, with the memory increment of each call on CPU;
- the same for the **dense** full loss, :func:`dense_ncontrast_loss`: the same
  Ncontrast value computed the way the Graph-MLP and SCGC code computes it
  (dense N x N cosine matrix from ``z z^T`` and the outer product of the
  norms, a dense identity mask, its exponential, a dense N x N Gamma), in a
  third child of its own that loads the PamC child's ``z`` and Gamma (so its
  high-water mark is its own). The dense Gamma is built before the timed and
  measured calls (the official code builds ``adj_label`` once) and reported
  apart. Where the estimate (:func:`dense_estimate_mib`: the call holds
  about ``DENSE_CALL_MATRICES`` float32 N x N matrices at its peak, plus the
  dense Gamma) plus ``--dense-margin-gib`` exceeds ``MemAvailable``
  (``/proc/meminfo``, read just before the child starts), the dense loss is
  not run and recorded as "does not fit" with the estimate.

``--loss-only`` runs the PamC child (its usual epochs, so ``z`` and the
clusters are those of the full run) and the dense child, not the full
variant's training, and replaces only the loss-only section of ``--out``
(between the ``loss-only`` markers), keeping the epoch tables of an earlier
run.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/pamc_efficiency.py
        [--datasets Cora CS] [--epochs 5] [--epochs-for Physics=3]
        [--device cpu] [--threads 1] [--loss-repeats 6] [--loss-only]
        [--no-dense] [--dense-margin-gib 4]
        [--out benchmarks/results/pamc_efficiency.md]
"""

import argparse
import datetime
import json
import multiprocessing as mp
import os
import resource
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import torch

import gcl
from gcl.app.config import load_config
from gcl.app.experiment import machine_info, peak_memory_mb
from gcl.datasets import load
from gcl.losses import ncontrast_loss, pamc_loss
from gcl.methods import PamC, build_method
from gcl.nn import ClusterHead

sys.path.insert(0, str(Path(__file__).parent))
from speed_harness import mem_available_mb, reset_hwm, rss_mb  # noqa: E402

DATASETS = ["ACM-SDCN", "Citeseer-SDCN", "Cora", "CiteSeer", "Photo",
            "Computers", "CS", "Physics"]
VARIANTS = ("PamC", "full")
CONTENDED = 1.2  # wall / CPU time above which an epoch time is flagged
# float32 N x N matrices that dense_ncontrast_loss holds at its peak (forward
# + backward, autograd's saved tensors included): 7.00 measured here with
# VmHWM for N = 4000 and 8000 (d = 10), the dense Gamma not counted
DENSE_CALL_MATRICES = 7
PROCESS_MIB = 512  # interpreter, torch and small tensors of the dense child
MARK_START = "<!-- loss-only:start -->"
MARK_END = "<!-- loss-only:end -->"


class FullContrastPamC(PamC):
    r"""PamC's model with the PamC term replaced by the full node-level
    Ncontrast (SCGC*'s objective): :math:`\beta\,\mathrm{KL}(P\|Q) + \alpha\,
    \mathcal{L}_{\mathrm{N}}`, negatives over all :math:`N \times N` pairs.
    """

    def forward(self, data):
        if self.gamma_index_ is None:
            raise RuntimeError("prepare(data) first")
        z = self.encode(data)
        q = self.head(z)
        p = ClusterHead.target_distribution(q.detach())
        self.assignment_ = q.detach().argmax(dim=1)
        loss = self.beta * ClusterHead.kl_loss(p, q)
        return loss + self.alpha * ncontrast_loss(
            z, self.gamma_index_, self.gamma_value_, self.tau)


def dense_ncontrast_loss(z, gamma, tau=1.0, eps=1e-8):
    r"""Ncontrast with dense :math:`N \times N` matrices, the memory pattern
    of the Graph-MLP / SCGC code (``get_feature_dis`` then ``Ncontrast``),
    written here; the same value as :func:`gcl.losses.ncontrast_loss`:

    .. math::
        -\frac{1}{N} \sum_i \log \Big( \frac{\sum_j \Gamma_{ij}
        e^{\tau \tilde{s}_{ij}}}{\sum_{j=1}^{N} e^{\tau \tilde{s}_{ij}}}
        + \epsilon \Big),

    :math:`\tilde{s}` the cosine similarity with a zero diagonal (so the
    :math:`j = i` term of the denominator is :math:`e^0 = 1`).

    Each step builds a new dense ``[N, N]`` tensor: ``z z^T``; the outer
    product of the row norms and its reciprocal; their product (the cosine);
    ``1 - I`` and the masked cosine; ``tau * cos``; its exponential; and the
    product with the dense ``gamma``. Autograd keeps ``z z^T``, the norm
    product, its reciprocal, ``1 - I`` and the exponential for the backward,
    which allocates N x N gradients again: about ``DENSE_CALL_MATRICES``
    float32 N x N matrices at the peak, besides ``gamma``.

    Args:
        z (torch.Tensor): Node embeddings ``[N, d]``.
        gamma (torch.Tensor): Dense influence matrix ``[N, N]``
            (:func:`dense_gamma`).
        tau (float): :math:`\tau`. eps (float): :math:`\epsilon`, 1e-8 as
            in the official code.
    """
    n = z.size(0)
    dot = z @ z.t()
    norms = z.pow(2).sum(dim=1, keepdim=True).sqrt()
    cos = dot * (norms @ norms.t()).pow(-1)
    cos = (1 - torch.eye(n, dtype=z.dtype, device=z.device)) * cos
    expd = torch.exp(tau * cos)
    pos = (expd * gamma).sum(dim=1)
    ratio = pos * expd.sum(dim=1).pow(-1)
    return -torch.log(ratio + eps).mean()


def dense_gamma(gamma_index, gamma_value, num_nodes):
    """The dense ``[N, N]`` influence matrix from its non-zeros (duplicates
    summed), as the official code holds ``adj_label``."""
    out = torch.zeros(num_nodes, num_nodes, dtype=gamma_value.dtype,
                      device=gamma_value.device)
    return out.index_put_(tuple(gamma_index.long()), gamma_value,
                          accumulate=True)


def dense_estimate_mib(num_nodes: int) -> dict:
    """Estimated resident memory (MiB) of the dense child: one float32
    N x N matrix, the call's increment (``DENSE_CALL_MATRICES`` of them), the
    dense Gamma (one) and the process."""
    matrix = num_nodes ** 2 * 4 / 2**20
    call = DENSE_CALL_MATRICES * matrix
    return {"matrix": matrix, "call": call, "gamma": matrix,
            "total": call + matrix + PROCESS_MIB}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _mem_start(device):
    """Starts a memory window; returns the baseline in MiB."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    return rss_mb() if reset_hwm() else float("nan")


def _mem_peak(device):
    _sync(device)
    return peak_memory_mb(device)


def _user_s() -> float:
    """User CPU seconds of this process (``getrusage``, microseconds)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def _time_loss(fn, device, repeats):
    """Seconds of ``fn()`` (forward + backward) over ``repeats`` calls after
    one warm-up (no memory probing inside the timed calls): wall, process
    CPU (user + system) and user CPU alone (``getrusage``; the system part is
    mostly page faults of freshly mapped large buffers).
    """
    times, cpu, user = [], [], []
    for r in range(repeats + 1):
        _sync(device)
        t, c, u = time.perf_counter(), time.process_time(), _user_s()
        fn()
        _sync(device)
        if r:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            user.append(_user_s() - u)
    return times, cpu, user


def _loss_memory(fn, device):
    """Memory increment (MiB) of one ``fn()`` call."""
    base = _mem_start(device)
    fn()
    return _mem_peak(device) - base


def measure(dataset: str, variant: str, epochs: int, device: str,
            threads: int, loss_repeats: int, handoff: str = None) -> dict:
    """One variant on one dataset, in a fresh process. The PamC child saves
    its fixed ``z``, clusters and Gamma to ``handoff`` (for the dense child).
    """
    torch.set_num_threads(threads)
    dev = torch.device(device)
    cfg = load_config("pamc", dataset, ["model.pretrain=false"])
    data = load(dataset, **cfg["data"])
    if variant == "PamC":
        method = build_method(cfg, data.num_features)
        assert type(method) is PamC
    else:
        method = FullContrastPamC.from_config(data.num_features, **cfg["model"])
    method, data = method.to(dev), data.to(dev)
    pre_peak = peak_memory_mb() if dev.type != "cuda" else 0.0  # loading
    # CPU seconds of each epoch: fit calls set_epoch at the start of every
    # step; robust to other processes sharing the cores (1 thread)
    # step; at the first, the memory window of the epochs alone starts
    # (after fit's input check and prepare)
    marks, set_epoch, window = [], method.set_epoch, {}

    def mark_epoch(epoch):
        if not marks:
            window["before"] = _mem_peak(dev)
            window["base"] = _mem_start(dev)
        marks.append(time.process_time())
        set_epoch(epoch)

    method.set_epoch = mark_epoch
    base = _mem_start(dev)
    t = time.perf_counter()
    hist = gcl.fit(method, data, epochs=epochs, lr=cfg["train"]["lr"],
                   weight_decay=cfg["train"].get("weight_decay", 0.0),
                   device=dev, seed=cfg["seed"], progress=False)
    total = time.perf_counter() - t
    marks.append(time.process_time())
    del method.set_epoch
    cpu = [b - a for a, b in zip(marks[:-1], marks[1:])]
    peak_epochs = _mem_peak(dev)
    peak_fit = max(window["before"], peak_epochs)
    out = {
        "dataset": dataset, "variant": variant, "N": data.num_nodes,
        "F": data.num_features, "K": method.num_clusters,
        "nnz": int(method.gamma_value_.numel()),
        "order": method.order, "epochs": epochs,
        "seconds": list(hist.seconds), "loss": list(hist.loss),
        "s_epoch": statistics.median(hist.seconds[1:] or hist.seconds),
        "fit_total_s": total,
        "cpu_seconds": cpu,
        "cpu_s_epoch": statistics.median(cpu[1:] or cpu),
        # CPU: the process peak, loading (before the reset) or training
        "peak_mb": max(pre_peak, peak_fit),
        "fit_increment_mb": peak_fit - base,
        "base_mb": base,
        "epochs_increment_mb": peak_epochs - window["base"],
        "epochs_base_mb": window["base"],
    }
    if variant == "PamC" and loss_repeats > 0:
        with torch.no_grad():
            z0 = method.encode(data)
            c = method.head(z0).argmax(dim=1)
        k = method.num_clusters
        z = z0.detach().clone().requires_grad_(True)
        gi, gv, tau = method.gamma_index_, method.gamma_value_, method.tau

        values = {}

        def run_pamc():
            z.grad = None
            loss = pamc_loss(z, gi, gv, c, k, tau,
                             empty_clusters=method.empty_clusters)
            loss.backward()
            values["PamC"] = loss.item()

        def run_full():
            z.grad = None
            loss = ncontrast_loss(z, gi, gv, tau)
            loss.backward()
            values["full"] = loss.item()

        fns = (("PamC", run_pamc), ("full", run_full))
        times = {name: [] for name, _ in fns}
        cpu = {name: [] for name, _ in fns}
        user = {name: [] for name, _ in fns}
        for _ in range(2):  # alternate, half the repeats each
            for name, fn in fns:
                t_, c_, u_ = _time_loss(fn, dev, max(1, loss_repeats // 2))
                times[name] += t_
                cpu[name] += c_
                user[name] += u_
        mem = {name: [] for name, _ in fns}
        for _ in range(2):
            for name, fn in fns:
                mem[name].append(_loss_memory(fn, dev))
        out["loss_only"] = {name: {"ms": 1000 * statistics.median(times[name]),
                                   "times": times[name],
                                   "cpu_ms": 1000 * statistics.median(cpu[name]),
                                   "cpu_times": cpu[name],
                                   "user_ms": 1000 * statistics.median(user[name]),
                                   "increment_mb": max(mem[name]),
                                   "value": values[name]}
                            for name, _ in fns}
        out["K_used"] = int(c.max()) + 1
        out["tau"] = float(tau)
        if handoff:
            torch.save({"z": z0.detach().cpu(), "gamma_index": gi.cpu(),
                        "gamma_value": gv.cpu(), "tau": float(tau),
                        "dataset": dataset}, handoff)
    return out


def measure_dense(handoff: str, device: str, threads: int,
                  loss_repeats: int) -> dict:
    """The dense full loss alone on the PamC child's ``z`` and Gamma, in a
    fresh process: forward + backward time (one warm-up, then
    ``loss_repeats // 2`` timed calls) and the memory increment of a call
    (the larger of two), the dense Gamma already resident."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    saved = torch.load(handoff)
    z = saved["z"].to(dev).requires_grad_(True)
    tau, n = saved["tau"], saved["z"].size(0)
    base = _mem_start(dev)
    c0 = time.process_time()
    gamma = dense_gamma(saved["gamma_index"].to(dev),
                        saved["gamma_value"].to(dev), n)
    _sync(dev)
    gamma_cpu_s = time.process_time() - c0
    gamma_mb = _mem_peak(dev) - base
    values = {}

    def run_dense():
        z.grad = None
        loss = dense_ncontrast_loss(z, gamma, tau)
        loss.backward()
        values["dense"] = loss.item()

    times, cpu, user = _time_loss(run_dense, dev, max(1, loss_repeats // 2))
    mem = [_loss_memory(run_dense, dev) for _ in range(2)]
    return {"dataset": saved["dataset"], "variant": "dense", "N": n,
            "ms": 1000 * statistics.median(times), "times": times,
            "cpu_ms": 1000 * statistics.median(cpu), "cpu_times": cpu,
            "user_ms": 1000 * statistics.median(user),
            "increment_mb": max(mem), "increments_mb": mem,
            "gamma_mb": gamma_mb, "gamma_cpu_s": gamma_cpu_s,
            "value": values["dense"], "peak_mb": peak_memory_mb(dev)}


def run_child(fn, *args):
    """``fn(*args)`` in a fresh (spawned) process."""
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(fn, *args).result()


def dense_row(dataset: str, num_nodes: int, handoff: str, args) -> dict:
    """Runs the dense child where its estimate fits in ``MemAvailable``
    less the margin, else returns a "does not fit" row with the estimate."""
    est = dense_estimate_mib(num_nodes)
    avail = mem_available_mb(args.device, missing=float("nan"))
    margin = 1024 * args.dense_margin_gib
    row = {"dataset": dataset, "variant": "dense", "N": num_nodes,
           "estimate_mb": est, "available_mb": avail, "margin_mb": margin}
    if not est["total"] + margin <= avail:  # NaN: does not fit
        row["skipped"] = True
        return row
    try:
        row.update(run_child(measure_dense, handoff, args.device,
                             args.threads, args.loss_repeats))
    except BrokenProcessPool as e:  # e.g. killed by the kernel's OOM killer
        row.update(skipped=True, error=f"the child died ({e})")
        return row
    row["skipped"] = False
    return row


def _fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def _command():
    env = " ".join(f"{k}={os.environ[k]}" for k in ("PYTHONPATH",
                                                     "OMP_NUM_THREADS")
                   if k in os.environ)
    return f"{env} python " + " ".join(shlex.quote(a) for a in sys.argv)


def _run_line(args, info, wall, started, load_avg):
    dev = info.get("gpu", info["processor"])
    threads = args.threads
    return (
        f"Machine: {dev}, {os.cpu_count()} cores, {threads} torch thread(s) "
        f"in every child (`torch.set_num_threads({threads})`, "
        f"`OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}`), "
        f"device `{args.device}`; other benchmarks shared the machine "
        f"(load average {load_avg[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), so wall times are noisy: "
        f"the ratios and the CPU times are the result. {info['platform']}, "
        f"Python {info['python']}, torch {info['torch']}, PyG "
        f"{info['torch_geometric']}, gcl {info['gcl']} commit "
        f"{info['commit']}. Started {started} UTC, {wall / 60:.1f} min wall.")


def _gib(mib):
    return f"{mib / 2**10:.1f} GiB"


def _ratio(x):
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def render_loss(rows, args, info, wall, started, load_avg):
    """The loss-only section, between ``MARK_START`` and ``MARK_END``."""
    by = {(r["dataset"], r["variant"]): r for r in rows}
    reps = max(1, args.loss_repeats // 2)
    cuda = args.device.startswith("cuda")
    mem = ("`torch.cuda.max_memory_allocated` over the call, less the "
           "allocated memory before it" if cuda else
           "`VmHWM` increment of one call (high-water mark reset through "
           "`/proc/self/clear_refs` just before it, after `malloc_trim(0)`, "
           "and the resident size at that point subtracted)")
    lines = [
        MARK_START,
        "### Loss term alone (forward + backward on a fixed z)",
        "",
        "- **PamC**: `pamc_loss`; **block-wise**: `ncontrast_loss` (the full "
        "Ncontrast in 256-row blocks with a recomputing backward, never "
        "N x N); **dense**: `dense_ncontrast_loss` of this script, the same "
        "Ncontrast value computed as the Graph-MLP / SCGC code does it "
        "(dense N x N `z zᵀ`, norm product and its reciprocal, identity "
        "mask, cosine, exponential, and a dense N x N Γ; autograd keeps "
        f"several of them), about {DENSE_CALL_MATRICES} float32 N x N "
        "matrices at its peak.",
        "- `z`: the embedding of the PamC model after the `epochs` training "
        "epochs of its child (the same seed and epochs as the epoch table), "
        "clusters: its head's argmax.",
        "- **CPU ms**: median process CPU time (`time.process_time`, one "
        "torch thread) of forward + backward; PamC and block-wise alternated "
        f"in the PamC child (two rounds of {reps} calls after a warm-up "
        f"each), dense in a spawned child of its own ({reps} calls after a "
        "warm-up), so the memory high-water marks do not mix.",
        f"- **+MiB**: {mem}; the larger of two calls made after the timed "
        "ones. **dense Γ MiB**: the dense Γ of the dense child, built before "
        "(the official code builds `adj_label` once and holds it for the "
        "whole training), not in its +MiB.",
        "- ratios: block-wise / PamC and dense / PamC, CPU time and +MiB; "
        "*(with Γ)*: the dense call's +MiB plus the dense Γ.",
        "",
        "| dataset | N | nnz(Γ) | epochs | CPU ms PamC | CPU ms block-wise "
        "| CPU ms dense | time block-wise / PamC | time dense / PamC | "
        "+MiB PamC | +MiB block-wise | +MiB dense | dense Γ MiB | "
        "mem block-wise / PamC | mem dense / PamC (with Γ) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    entries = []
    for ds in args.datasets:
        a = by.get((ds, "PamC"))
        if not a or "loss_only" not in a:
            continue
        entries.append((ds, a, a["loss_only"], by.get((ds, "dense"))))
    skipped = []
    for ds, a, lo, d in entries:
        p_, b_ = lo["PamC"], lo["full"]
        cells = [ds, a["N"], a["nnz"], a["epochs"], f"{p_['cpu_ms']:.1f}",
                 f"{b_['cpu_ms']:.1f}"]
        if d is None:
            dense_t = dense_m = dense_g = dense_tr = dense_mr = "not run"
        elif d["skipped"]:
            skipped.append((ds, d))
            est = d["estimate_mb"]
            dense_t = "failed" if d.get("error") else "does not fit"
            dense_m = f"est. {est['call']:.0f}"
            dense_g = f"{est['gamma']:.0f}"
            dense_tr = "-"
            base = p_["increment_mb"]
            dense_mr = (f"est. {_ratio(est['call'] / base)} "
                        f"({_ratio((est['call'] + est['gamma']) / base)})")
        else:
            dense_t = f"{d['cpu_ms']:.1f}"
            dense_m = f"{d['increment_mb']:.1f}"
            dense_g = f"{d['gamma_mb']:.0f}"
            dense_tr = _ratio(d["cpu_ms"] / p_["cpu_ms"])
            base = p_["increment_mb"]
            dense_mr = (f"{_ratio(d['increment_mb'] / base)} "
                        f"({_ratio((d['increment_mb'] + d['gamma_mb']) / base)})")
        cells += [dense_t, _ratio(b_["cpu_ms"] / p_["cpu_ms"]), dense_tr,
                  f"{p_['increment_mb']:.1f}", f"{b_['increment_mb']:.1f}",
                  dense_m, dense_g,
                  _ratio(b_["increment_mb"] / p_["increment_mb"]), dense_mr]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    lines += ["", "User CPU time alone (without the system time, mostly "
              "page faults: on CPU every dense N x N buffer larger than "
              "glibc's 32 MiB mmap threshold is mapped afresh and zeroed by "
              "the kernel at each call), wall time (noisy on the shared "
              "machine) and the loss values (float32; the dense and "
              "block-wise Ncontrast are the same quantity):", "",
              "| dataset | user ms PamC | user ms block-wise | user ms dense "
              "| user time dense / PamC | ms PamC | ms block-wise | ms dense "
              "| PamC loss | Ncontrast block-wise | dense − block-wise |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for ds, _, lo, d in entries:
        p_, b_ = lo["PamC"], lo["full"]
        ran = d is not None and not d["skipped"]
        cells = [ds] + [f"{x['user_ms']:.1f}" if "user_ms" in x else "-"
                        for x in (p_, b_)]
        if ran:
            cells += [f"{d['user_ms']:.1f}",
                      _ratio(d["user_ms"] / max(p_.get("user_ms", 0), 1e-9))]
        else:
            cells += ["-", "-"]
        cells += [f"{p_['ms']:.1f}", f"{b_['ms']:.1f}",
                  f"{d['ms']:.1f}" if ran else "-", f"{p_['value']:.6f}",
                  f"{b_['value']:.6f}",
                  f"{d['value'] - b_['value']:.1e}" if ran else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if skipped:
        lines += [""]
        for ds, d in skipped:
            est = d["estimate_mb"]
            lines.append(
                f"- {ds}: dense "
                + (f"failed: {d['error']}. " if d.get("error") else "not run. ")
                + f"Estimate {_gib(est['total'])} = "
                f"{DENSE_CALL_MATRICES} x {_gib(est['matrix'])} (one float32 "
                f"N x N) for the call + {_gib(est['gamma'])} dense Γ + "
                f"{PROCESS_MIB} MiB process; MemAvailable was "
                f"{_gib(d['available_mb'])} just before, less a "
                f"{_gib(d['margin_mb'])} margin (other jobs share the "
                "machine).")
    lines += ["", _target(entries, by, args), "",
              "Loss-only rows: " + _run_line(args, info, wall, started,
                                             load_avg), "",
              f"Command: `{_command()}`", MARK_END]
    return lines


def _target(entries, by, args):
    """The issue's target (>= 10x faster and >= 10x lower peak memory than
    the full pairwise loss on the largest graph where it runs), both
    readings."""
    out = ["**Target (>= 10x faster and >= 10x lower peak memory than the "
           "full pairwise loss on the largest graph where it runs).**"]
    ran = [(ds, a, lo, d) for ds, a, lo, d in entries
           if d is not None and not d["skipped"]]
    if ran:
        ds, a, lo, d = max(ran, key=lambda e: e[1]["N"])
        p_, b_ = lo["PamC"], lo["full"]
        tr = d["cpu_ms"] / p_["cpu_ms"]
        ur = d["user_ms"] / p_["user_ms"]
        mr = d["increment_mb"] / p_["increment_mb"]
        mg = (d["increment_mb"] + d["gamma_mb"]) / p_["increment_mb"]
        met = min(tr, ur) >= 10 and mr >= 10
        out.append(
            f"(a) *The loss term alone*: on {ds} (N = {a['N']}), the largest "
            f"graph where the dense loss ran here, PamC's loss is "
            f"{_ratio(tr)}x faster (CPU time; {_ratio(ur)}x in user CPU "
            f"time alone) and {_ratio(mr)}x lower in "
            f"memory increment ({_ratio(mg)}x with the dense Γ) than the "
            f"dense full loss: **{'met' if met else 'not met'}**. Against "
            f"the block-wise full loss there: "
            f"{_ratio(b_['cpu_ms'] / p_['cpu_ms'])}x faster, "
            f"{_ratio(b_['increment_mb'] / p_['increment_mb'])}x lower memory.")
    else:
        out.append("(a) *The loss term alone*: the dense loss ran on no "
                   "graph in this run.")
    big = max(entries, key=lambda e: e[1]["N"]) if entries else None
    if big and (not ran or big[0] != max(ran, key=lambda e: e[1]["N"])[0]):
        ds, a, lo, d = big
        p_, b_ = lo["PamC"], lo["full"]
        if d and d.get("error"):
            why = "the dense loss failed"
        elif d and d["skipped"]:
            why = ("the dense loss does not fit (estimate "
                   f"{_gib(d['estimate_mb']['total'])})")
        else:
            why = "the dense loss was not run"
        out.append(
            f"On {ds} (N = {a['N']}), {why}; PamC's loss takes "
            f"{p_['cpu_ms']:.1f} ms CPU and +{p_['increment_mb']:.0f} MiB, "
            f"the block-wise full loss {b_['cpu_ms']:.0f} ms and "
            f"+{b_['increment_mb']:.0f} MiB "
            f"({_ratio(b_['cpu_ms'] / p_['cpu_ms'])}x time, "
            f"{_ratio(b_['increment_mb'] / p_['increment_mb'])}x memory).")
    pairs = [(by[(ds, "PamC")], by[(ds, "full")]) for ds in args.datasets
             if (ds, "PamC") in by and (ds, "full") in by]
    if pairs:
        r = [b["cpu_s_epoch"] / a["cpu_s_epoch"] for a, b in pairs]
        out.append(
            f"(b) *A whole training epoch* (against the block-wise full "
            f"loss, the epoch table): {min(r):.2f}-{max(r):.2f}x in CPU "
            "time, the MLP on the raw features dominating: "
            f"**{'met' if min(r) >= 10 else 'not met'}**.")
    else:
        out.append("(b) *A whole training epoch*: not rerun in this run; "
                   "see the epoch tables below.")
    return " ".join(out)


def render_epochs(rows, args, info, wall, started, load_avg):
    """The epoch-time and training-memory tables (PamC and block-wise)."""
    by = {(r["dataset"], r["variant"]): r for r in rows}
    lines = [
        "### Epoch time",
        "",
        "- **s / epoch**: median of `History.seconds` over the epochs after "
        "the first (the first is a warm-up); *epochs* = epochs run, including "
        "that first one. **CPU s / epoch**: the same median in process CPU "
        "time (one torch thread). ratio = full (block-wise) / PamC. †: wall "
        f"time more than {CONTENDED:.1f}x the CPU time: the process waited "
        "for a core (other processes on the machine); read the CPU columns.",
        "",
        "| dataset | N | F | nnz(Γ) | R | K (used) | epochs | s/epoch PamC "
        "| s/epoch full | ratio | CPU s/epoch PamC | CPU s/epoch full | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    pairs = [(ds, by[(ds, "PamC")], by[(ds, "full")]) for ds in args.datasets
             if (ds, "PamC") in by and (ds, "full") in by]
    for ds, a, b in pairs:
        ep = f"{a['epochs']}" + (" (reduced)" if a["epochs"] < args.epochs
                                 else "")
        busy = ["†" if r["s_epoch"] > CONTENDED * r["cpu_s_epoch"] else ""
                for r in (a, b)]
        lines.append(
            f"| {ds} | {a['N']} | {a['F']} | {a['nnz']} | {a['order']} | "
            f"{a['K']} ({a.get('K_used', '-')}) | {ep} | "
            f"{_fmt_s(a['s_epoch'])}{busy[0]} | {_fmt_s(b['s_epoch'])}{busy[1]} | "
            f"{b['s_epoch'] / a['s_epoch']:.2f} | "
            f"{_fmt_s(a['cpu_s_epoch'])} | {_fmt_s(b['cpu_s_epoch'])} | "
            f"{b['cpu_s_epoch'] / a['cpu_s_epoch']:.2f} |")
    lines += [
        "",
        "### Peak memory (training)",
        "",
        "- **peak MiB**: " + (
            "`torch.cuda.max_memory_allocated` over `fit` (data and model on "
            "the GPU beforehand)." if args.device.startswith("cuda") else
            "`VmHWM` of the variant's own child process (spawn): interpreter, "
            "torch, the dense feature matrix, `prepare` and the epochs. "
            "**fit +MiB**: the training increment: the high-water mark is "
            "reset (`/proc/self/clear_refs`) just before `gcl.fit` and the "
            "resident size at that point subtracted (after `malloc_trim(0)`, so "
            "free heap pages reused during training are counted again). "
            "**epochs +MiB**: the same, with the window restarted at the first "
            "epoch (after `fit`'s input check `check_graph` and `prepare`): "
            "the training steps alone."),
        "- *dense N x N*: the size of one dense float32 N x N matrix, which "
        f"the dense Ncontrast holds about {DENSE_CALL_MATRICES} of, besides "
        "its dense Γ (see the loss table); `ncontrast_loss` never builds it. "
        "*X*: the dense float32 feature matrix, resident before `fit`.",
        "",
        "| dataset | N | F | X MiB | dense N x N MiB | peak MiB PamC | "
        "peak MiB full | ratio | fit +MiB PamC | fit +MiB full | ratio | "
        "epochs +MiB PamC | epochs +MiB full | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, a, b in pairs:
        lines.append(
            f"| {ds} | {a['N']} | {a['F']} | {a['N'] * a['F'] * 4 / 2**20:.0f} "
            f"| {a['N'] ** 2 * 4 / 2**20:.0f} | {a['peak_mb']:.0f} | "
            f"{b['peak_mb']:.0f} | {b['peak_mb'] / a['peak_mb']:.2f} | "
            f"{a['fit_increment_mb']:.0f} | {b['fit_increment_mb']:.0f} | "
            f"{b['fit_increment_mb'] / a['fit_increment_mb']:.2f} | "
            f"{a['epochs_increment_mb']:.0f} | {b['epochs_increment_mb']:.0f} "
            f"| {b['epochs_increment_mb'] / a['epochs_increment_mb']:.2f} |")
    lines += ["", "Per-epoch seconds, wall / CPU (all epochs, the first "
              "included):", ""]
    for ds in args.datasets:
        for v in VARIANTS:
            r = by.get((ds, v))
            if r:
                secs = ", ".join(f"{s:.3f}/{c:.3f}" for s, c in
                                 zip(r["seconds"], r["cpu_seconds"]))
                lines.append(f"- {ds} {v}: {secs}")
    lines += ["", "Epoch rows: " + _run_line(args, info, wall, started,
                                             load_avg), "",
              f"Command: `{_command()}`"]
    return lines


INTRO = [
    "# PamC loss vs the full pairwise loss (Ncontrast): time and memory",
    "",
    "<!-- --8<-- [start:body] -->",
    "Generated by `benchmarks/pamc_efficiency.py`. Same model (PamC's MLP "
    "and Student-t head from `gcl/configs/pamc/<dataset>.yaml`), data and "
    "seed; **PamC** = beta KL + alpha `pamc_loss` (positives over the "
    "non-zeros of Gamma, K x K meta-node negatives), **full** = beta KL + "
    "alpha `ncontrast_loss` (Graph-MLP/SCGC Ncontrast, N x N node "
    "negatives, block-wise in 256-row blocks with a recomputing backward: "
    "SCGC*'s objective). The loss-only table adds the **dense** full loss: "
    "the same Ncontrast computed with dense N x N matrices, as the official "
    "Graph-MLP/SCGC code does. Training with `model.pretrain=false`: the "
    "SDCN autoencoder pre-training (identical for all, cached per dataset "
    "in real runs) is not timed and the MLP starts from its random "
    "initialisation; `prepare` (k-means centres, Gamma) runs as usual and "
    "is not part of the epoch time.",
    "",
]


def render(rows, args, info, wall, started, load_avg):
    """The whole results file (loss-only section, then the epoch tables)."""
    lines = list(INTRO)
    lines += render_loss(rows, args, info, wall, started, load_avg)
    if any(r["variant"] == "full" for r in rows):
        lines += [""] + render_epochs(rows, args, info, wall, started,
                                      load_avg)
    lines += ["<!-- --8<-- [end:body] -->", ""]
    return "\n".join(lines)


def splice_loss(old: str, loss_lines) -> str:
    """``old`` with its loss-only section (between the markers) replaced."""
    if MARK_START not in old or MARK_END not in old:
        raise ValueError(f"no {MARK_START} ... {MARK_END} section to replace")
    head, rest = old.split(MARK_START, 1)
    tail = rest.split(MARK_END, 1)[1]
    return head + "\n".join(loss_lines) + tail


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=DATASETS)
    p.add_argument("--epochs", type=int, default=5,
                   help="epochs per variant, the first excluded from timing")
    p.add_argument("--epochs-for", nargs="*", default=None, metavar="NAME=N",
                   help="fewer epochs for slow datasets (default on CPU: "
                        "Physics=3)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads in each child")
    p.add_argument("--loss-repeats", type=int, default=6,
                   help="timed loss-only calls per loss (0 skips)")
    p.add_argument("--loss-only", action="store_true",
                   help="train only the PamC child (for z and the clusters), "
                        "measure the losses and replace only the loss-only "
                        "section of --out")
    p.add_argument("--no-dense", action="store_true",
                   help="do not run the dense full loss")
    p.add_argument("--dense-margin-gib", type=float, default=4.0,
                   help="memory left free beyond the dense estimate")
    p.add_argument("--out", default="benchmarks/results/pamc_efficiency.md")
    p.add_argument("--json", default=None,
                   help="also write the raw measurements here")
    args = p.parse_args()
    repo = Path(__file__).resolve().parent.parent
    if Path(gcl.__file__).resolve().parent.parent != repo:
        print(f"warning: gcl is imported from {gcl.__file__}, not from "
              f"{repo} (run with PYTHONPATH=.)", file=sys.stderr)
    if args.epochs < 2:
        p.error("--epochs must be >= 2 (the first epoch is not timed)")
    if args.loss_only and args.loss_repeats < 1:
        p.error("--loss-only needs --loss-repeats >= 1")
    if args.epochs_for is None:
        args.epochs_for = [] if args.device.startswith("cuda") else ["Physics=3"]
    reduced = {k: int(v) for k, v in (s.split("=", 1) for s in args.epochs_for)}
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    out = Path(args.out)
    if args.loss_only and out.exists():
        splice_loss(out.read_text(), [])  # fails early without markers

    started = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M")
    load_avg = os.getloadavg()
    t0 = time.perf_counter()
    rows = []
    tmp = tempfile.mkdtemp(prefix="pamc_efficiency_")
    try:
        for ds in args.datasets:
            epochs = min(args.epochs, reduced.get(ds, args.epochs))
            dense = args.loss_repeats > 0 and not args.no_dense
            handoff = os.path.join(tmp, "z.pt") if dense else None
            for v in ("PamC",) if args.loss_only else VARIANTS:
                t = time.perf_counter()
                r = run_child(measure, ds, v, epochs, args.device,
                              args.threads, args.loss_repeats,
                              handoff if v == "PamC" else None)
                rows.append(r)
                msg = (f"{ds:<14} {v:<5} N={r['N']} nnz={r['nnz']} "
                       f"{r['cpu_s_epoch']:.3f} CPU s/epoch peak "
                       f"{r['peak_mb']:.0f} MiB (fit "
                       f"+{r['fit_increment_mb']:.0f}, epochs "
                       f"+{r['epochs_increment_mb']:.0f})")
                if "loss_only" in r:
                    lo = r["loss_only"]
                    msg += (f" loss-only CPU {lo['PamC']['cpu_ms']:.2f} vs "
                            f"{lo['full']['cpu_ms']:.1f} ms, +"
                            f"{lo['PamC']['increment_mb']:.0f} vs +"
                            f"{lo['full']['increment_mb']:.0f} MiB")
                print(f"{msg}  [{time.perf_counter() - t:.0f} s]", flush=True)
            if dense:
                t = time.perf_counter()
                n = rows[-1 if args.loss_only else -2]["N"]
                r = dense_row(ds, n, handoff, args)
                rows.append(r)
                if r["skipped"]:
                    msg = (f"does not fit: estimate "
                           f"{_gib(r['estimate_mb']['total'])}, available "
                           f"{_gib(r['available_mb'])}")
                else:
                    msg = (f"CPU {r['cpu_ms']:.1f} ms, +"
                           f"{r['increment_mb']:.0f} MiB (+ dense Γ "
                           f"{r['gamma_mb']:.0f} MiB)")
                print(f"{ds:<14} dense N={n} {msg}  "
                      f"[{time.perf_counter() - t:.0f} s]", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    info = machine_info(dev if dev.type == "cuda" else None)
    wall = time.perf_counter() - t0
    if args.loss_only and out.exists():
        text = splice_loss(out.read_text(), render_loss(
            rows, args, info, wall, started, load_avg))
    else:
        text = render(rows, args, info, wall, started, load_avg)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"rows": rows, "machine": info, "args": vars(args)}, indent=1))


if __name__ == "__main__":
    main()
