"""Shared machinery of the speed benchmarks (``speed.py``, ``speed_methods.py``).

Each variant of a comparison runs in a fresh child process (``subprocess``:
fork + exec of a new interpreter), so that its memory high-water mark is its
own. Peak memory is ``VmHWM`` of the child (:func:`gcl.app.record.
peak_memory_mb`), not ``ru_maxrss``, which Linux carries over ``fork`` and
``exec`` from the parent. The training window (``train_mb``) restarts the
high-water mark (``/proc/self/clear_refs``) after the data and the model are
built, so it counts what preparation and the steps add: cached graph
statistics (communities, bounds) and the step's transients.

Times: wall (``time.perf_counter``) and process CPU time
(``time.process_time``) of every step, median over the timed epochs after
the warm-up. On a shared, loaded machine the CPU time is the steadier of
the two; wall / CPU well above 1 (one thread) flags contention.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, Optional

import torch

from gcl.app.record import OtherLoad, contended, cpu_model  # noqa: F401  (re-exported for the benchmark scripts)


def status_kb(key: str) -> float:
    """A ``/proc/self/status`` field in kB (NaN where unavailable)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def rss_mb() -> float:
    """The current resident size of this process in MiB."""
    return status_kb("VmRSS") / 2**10


def peak_mb() -> float:
    """The resident high-water mark of this process in MiB (``VmHWM``)."""
    from gcl.app.record import peak_memory_mb

    return peak_memory_mb()


def reset_hwm() -> bool:
    """Returns glibc's free heap pages to the system (so that reused pages
    are counted again) and resets ``VmHWM`` to the current resident size
    (Linux >= 4.0). Returns whether the reset worked.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class MemoryWindow:
    """Peak resident memory added after :meth:`start` (MiB)."""

    def start(self) -> None:
        self.base = rss_mb() if reset_hwm() else float("nan")

    def added(self) -> float:
        return peak_mb() - self.base


def full_batch_step(method, data, optimizer) -> Callable[[int], float]:
    """``step(epoch)``: one epoch of :func:`gcl.fit`'s full-batch loop
    (``train()``, ``set_epoch``, one optimiser step on ``method(data)``);
    returns the loss, for :func:`time_steps`."""

    def step(epoch: int) -> float:
        method.train()
        method.set_epoch(epoch)
        optimizer.zero_grad()
        loss = method(data)
        loss.backward()
        optimizer.step()
        return float(loss.detach())

    return step


def step_live_peak_mb(step: Callable[[int], float], epoch: int) -> float:
    """Runs ``step(epoch)`` once under torch's profiler (``profile_memory``)
    and returns the highest total of the tensors the step allocated and
    still held, in MiB: what the step needs on top of what existed before
    it, whatever the allocator keeps (``VmHWM`` also counts freed blocks
    that glibc holds on to). CPU tensors only.
    """
    import tempfile

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step(epoch)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "trace.json")
        prof.export_chrome_trace(path)
        with open(path) as f:
            events = json.load(f)["traceEvents"]
    mem = [e["args"] for e in sorted(events, key=lambda e: e.get("ts", 0))
           if e.get("name") == "[memory]"]
    if not mem:
        return 0.0
    # the allocator's running total also holds blocks that an earlier
    # profiled run allocated and that are still alive: count from the total
    # before the step's first event
    before = mem[0]["Total Allocated"] - mem[0]["Bytes"]
    return (max(m["Total Allocated"] for m in mem) - before) / 2**20


def time_steps(step: Callable[[int], float], epochs: int, warmup: int = 1,
               first_epoch: int = 1) -> dict[str, Any]:
    """Runs ``step(epoch)`` for ``warmup + epochs`` consecutive epochs from
    ``first_epoch``; ``step`` returns the loss.

    Returns:
        dict: ``seconds_per_epoch`` and ``cpu_per_epoch`` (medians over the
        timed epochs), ``wall`` and ``cpu`` (every epoch, warm-up first) and
        ``losses``.
    """
    wall, cpu, losses = [], [], []
    for epoch in range(first_epoch, first_epoch + warmup + epochs):
        t, c = time.perf_counter(), time.process_time()
        losses.append(float(step(epoch)))
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return {"seconds_per_epoch": statistics.median(wall[warmup:]),
            "cpu_per_epoch": statistics.median(cpu[warmup:]),
            "wall": wall, "cpu": cpu, "losses": losses}


def run_child(script: str, args: Sequence[str],
              timeout: Optional[float] = None) -> dict[str, Any]:
    """Runs ``python script *args`` in a fresh process; the child prints one
    JSON object as its last line. Returns it, or ``{"error": ...}`` (the
    last line of stderr, the signal that killed it, or the timeout), with
    ``other_cores`` added: how many cores other processes kept busy on
    average while the child ran (:class:`OtherLoad`).
    """
    with OtherLoad() as load:
        rec = _run_child(script, args, timeout)
    rec["other_cores"] = load.cores
    return rec


def _run_child(script: str, args: Sequence[str],
               timeout: Optional[float]) -> dict[str, Any]:
    try:
        out = subprocess.run([sys.executable, script, *args],
                             capture_output=True, text=True, env=os.environ,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if out.returncode != 0:
        if out.returncode < 0:
            return {"error": f"killed by signal {-out.returncode}"}
        lines = out.stderr.strip().splitlines() or ["no output"]
        return {"error": lines[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def mem_available_mb(device: str = "cpu", missing: float = float("inf")) -> float:
    """``MemAvailable`` of ``/proc/meminfo`` in MiB (``missing`` where
    unknown); on a CUDA device its free memory."""
    if torch.device(device).type == "cuda":
        return torch.cuda.mem_get_info(torch.device(device))[0] / 2**20
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 2**10
    except (OSError, ValueError, IndexError):
        pass
    return missing


def machine_line() -> str:
    """One line naming the machine, threads and versions."""
    cores = os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            total = int(f.readline().split()[1]) / 2**20
        mem = f", {total:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        mem = ""
    return (f"{cpu_model()}, {cores} cores"
            f"{mem}, {torch.get_num_threads()} torch threads "
            f"(OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}), "
            f"torch {torch.__version__}, Python {platform.python_version()}, "
            f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())} "
            f"at the start")


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]
                   ) -> list[str]:
    """A Markdown table."""
    return (["| " + " | ".join(header) + " |",
             "|" + "---|" * len(header)]
            + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows])


def fmt(value: Any, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or the text as it is."""
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}"
    return "" if value is None else str(value)


def ratio(a: dict, b: dict, key: str) -> str:
    """``a[key] / b[key]`` with two decimals, or empty."""
    try:
        return f"{a[key] / b[key]:.2f}"
    except (KeyError, TypeError, ZeroDivisionError):
        return ""
