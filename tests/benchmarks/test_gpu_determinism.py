"""benchmarks/diagnostics/gpu_determinism.py: the comparisons it prints find
a one-ulp difference, and on the CPU every piece of a GRACE step and a short
trajectory repeat bit for bit (what a GPU line is measured against)."""

import pytest
import torch
from torch_geometric.data import Data

from gcl.methods import build_method


@pytest.fixture(scope="module")
def det(load_script):
    return load_script("benchmarks/diagnostics/gpu_determinism.py")


def test_compare_finds_a_one_ulp_difference(det):
    a = torch.tensor([1.0, 2.0])
    b = torch.nextafter(a, torch.tensor([3.0, 3.0]))
    assert det.compare((a, a), (a, a.clone())) == {"equal": True, "tensors": 2}
    r = det.compare({"x": a, "y": a}, {"x": a, "y": b})
    assert r["equal"] is False and r["differ"] == 1
    assert r["max_abs_diff"] == pytest.approx(2.0 ** -22)  # ulp of 2.0
    assert det.compare(a, a[:1]) == {"equal": False, "note": "different shapes"}


def test_every_piece_and_the_trajectory_repeat_on_the_cpu(det):
    g = torch.Generator().manual_seed(0)
    n = 40
    edge_index = torch.randint(n, (2, 160), generator=g)
    data = Data(x=torch.rand(n, 12, generator=g),
                edge_index=torch.cat([edge_index, edge_index.flip(0)], 1))
    torch.manual_seed(0)
    model = build_method("grace", 12, hidden_channels=8, proj_channels=8,
                         drop_edge=[0.3, 0.4], drop_feature=[0.2, 0.3], tau=0.5)
    model.prepare(data)
    cfg = {"train": {"lr": 0.1, "weight_decay": 1e-5}}
    with torch.no_grad():
        before = [p.clone() for p in model.parameters()]
    pieces = det.pieces(model, data, seed=3)
    assert set(pieces) == {"views", "scatter", "csr", "spmm", "encode",
                           "objective", "step", "adam"}
    assert all(r["equal"] for r in pieces.values()), pieces
    t = det.trajectory(model, data, cfg, epochs=4, seed=3, device="cpu")
    assert t["first_differing_epoch"] is None and t["parameters"]["equal"]
    assert t["loss_a"] == t["loss_b"]
    # the copies trained; the model handed in did not move
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))
