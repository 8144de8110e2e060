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
  not changed);
- **dense** (third, ``DenseContrastPamC``): the same objective with the PamC
  term replaced by :func:`dense_ncontrast_loss` (dense N x N matrices at
  every step) against a dense N x N Gamma built once in ``prepare`` and held
  for the whole training, as the official SCGC code holds ``adj_label``:
  SCGC*'s objective computed densely, the same value as **full**. It runs
  only where :func:`dense_epoch_estimate_mib` (the loss's
  ``DENSE_CALL_MATRICES`` float32 N x N matrices, the dense Gamma, and the
  PamC child's measured peak for the rest) plus ``--dense-margin-gib`` fits
  in ``MemAvailable`` read just before its child starts; otherwise the row
  records "does not fit" with the estimate.

All variants use ``model.pretrain=false``: SDCN's autoencoder pre-training
(cached per dataset in normal runs) is the same for both and is not what is
timed; the encoder starts from its random initialisation, then ``prepare``
runs k-means for the centres and computes Gamma as usual.

Each variant runs in a fresh child process (``multiprocessing`` spawn), so
they do not share a memory high-water mark. Reported per variant:

- seconds per epoch: median of ``History.seconds`` without the first epoch;
- peak memory: on CPU ``VmHWM`` of the child (:func:`gcl.app.record.
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
clusters are those of the full run) and the dense child, not the full or
dense variants' training, and replaces only the loss-only section of
``--out`` (between the ``loss-only`` markers), keeping the epoch tables of an
earlier run. A full run rewrites ``--out`` but keeps its hand-written
``### Notes (written after the runs, not generated)`` section (from that
heading to the end of the body), placed again at the end of the body.
``--no-dense`` skips both dense measurements.

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
from gcl.app.record import machine_info, peak_memory_mb
from gcl.datasets import load
from gcl.losses import ncontrast_loss, pamc_loss
from gcl.methods import PamC, build_method
from gcl.nn import ClusterHead

sys.path.insert(0, str(Path(__file__).parent))
from speed_harness import mem_available_mb, reset_hwm, rss_mb  # noqa: E402

DATASETS = ["ACM-SDCN", "Citeseer-SDCN", "Cora", "CiteSeer", "Photo",
            "Computers", "CS", "Physics"]
VARIANTS = ("PamC", "full")
# the row key of the dense epoch variant ("dense" is the loss-only dense row)
DENSE_EPOCHS = "dense-epochs"
CONTENDED = 1.2  # wall / CPU time above which an epoch time is flagged
# float32 N x N matrices that dense_ncontrast_loss holds at its peak (forward
# + backward, autograd's saved tensors included): 7.00 measured here with
# VmHWM for N = 4000 and 8000 (d = 10), the dense Gamma not counted
DENSE_CALL_MATRICES = 7
PROCESS_MIB = 512  # interpreter, torch and small tensors of the dense child
MARK_START = "<!-- loss-only:start -->"
MARK_END = "<!-- loss-only:end -->"
BODY_END = "<!-- --8<-- [end:body] -->"
# a hand-written section at the end of the results file, kept by a full run
NOTES = "### Notes (written after the runs, not generated)"


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
        return loss + self.alpha * self.contrast(z)

    def contrast(self, z):
        """The node-level contrast term (block-wise Ncontrast)."""
        return ncontrast_loss(z, self.gamma_index_, self.gamma_value_, self.tau)


class DenseContrastPamC(FullContrastPamC):
    r"""SCGC*'s objective computed densely: PamC's model with the PamC term
    replaced by :func:`dense_ncontrast_loss` (the Graph-MLP / SCGC memory
    pattern), :math:`\beta\,\mathrm{KL}(P\|Q) + \alpha\,\mathcal{L}_{
    \mathrm{N}}` with dense :math:`N \times N` matrices at every step, against
    a dense :math:`\Gamma` built once in :meth:`prepare` and held for the
    whole training (as the official SCGC code holds ``adj_label``). The same
    value as :class:`FullContrastPamC`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.gamma_dense_ = None

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self.gamma_dense_ = None

    def prepare(self, data) -> None:
        """PamC's ``prepare`` (centres, sparse Gamma), then the dense Gamma."""
        super().prepare(data)
        self.gamma_dense_ = dense_gamma(self.gamma_index_, self.gamma_value_,
                                        data.num_nodes)

    def contrast(self, z):
        """The same Ncontrast with dense N x N matrices."""
        if self.gamma_dense_ is None:
            raise RuntimeError("prepare(data) first")
        return dense_ncontrast_loss(z, self.gamma_dense_, self.tau)


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
        cls = {"full": FullContrastPamC, DENSE_EPOCHS: DenseContrastPamC}
        method = cls[variant].from_config(data.num_features, **cfg["model"])
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


def dense_epoch_estimate_mib(num_nodes: int, process_mb: float) -> dict:
    """Estimated resident memory (MiB) of the dense epoch child: the dense
    call (``DENSE_CALL_MATRICES`` float32 N x N matrices) and the dense Gamma
    of :func:`dense_estimate_mib`, with ``process_mb`` (the PamC child's
    measured peak: interpreter, data, ``prepare``, training) in place of
    ``PROCESS_MIB``."""
    est = dict(dense_estimate_mib(num_nodes))
    est["process"] = float(process_mb)
    est["total"] = est["call"] + est["gamma"] + est["process"]
    return est


def dense_epoch_row(dataset: str, pamc: dict, epochs: int, args) -> dict:
    """Trains :class:`DenseContrastPamC` in a fresh child where its estimate
    (:func:`dense_epoch_estimate_mib` from the PamC row ``pamc``) fits in
    ``MemAvailable`` less the margin, else returns a "does not fit" row."""
    n = pamc["N"]
    est = dense_epoch_estimate_mib(n, pamc["peak_mb"])
    avail = mem_available_mb(args.device, missing=float("nan"))
    margin = 1024 * args.dense_margin_gib
    row = {"dataset": dataset, "variant": DENSE_EPOCHS, "N": n,
           "epochs": epochs, "estimate_mb": est, "available_mb": avail,
           "margin_mb": margin}
    if not est["total"] + margin <= avail:  # NaN: does not fit
        row["skipped"] = True
        return row
    try:
        row.update(run_child(measure, dataset, DENSE_EPOCHS, epochs,
                             args.device, args.threads, 0, None))
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
    out.append(_target_epochs(by, args))
    return " ".join(out)


def _epoch_rows(by, args):
    """``(dataset, PamC row, block-wise row, dense epoch row or None)`` for
    the datasets with both PamC and block-wise epoch rows."""
    return [(ds, by[(ds, "PamC")], by[(ds, "full")], by.get((ds, DENSE_EPOCHS)))
            for ds in args.datasets
            if (ds, "PamC") in by and (ds, "full") in by]


def _ran(d):
    return d is not None and not d["skipped"]


def _target_epochs(by, args):
    """Part (b) of the target paragraph: whole training epochs, against the
    dense loss on the largest graph where its epochs ran and against the
    block-wise loss, from the epoch rows."""
    rows = _epoch_rows(by, args)
    if not rows:
        return ("(b) *A whole training epoch*: not rerun in this run; see "
                "the epoch tables below.")
    out = []
    ran = [e for e in rows if _ran(e[3])]
    if ran:
        ds, a, _, d = max(ran, key=lambda e: e[1]["N"])
        tr = d["cpu_s_epoch"] / a["cpu_s_epoch"]
        wr = d["s_epoch"] / a["s_epoch"]
        pr = d["peak_mb"] / a["peak_mb"]
        fr = d["fit_increment_mb"] / a["fit_increment_mb"]
        er = d["epochs_increment_mb"] / a["epochs_increment_mb"]
        met = ("met" if tr >= 10 and pr >= 10 else
               "not met (time "
               + ("met" if tr >= 10 else "not met") + ", peak memory "
               + ("met" if pr >= 10 else "not met") + ")")
        out.append(
            f"(b) *A whole training epoch* (`gcl.fit`, the epoch tables): on "
            f"{ds} (N = {a['N']}), the largest graph where the dense loss's "
            f"epochs ran here, a PamC epoch takes {_fmt_s(a['cpu_s_epoch'])} "
            f"CPU s against {_fmt_s(d['cpu_s_epoch'])} with the dense loss "
            f"({_ratio(tr)}x; {_ratio(wr)}x wall) and PamC's process peaks "
            f"at {a['peak_mb']:.0f} MiB against {d['peak_mb']:.0f} MiB "
            f"({_ratio(pr)}x; the training increment {_ratio(fr)}x over "
            f"`fit`, {_ratio(er)}x over the epochs alone): **{met}** "
            "against the dense loss.")
    else:
        out.append("(b) *A whole training epoch*: the dense loss's epochs "
                   "ran on no graph in this run.")
    ds, a, b, d = max(rows, key=lambda e: e[1]["N"])
    tr = b["cpu_s_epoch"] / a["cpu_s_epoch"]
    pr = b["peak_mb"] / a["peak_mb"]
    er = b["epochs_increment_mb"] / a["epochs_increment_mb"]
    allt = [e[2]["cpu_s_epoch"] / e[1]["cpu_s_epoch"] for e in rows]
    allp = [e[2]["peak_mb"] / e[1]["peak_mb"] for e in rows]
    if not _ran(d):
        if d is None:
            why = "the dense loss's epochs were not run"
        elif d.get("error"):
            why = f"the dense loss's epochs failed ({d['error']})"
        else:
            why = ("the dense loss's epochs do not fit (estimate "
                   f"{_gib(d['estimate_mb']['total'])})")
        out.append(
            f"On {ds} (N = {a['N']}), the largest graph, {why}; PamC trains "
            f"there at {_fmt_s(a['cpu_s_epoch'])} CPU s per epoch "
            f"({_fmt_s(a['s_epoch'])} s wall), peak {a['peak_mb']:.0f} MiB "
            f"(epochs +{a['epochs_increment_mb']:.0f} MiB), the block-wise "
            f"full loss at {_fmt_s(b['cpu_s_epoch'])} CPU s, peak "
            f"{b['peak_mb']:.0f} MiB (epochs +{b['epochs_increment_mb']:.0f} "
            "MiB).")
    out.append(
        f"Against the block-wise full loss, which runs on every graph: on "
        f"{ds} {_ratio(tr)}x in CPU time per epoch and {_ratio(pr)}x in "
        f"peak memory ({_ratio(er)}x over the epochs alone): "
        f"**{'met' if tr >= 10 and pr >= 10 else 'not met'}**; over all "
        f"graphs {min(allt):.2f}-{max(allt):.2f}x in CPU time and "
        f"{min(allp):.2f}-{max(allp):.2f}x in peak memory.")
    return " ".join(out)


def _three(a, b, d, key, fmt, skip="-"):
    """Cells PamC, block-wise, dense, block-wise / PamC, dense / PamC of
    ``key`` (``skip`` for the dense value where it did not run)."""
    cells = [fmt(a[key]), fmt(b[key])]
    cells.append(fmt(d[key]) if _ran(d) else skip)
    cells.append(f"{b[key] / a[key]:.2f}")
    cells.append(f"{d[key] / a[key]:.2f}" if _ran(d) else "-")
    return cells


def _dense_missing(d):
    if d is None:
        return "not run"
    return "failed" if d.get("error") else "does not fit"


def render_epochs(rows, args, info, wall, started, load_avg):
    """The epoch-time and training-memory tables (PamC, block-wise and
    dense full loss)."""
    by = {(r["dataset"], r["variant"]): r for r in rows}
    entries = _epoch_rows(by, args)
    lines = [
        "### Epoch time",
        "",
        "- Three variants trained by `gcl.fit`, each in its own child "
        "process: **PamC**; **block-wise** = the PamC term replaced by "
        "`ncontrast_loss` (`FullContrastPamC`); **dense** = the PamC term "
        "replaced by `dense_ncontrast_loss` against a dense N x N Γ built "
        "once in `prepare` and held for the whole training, as the official "
        "SCGC code holds `adj_label` (`DenseContrastPamC`): SCGC*'s "
        "objective computed densely. The dense variant runs only where its "
        f"estimate ({DENSE_CALL_MATRICES} float32 N x N matrices for the "
        "loss, the dense Γ, and the PamC child's measured peak for the rest) "
        f"plus a {args.dense_margin_gib:g} GiB margin fits in `MemAvailable`, "
        "read just before its child starts.",
        "- **s / epoch**: median of `History.seconds` over the epochs after "
        "the first (the first is a warm-up); *epochs* = epochs run, including "
        "that first one. **CPU s / epoch**: the same median in process CPU "
        "time (one torch thread). Ratios: block-wise / PamC and dense / "
        f"PamC. †: wall time more than {CONTENDED:.1f}x the CPU time: the "
        "process waited for a core (other processes on the machine); read "
        "the CPU columns.",
        "",
        "| dataset | N | F | nnz(Γ) | R | K (used) | epochs | s/epoch PamC "
        "| s/epoch block-wise | s/epoch dense | block-wise / PamC | "
        "dense / PamC | CPU s/epoch PamC | CPU s/epoch block-wise | "
        "CPU s/epoch dense | block-wise / PamC | dense / PamC |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, a, b, d in entries:
        ep = f"{a['epochs']}" + (" (reduced)" if a["epochs"] < args.epochs
                                 else "")

        def wall_s(x, r):
            busy = r["s_epoch"] > CONTENDED * r["cpu_s_epoch"]
            return _fmt_s(x) + ("†" if busy else "")

        cells = [ds, a["N"], a["F"], a["nnz"], a["order"],
                 f"{a['K']} ({a.get('K_used', '-')})", ep,
                 wall_s(a["s_epoch"], a), wall_s(b["s_epoch"], b),
                 wall_s(d["s_epoch"], d) if _ran(d) else _dense_missing(d),
                 f"{b['s_epoch'] / a['s_epoch']:.2f}",
                 f"{d['s_epoch'] / a['s_epoch']:.2f}" if _ran(d) else "-"]
        cells += _three(a, b, d, "cpu_s_epoch", _fmt_s, _dense_missing(d))
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
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
        f"the dense Ncontrast holds about {DENSE_CALL_MATRICES} of in a step, "
        "besides its dense Γ (one more); `ncontrast_loss` never builds it. "
        "The dense variant's Γ is built in `prepare`: it is in its peak and "
        "fit +MiB, and in the resident base of its epochs +MiB (not in the "
        "increment). *X*: the dense float32 feature matrix, resident before "
        "`fit` (the CS and Physics configs then train on its sparse copy).",
        "",
        "| dataset | N | F | X MiB | dense N x N MiB | peak MiB PamC | "
        "peak MiB block-wise | peak MiB dense | block-wise / PamC | "
        "dense / PamC | fit +MiB PamC | fit +MiB block-wise | fit +MiB dense "
        "| block-wise / PamC | dense / PamC | epochs +MiB PamC | "
        "epochs +MiB block-wise | epochs +MiB dense | block-wise / PamC | "
        "dense / PamC |",
        "|" + "---|" * 20,
    ]
    skipped = []
    for ds, a, b, d in entries:
        if d is not None and d["skipped"]:
            skipped.append((ds, d))
        miss = (f"est. {d['estimate_mb']['total']:.0f}"
                if d is not None and d["skipped"] else _dense_missing(d))
        cells = [ds, a["N"], a["F"], f"{a['N'] * a['F'] * 4 / 2**20:.0f}",
                 f"{a['N'] ** 2 * 4 / 2**20:.0f}"]
        for key in ("peak_mb", "fit_increment_mb", "epochs_increment_mb"):
            cells += _three(a, b, d, key, lambda x: f"{x:.0f}",
                            miss if key == "peak_mb" else "-")
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    if skipped:
        lines.append("")
        for ds, d in skipped:
            est = d["estimate_mb"]
            lines.append(
                f"- {ds}: dense epochs "
                + (f"failed: {d['error']}. " if d.get("error") else
                   "not run. ")
                + f"Estimate {_gib(est['total'])} = {DENSE_CALL_MATRICES} x "
                f"{_gib(est['matrix'])} (one float32 N x N) for the loss + "
                f"{_gib(est['gamma'])} dense Γ + {_gib(est['process'])} "
                f"(the PamC child's peak); MemAvailable was "
                f"{_gib(d['available_mb'])} just before, less a "
                f"{_gib(d['margin_mb'])} margin (other jobs share the "
                "machine).")
    lines += ["", "Per-epoch seconds, wall / CPU (all epochs, the first "
              "included):", ""]
    names = (("PamC", "PamC"), ("full", "block-wise"), (DENSE_EPOCHS, "dense"))
    for ds in args.datasets:
        for v, name in names:
            r = by.get((ds, v))
            if r and "seconds" in r:
                secs = ", ".join(f"{s:.3f}/{c:.3f}" for s, c in
                                 zip(r["seconds"], r["cpu_seconds"]))
                lines.append(f"- {ds} {name}: {secs}")
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
    "SCGC*'s objective), **dense** = the same Ncontrast computed with dense "
    "N x N matrices and a dense N x N Gamma, as the official Graph-MLP/SCGC "
    "code does (in the loss-only table alone, and in the epoch tables "
    "trained with the Gamma held for the whole training where it fits in "
    "memory). Training with `model.pretrain=false`: the "
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
    lines += ["", BODY_END, ""]
    return "\n".join(lines)


def keep_notes(old: str, new: str) -> str:
    """``new`` with the hand-written ``NOTES`` section of ``old`` (from its
    heading to the end of the body, or of the file) put back before the end
    of ``new``'s body; ``new`` as it is where ``old`` has none."""
    if NOTES not in old:
        return new
    notes = NOTES + old.split(NOTES, 1)[1].split(BODY_END, 1)[0]
    notes = notes.rstrip("\n") + "\n"
    if BODY_END in new:
        head, tail = new.split(BODY_END, 1)
        return head.rstrip("\n") + "\n\n" + notes + BODY_END + tail
    return new.rstrip("\n") + "\n\n" + notes


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
            if not args.loss_only and not args.no_dense:
                t = time.perf_counter()
                pamc = next(r for r in rows
                            if (r["dataset"], r["variant"]) == (ds, "PamC"))
                r = dense_epoch_row(ds, pamc, epochs, args)
                rows.append(r)
                if r["skipped"]:
                    msg = ("failed: " + r["error"] if r.get("error") else
                           "does not fit") + (
                        f": estimate {_gib(r['estimate_mb']['total'])}, "
                        f"available {_gib(r['available_mb'])}")
                else:
                    msg = (f"{r['cpu_s_epoch']:.3f} CPU s/epoch peak "
                           f"{r['peak_mb']:.0f} MiB (fit "
                           f"+{r['fit_increment_mb']:.0f}, epochs "
                           f"+{r['epochs_increment_mb']:.0f})")
                print(f"{ds:<14} dense epochs N={r['N']} {msg}  "
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
        if out.exists():
            text = keep_notes(out.read_text(), text)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"rows": rows, "machine": info, "args": vars(args),
             "started": started, "wall_s": wall,
             "load_avg": [load_avg[0], os.getloadavg()[0]],
             "command": _command()}, indent=1))


if __name__ == "__main__":
    main()
