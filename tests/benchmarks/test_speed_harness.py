"""benchmarks/speed_harness.py: the step's live peak counts the tensors a
step allocates and holds at its highest point, not what it freed before."""

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
