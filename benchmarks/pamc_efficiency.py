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
  ``ncontrast_loss`` alone, alternated, median over repeats after one warm-up,
  with the memory increment of each call on CPU.

    PYTHONPATH=. OMP_NUM_THREADS=1 python benchmarks/pamc_efficiency.py
        [--datasets Cora CS] [--epochs 5] [--epochs-for Physics=3]
        [--device cpu] [--threads 1] [--loss-repeats 6]
        [--out benchmarks/results/pamc_efficiency.md]
"""

import argparse
import ctypes
import datetime
import json
import multiprocessing as mp
import os
import shlex
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

import gcl
from gcl.app.config import load_config
from gcl.app.experiment import machine_info, peak_memory_mb
from gcl.datasets import load
from gcl.losses import ncontrast_loss, pamc_loss
from gcl.methods import PamC, build_method
from gcl.nn import ClusterHead

DATASETS = ["ACM-SDCN", "Citeseer-SDCN", "Cora", "CiteSeer", "Photo",
            "Computers", "CS", "Physics"]
VARIANTS = ("PamC", "full")
CONTENDED = 1.2  # wall / CPU time above which an epoch time is flagged


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


def _status_kb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return float("nan")


def _rss_mb() -> float:
    return _status_kb("VmRSS") / 2**10


def _malloc_trim() -> None:
    """Returns glibc's free heap pages to the system, so that memory reused
    inside the next window is faulted in again and counted by VmHWM."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_hwm() -> bool:
    """Resets VmHWM to the current resident size (Linux >= 4.0)."""
    _malloc_trim()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _mem_start(device):
    """Starts a memory window; returns the baseline in MiB."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        return torch.cuda.memory_allocated(device) / 2**20
    return _rss_mb() if _reset_hwm() else float("nan")


def _mem_peak(device):
    _sync(device)
    return peak_memory_mb(device)


def _time_loss(fn, device, repeats):
    """Seconds of ``fn()`` (forward + backward) over ``repeats`` calls after
    one warm-up (no memory probing inside the timed calls).
    """
    times, cpu = [], []
    for r in range(repeats + 1):
        _sync(device)
        t, c = time.perf_counter(), time.process_time()
        fn()
        _sync(device)
        if r:
            times.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
    return times, cpu


def _loss_memory(fn, device):
    """Memory increment (MiB) of one ``fn()`` call."""
    base = _mem_start(device)
    fn()
    return _mem_peak(device) - base


def measure(dataset: str, variant: str, epochs: int, device: str,
            threads: int, loss_repeats: int) -> dict:
    """One variant on one dataset, in a fresh process."""
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

        def run_pamc():
            z.grad = None
            pamc_loss(z, gi, gv, c, k, tau,
                      empty_clusters=method.empty_clusters).backward()

        def run_full():
            z.grad = None
            ncontrast_loss(z, gi, gv, tau).backward()

        fns = (("PamC", run_pamc), ("full", run_full))
        times = {name: [] for name, _ in fns}
        cpu = {name: [] for name, _ in fns}
        for _ in range(2):  # alternate, half the repeats each
            for name, fn in fns:
                t_, c_ = _time_loss(fn, dev, max(1, loss_repeats // 2))
                times[name] += t_
                cpu[name] += c_
        mem = {name: [] for name, _ in fns}
        for _ in range(2):
            for name, fn in fns:
                mem[name].append(_loss_memory(fn, dev))
        out["loss_only"] = {name: {"ms": 1000 * statistics.median(times[name]),
                                   "times": times[name],
                                   "cpu_ms": 1000 * statistics.median(cpu[name]),
                                   "cpu_times": cpu[name],
                                   "increment_mb": max(mem[name])}
                            for name, _ in fns}
        out["K_used"] = int(c.max()) + 1
    return out


def run_child(dataset, variant, epochs, device, threads, loss_repeats):
    ctx = mp.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(measure, dataset, variant, epochs, device, threads,
                           loss_repeats).result()


def _fmt_s(x):
    return f"{x:.3f}" if x < 10 else f"{x:.2f}"


def render(rows, args, info, wall, started, load_avg):
    by = {(r["dataset"], r["variant"]): r for r in rows}
    env = " ".join(f"{k}={os.environ[k]}" for k in ("PYTHONPATH",
                                                     "OMP_NUM_THREADS")
                   if k in os.environ)
    cmd = f"{env} python " + " ".join(shlex.quote(a) for a in sys.argv)
    dev = info.get("gpu", info["processor"])
    lines = [
        "# PamC loss vs the full pairwise loss (Ncontrast): time and memory",
        "",
        "<!-- --8<-- [start:body] -->",
        "Generated by `benchmarks/pamc_efficiency.py`. Same model (PamC's MLP "
        "and Student-t head from `gcl/configs/pamc/<dataset>.yaml`), data and "
        "seed; **PamC** = beta KL + alpha `pamc_loss` (positives over the "
        "non-zeros of Gamma, K x K meta-node negatives), **full** = beta KL + "
        "alpha `ncontrast_loss` (Graph-MLP/SCGC Ncontrast, N x N node "
        "negatives, block-wise in 256-row blocks with a recomputing backward: "
        "SCGC*'s objective). Both with `model.pretrain=false`: the SDCN "
        "autoencoder pre-training (identical for both, cached per dataset in "
        "real runs) is not timed and the MLP starts from its random "
        "initialisation; `prepare` (k-means centres, Gamma) runs as usual and "
        "is not part of the epoch time.",
        "",
        "- **s / epoch**: median of `History.seconds` over the epochs after "
        "the first (the first is a warm-up); *epochs* = epochs run, including "
        "that first one.",
        "- **loss-only ms**: forward + backward of the loss term alone "
        "(`pamc_loss` vs `ncontrast_loss`) on the fixed `z` of the trained "
        "PamC model and its hard clusters, alternated in one process (two "
        f"rounds of {max(1, args.loss_repeats // 2)} calls after a warm-up "
        "each), median of the timed calls.",
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
            "the training steps alone. "
            "**loss +MiB**: the same increment around one loss-only call "
            "(larger of two calls per loss, made after the timed ones)."),
        "- **CPU s / epoch**, **CPU ms**: the same medians in process CPU "
        "time (`time.process_time`, one torch thread), much less sensitive "
        "to other processes on the cores than wall time.",
        "- ratio = full / PamC. †: wall time more than "
        f"{CONTENDED:.1f}x the CPU time: the process waited for a core "
        "(other processes on the machine); read the CPU columns.",
        "",
        "### Epoch time",
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
        "### Loss term alone (forward + backward on a fixed z)",
        "",
        "| dataset | N | nnz(Γ) | ms PamC | ms full | ratio | CPU ms PamC | "
        "CPU ms full | ratio | loss +MiB PamC | loss +MiB full |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds, a, _ in pairs:
        lo = a.get("loss_only")
        if not lo:
            continue
        p_, f_ = lo["PamC"], lo["full"]
        lines.append(
            f"| {ds} | {a['N']} | {a['nnz']} | {p_['ms']:.1f} | "
            f"{f_['ms']:.1f} | {f_['ms'] / p_['ms']:.1f} | {p_['cpu_ms']:.1f} "
            f"| {f_['cpu_ms']:.1f} | {f_['cpu_ms'] / p_['cpu_ms']:.1f} | "
            f"{p_['increment_mb']:.1f} | {f_['increment_mb']:.1f} |")
    lines += [
        "",
        "### Peak memory (training)",
        "",
        "*dense N x N*: the size of one dense float32 N x N matrix, which "
        "a dense Ncontrast (the official SCGC code builds the cosine matrix, "
        "its exponential and a dense Gamma) holds several of; "
        "`ncontrast_loss` never builds it. *X*: the dense float32 feature "
        "matrix, resident before `fit`.",
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
    threads = args.threads
    lines += [
        "",
        f"Machine: {dev}, {os.cpu_count()} cores, {threads} torch thread(s) "
        f"in every child (`torch.set_num_threads({threads})`, "
        f"`OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}`), "
        f"device `{args.device}`; other benchmarks shared the machine "
        f"(load average {load_avg[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end), so wall times are noisy: "
        f"the ratios and the CPU times are the result. {info['platform']}, Python "
        f"{info['python']}, torch {info['torch']}, PyG "
        f"{info['torch_geometric']}, gcl {info['gcl']} commit "
        f"{info['commit']}. Started {started} UTC, {wall / 60:.1f} min wall.",
        "",
        f"Command: `{cmd}`",
        "<!-- --8<-- [end:body] -->",
        "",
    ]
    return "\n".join(lines)


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
    if args.epochs_for is None:
        args.epochs_for = [] if args.device.startswith("cuda") else ["Physics=3"]
    reduced = {k: int(v) for k, v in (s.split("=", 1) for s in args.epochs_for)}
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    started = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M")
    load_avg = os.getloadavg()
    t0 = time.perf_counter()
    rows = []
    for ds in args.datasets:
        epochs = min(args.epochs, reduced.get(ds, args.epochs))
        for v in VARIANTS:
            t = time.perf_counter()
            r = run_child(ds, v, epochs, args.device, args.threads,
                          args.loss_repeats)
            rows.append(r)
            msg = (f"{ds:<14} {v:<5} N={r['N']} nnz={r['nnz']} "
                   f"{r['s_epoch']:.3f} s/epoch peak {r['peak_mb']:.0f} MiB "
                   f"(fit +{r['fit_increment_mb']:.0f}, epochs "
                   f"+{r['epochs_increment_mb']:.0f})")
            if "loss_only" in r:
                lo = r["loss_only"]
                msg += (f" loss-only {lo['PamC']['ms']:.2f} vs "
                        f"{lo['full']['ms']:.1f} ms")
            print(f"{msg}  [{time.perf_counter() - t:.0f} s]", flush=True)

    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    info = machine_info(dev if dev.type == "cuda" else None)
    text = render(rows, args, info, time.perf_counter() - t0, started, load_avg)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"rows": rows, "machine": info, "args": vars(args)}, indent=1))


if __name__ == "__main__":
    main()
