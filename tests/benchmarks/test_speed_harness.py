"""benchmarks/speed_harness.py: the step's live peak counts the tensors a
step allocates and holds at its highest point, not what it freed before."""

import os
import subprocess
import sys
import time

import pytest
import torch


@pytest.fixture(scope="module")
def harness(load_script):
    return load_script("benchmarks/speed_harness.py")


MIB = 2**20


def test_step_live_peak_counts_held_tensors_at_the_highest_point(harness):
    kept = []

    def step(epoch):
        a = torch.ones(MIB // 4)  # 1 MiB, freed before b exists
        del a
        b = torch.ones(2 * MIB // 4)  # 2 MiB, held with c
        c = torch.ones(3 * MIB // 4)  # 3 MiB
        kept.append(c)  # outlives the step
        del b
        return float(epoch)

    peak = harness.step_live_peak_mb(step, 1)
    assert 5.0 <= peak < 5.5  # b and c at once; a was gone
    assert len(kept) == 1


def test_step_live_peak_of_a_step_that_allocates_nothing_is_small(harness):
    x = torch.ones(MIB)
    peak = harness.step_live_peak_mb(lambda epoch: float(x.sum()), 1)
    assert 0.0 <= peak < 0.5


SPIN = ("import time\nt = time.process_time()\n"
        "while time.process_time() - t < {}: pass\n")

needs_proc_stat = pytest.mark.skipif(not os.path.exists("/proc/stat"),
                                     reason="needs /proc/stat")


@needs_proc_stat
def test_other_load_does_not_count_this_process_or_its_children(harness):
    busy = harness.busy_cpu_seconds()
    with harness.OtherLoad() as load:
        subprocess.run([sys.executable, "-c", SPIN.format(0.6)], check=True)
        t = time.process_time()
        while time.process_time() - t < 0.3:
            pass
    busy = harness.busy_cpu_seconds() - busy
    assert load.wall >= 0.9
    # the machine was busy for at least our 0.9 s (more beside other work);
    # the other load is that minus ours (clock ticks: 0.01 s each)
    assert busy >= 0.85
    assert 0.0 <= load.seconds <= busy - 0.85
    assert load.cores == pytest.approx(load.seconds / load.wall)


@needs_proc_stat
def test_other_load_counts_a_process_it_did_not_start(harness):
    sibling = subprocess.Popen([sys.executable, "-c", SPIN.format(1.5)])
    try:
        time.sleep(0.3)  # the sibling's interpreter is up and spinning
        with harness.OtherLoad() as load:
            time.sleep(0.8)
    finally:
        sibling.kill()
        sibling.wait()
    # it is not waited for inside the block, so its time is someone else's:
    # about 0.8 s of one core (less if the machine is oversubscribed)
    assert 0.3 <= load.seconds <= 0.8 * os.cpu_count() + 0.2
    assert "CPU seconds during the 1-second measurement" in load.line(1)


def test_other_load_line_says_whether_the_threads_had_their_cores(harness):
    cores = os.cpu_count()
    load = harness.OtherLoad()
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


@needs_proc_stat
def test_run_child_adds_the_other_processes_load(harness, tmp_path):
    script = tmp_path / "child.py"
    script.write_text('import json\nprint(json.dumps({"x": 1}))\n')
    rec = harness.run_child(str(script), [])
    assert rec["x"] == 1
    assert 0.0 <= rec["other_cores"] <= os.cpu_count()
    script.write_text('import sys\nsys.exit("no data")\n')
    rec = harness.run_child(str(script), [])
    assert rec["error"] == "no data" and "other_cores" in rec
