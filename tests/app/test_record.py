"""gcl.app.record: what a finished experiment keeps."""

import os
import subprocess
import sys
import time

import pytest

from gcl.app import record
from gcl.app.experiment import run_experiment
from gcl.app.record import _loss_trace
from gcl.eval import embedding_health
from gcl.train import History


def test_a_record_keeps_its_loss_trace_and_embedding_health():
    exp = run_experiment("grace", "Cora", seed=0, epochs=3, device="cpu",
                         overrides=["model.hidden_channels=8",
                                    "model.proj_channels=8", "eval.runs=1"])
    rec = exp.record()
    assert rec["loss_trace"] == {"every": 1, "values": exp.history.loss}
    assert rec["embedding"] == embedding_health(exp.embeddings)
    assert not rec["embedding"]["collapsed"] and "WARNING" not in exp.summary()
    # a long run: about 100 values, the last epoch always among them
    trace = _loss_trace(History(loss=[float(e) for e in range(1, 251)]))
    assert trace["every"] == 3
    assert trace["values"] == [*range(3, 250, 3), 250]


def test_machine_info_names_the_cpu_and_the_kernels_instruction_set():
    import torch

    from gcl.app.record import machine_info

    info = machine_info()
    assert isinstance(info["cpu"], str) and info["cpu"]
    assert info["cpu_capability"] == torch.backends.cpu.get_cpu_capability()


def test_the_commit_is_the_one_imported_not_the_checkout_at_the_end(monkeypatch):
    # a long run records the code it ran: HEAD moving on meanwhile (or
    # GCL_COMMIT set late) does not change what machine_info reports
    from gcl.app import record

    before = record.machine_info()["commit"]
    monkeypatch.setenv("GCL_COMMIT", "feedbee")
    assert record._git_commit() == "feedbee"
    assert record.machine_info()["commit"] == before


SPIN = ("import time\nt = time.process_time()\n"
        "while time.process_time() - t < {}: pass\n")

needs_proc_stat = pytest.mark.skipif(not os.path.exists("/proc/stat"),
                                     reason="needs /proc/stat")


@needs_proc_stat
def test_other_load_does_not_count_this_process_or_its_children():
    busy = record.busy_cpu_seconds()
    with record.OtherLoad() as load:
        subprocess.run([sys.executable, "-c", SPIN.format(0.6)], check=True)
        t = time.process_time()
        while time.process_time() - t < 0.3:
            pass
    busy = record.busy_cpu_seconds() - busy
    assert load.wall >= 0.9
    # the machine was busy for at least our 0.9 s (more beside other work);
    # the other load is that minus ours (clock ticks: 0.01 s each)
    assert busy >= 0.85
    assert 0.0 <= load.seconds <= busy - 0.85
    assert load.cores == pytest.approx(load.seconds / load.wall)


@needs_proc_stat
def test_other_load_counts_a_process_it_did_not_start():
    sibling = subprocess.Popen([sys.executable, "-c", SPIN.format(1.5)])
    try:
        time.sleep(0.3)  # the sibling's interpreter is up and spinning
        with record.OtherLoad() as load:
            time.sleep(0.8)
    finally:
        sibling.kill()
        sibling.wait()
    # it is not waited for inside the block, so its time is someone else's:
    # about 0.8 s of one core (less if the machine is oversubscribed)
    assert 0.2 <= load.seconds <= 0.8 * os.cpu_count() + 0.2
    assert "CPU seconds during the 1-second measurement" in load.line(1)


def test_other_load_line_says_whether_the_threads_had_their_cores():
    cores = os.cpu_count()
    load = record.OtherLoad()
    load.seconds, load.wall, load.cores = 0.0, 10.0, 0.0
    assert not load.contended(cores)
    assert load.line(1).endswith("1 thread(s) had the cores they needed.")
    # the others kept one core busy: room for cores - 1 threads, not cores
    load.seconds, load.cores = 10.0, 1.0
    assert not load.contended(cores - 1)
    assert load.contended(cores)
    assert "**contended**" in load.line(cores)
    assert "(1.00 of the" in load.line(cores)
    load.seconds = float("nan")
    assert "not measured" in load.line(1)


def test_a_record_says_what_other_processes_took_while_it_trained():
    exp = run_experiment("grace", "Cora", seed=0, epochs=2, device="cpu",
                         overrides=["model.hidden_channels=8",
                                    "model.proj_channels=8", "eval.runs=1"])
    machine = exp.record()["machine"]
    assert machine["cores"] == os.cpu_count()
    assert 0.0 <= machine["other_cores"] <= os.cpu_count()


def test_machine_info_leaves_an_unmeasured_load_empty():
    load = record.OtherLoad()
    load.cores = float("nan")  # no /proc/stat
    info = record.machine_info(None, load)
    assert info["other_cores"] is None and info["cores"] == os.cpu_count()
    assert "other_cores" not in record.machine_info(None)
