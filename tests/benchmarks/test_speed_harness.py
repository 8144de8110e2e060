"""benchmarks/speed_harness.py: the step's live peak counts the tensors a
step allocates and holds at its highest point, not what it freed before."""

import os

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


needs_proc_stat = pytest.mark.skipif(not os.path.exists("/proc/stat"),
                                     reason="needs /proc/stat")


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
