"""benchmarks/hetero_epoch.py: HeCo's reference swaps the functions gcl's
HeCo really calls (a swap of a moved name fails instead of measuring gcl),
and the page renders the step live peaks and the other processes' load."""

import os

import pytest
import torch

import gcl.losses._blockwise as blockwise
import gcl.losses.heco as heco_loss
import gcl.nn.gcn_encoder as gcn_encoder
import gcl.nn.meta_path_gcn as meta_path_gcn


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("benchmarks/hetero_epoch.py")


def test_heco_reference_swaps_what_heco_calls(bench, monkeypatch):
    for module, name in [(blockwise, "_FIXED_SHIFT_RANGE"),
                         (heco_loss, "_prepared_pairs"), (heco_loss, "pair_dots"),
                         (gcn_encoder, "spmm"), (meta_path_gcn, "spmm")]:
        monkeypatch.setattr(module, name, getattr(module, name))  # restored after
    bench.use_heco_reference()
    assert gcn_encoder.spmm is torch.sparse.mm
    assert blockwise._FIXED_SHIFT_RANGE == 0.0  # the max-shifted path
    assert meta_path_gcn.spmm is torch.sparse.mm
    # the meta-path encoder's layers are gcn_encoder's, so they call the swap
    from gcl.nn.meta_path_encoder import MetaPathEncoder

    enc = MetaPathEncoder(4, num_meta_paths=1)
    assert all(type(c).__module__ == "gcl.nn.gcn_encoder" for c in enc.convs)


def test_swap_refuses_a_name_the_module_lacks(bench):
    with pytest.raises(RuntimeError, match="no 'spmm_moved'"):
        bench.swap(gcn_encoder, "spmm_moved", torch.sparse.mm)


def test_live_pair_renders_old_records_as_a_dash(bench):
    ref, new = {"step_live_mb": 266.0}, {"step_live_mb": 89.1}
    assert bench.live_pair(ref, new) == "266 / 89"
    assert bench.live_pair({}, {"step_live_mb": 89.1}) == "-"


def test_others_pair_flags_a_child_that_lacked_a_core(bench):
    cores = os.cpu_count()
    idle = {"other_cores": 0.01, "threads": 1}
    assert bench.others_pair(idle, idle) == "0.01 / 0.01"
    # the others kept every core busy: a one-thread child waited
    full = {"other_cores": float(cores), "threads": 1}
    assert bench.others_pair(idle, full) == f"0.01 / {cores:.2f} **contended**"
    assert bench.others_pair({}, idle) == "-"  # a record from before
