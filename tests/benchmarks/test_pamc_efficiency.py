"""benchmarks/pamc_efficiency.py: the dense full pairwise loss it times (the
Graph-MLP / SCGC memory pattern) is gcl's Ncontrast, value and gradient;
its dense Gamma, memory estimate, fit rule and the loss-only section."""

import importlib.util
import types
from pathlib import Path

import pytest
import torch

from gcl.losses import influence_matrix, ncontrast_loss

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "pamc_efficiency", ROOT / "benchmarks" / "pamc_efficiency.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def graph(n=40, e=90, order=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    ei = torch.randint(0, n, (2, e), generator=g)
    gi, gv = influence_matrix(ei, n, order=order, dtype=torch.float64)
    z = torch.randn(n, 6, generator=g, dtype=torch.float64)
    return z, gi, gv


def both(bench, z, gi, gv, tau):
    """(value, grad) of the block-wise and the dense loss."""
    out = []
    for f in (lambda x: ncontrast_loss(x, gi, gv.to(x.dtype), tau,
                                       block_size=7),
              lambda x: bench.dense_ncontrast_loss(
                  x, bench.dense_gamma(gi, gv.to(x.dtype), x.size(0)), tau)):
        x = z.clone().requires_grad_(True)
        loss = f(x)
        loss.backward()
        out.append((loss.detach(), x.grad))
    return out


@pytest.mark.parametrize("tau", [0.5, 2.0])
@pytest.mark.parametrize("order", [1, 3])
def test_dense_equals_ncontrast_float64(bench, tau, order):
    z, gi, gv = graph(order=order)
    (v1, g1), (v2, g2) = both(bench, z, gi, gv, tau)
    assert v1.item() > 0
    torch.testing.assert_close(v2, v1, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g2, g1, rtol=1e-9, atol=1e-12)


def test_dense_equals_ncontrast_float32(bench):
    z, gi, gv = graph(n=300, e=900, order=1, seed=1)
    (v1, g1), (v2, g2) = both(bench, z.float(), gi, gv, 0.5)
    assert abs(v2.item() - v1.item()) < 1e-5
    torch.testing.assert_close(g2, g1, rtol=1e-4, atol=1e-6)


def test_dense_anchor_without_positives(bench):
    """An anchor with no entry in Gamma contributes -log(eps) to both."""
    z, gi, gv = graph(n=12, e=20, order=1, seed=2)
    keep = gi[0] != 3
    gi, gv = gi[:, keep], gv[keep]
    (v1, _), (v2, _) = both(bench, z, gi, gv, 1.0)
    torch.testing.assert_close(v2, v1, rtol=1e-12, atol=1e-12)
    # the value by hand, from the formula with the cosine's zero diagonal
    u = torch.nn.functional.normalize(z, dim=1)
    s = (u @ u.t()).fill_diagonal_(0.0)
    gam = torch.zeros(12, 12, dtype=z.dtype).index_put_(tuple(gi), gv,
                                                        accumulate=True)
    ratio = (gam * s.exp()).sum(1) / s.exp().sum(1)
    assert ratio[3] == 0
    torch.testing.assert_close(v1, -torch.log(ratio + 1e-8).mean())


def test_dense_gamma_sums_duplicates(bench):
    gi = torch.tensor([[0, 0, 2, 1], [1, 1, 2, 0]])
    gv = torch.tensor([0.25, 0.5, 1.0, 2.0])
    want = torch.tensor([[0, 0.75, 0], [2.0, 0, 0], [0, 0, 1.0]])
    torch.testing.assert_close(bench.dense_gamma(gi, gv, 3), want)


def test_dense_estimate(bench):
    est = bench.dense_estimate_mib(1024)  # one float32 matrix = 4 MiB
    assert est["matrix"] == 4.0
    assert est["call"] == 4.0 * bench.DENSE_CALL_MATRICES
    assert est["gamma"] == 4.0
    assert est["total"] == 4.0 * (bench.DENSE_CALL_MATRICES + 1) + \
        bench.PROCESS_MIB
    # Physics (N = 34 493) does not fit on a 24 GiB machine
    assert bench.dense_estimate_mib(34493)["total"] > 24 * 2**10


def test_dense_row_skips_without_memory(bench, monkeypatch):
    monkeypatch.setattr(bench, "mem_available_mb", lambda *a, **k: 8 * 2**10)
    called = []
    monkeypatch.setattr(bench, "run_child", lambda *a: called.append(a))
    args = types.SimpleNamespace(device="cpu", threads=1, loss_repeats=2,
                                 dense_margin_gib=4.0)
    # 4 GiB left: N = 18 333 (about 10.3 GiB) does not fit, N = 8 000 does
    row = bench.dense_row("CS", 18333, "unused.pt", args)
    assert row["skipped"] and not called
    assert row["estimate_mb"]["total"] > 4 * 2**10
    monkeypatch.setattr(bench, "run_child", lambda *a: {"cpu_ms": 1.0})
    row = bench.dense_row("Photo", 8000, "unused.pt", args)
    assert not row["skipped"] and row["cpu_ms"] == 1.0

    def killed(*a):
        raise bench.BrokenProcessPool("terminated abruptly")
    monkeypatch.setattr(bench, "run_child", killed)
    row = bench.dense_row("Photo", 8000, "unused.pt", args)
    assert row["skipped"] and "terminated abruptly" in row["error"]


def _rows():
    def lo(pc, bc, pm, bm):
        return {"PamC": {"ms": pc, "cpu_ms": pc, "user_ms": pc / 2,
                         "increment_mb": pm, "value": 1.0},
                "full": {"ms": bc, "cpu_ms": bc, "user_ms": bc / 2,
                         "increment_mb": bm, "value": 2.0}}
    return [
        {"dataset": "A", "variant": "PamC", "N": 100, "nnz": 300,
         "epochs": 5, "loss_only": lo(2.0, 30.0, 10.0, 20.0)},
        {"dataset": "A", "variant": "dense", "N": 100, "skipped": False,
         "ms": 80.0, "cpu_ms": 80.0, "user_ms": 20.0, "increment_mb": 150.0,
         "gamma_mb": 20.0, "value": 2.0 + 3e-7},
        {"dataset": "B", "variant": "PamC", "N": 1000, "nnz": 3000,
         "epochs": 3, "loss_only": lo(5.0, 900.0, 40.0, 60.0)},
        {"dataset": "B", "variant": "dense", "N": 1000, "skipped": True,
         "estimate_mb": {"matrix": 4.0, "call": 28.0, "gamma": 4.0,
                         "total": 544.0},
         "available_mb": 100.0, "margin_mb": 50.0},
    ]


def test_render_loss_and_splice(bench):
    args = types.SimpleNamespace(datasets=["A", "B"], loss_repeats=6,
                                 device="cpu", threads=1)
    info = {"processor": "x", "platform": "p", "python": "3", "torch": "t",
            "torch_geometric": "g", "gcl": "0", "commit": "abc"}
    lines = bench.render_loss(_rows(), args, info, 60.0, "now", (1.0,))
    text = "\n".join(lines)
    assert lines[0] == bench.MARK_START and lines[-1] == bench.MARK_END
    # A: times 15x (block-wise) and 40x (dense); memory 2.0x, 15x (17x)
    assert "| A | 100 | 300 | 5 | 2.0 | 30.0 | 80.0 | 15.0 | 40.0 | " \
           "10.0 | 20.0 | 150.0 | 20 | 2.0 | 15.0 (17.0) |" in text
    assert "| B | 1000 | 3000 | 3 | 5.0 | 900.0 | does not fit | 180 | - |" \
        in text
    assert "on A (N = 100), the largest graph where the dense loss ran " \
           "here, PamC's loss is 40.0x faster (CPU time; 20.0x in user " \
           "CPU time alone)" in text
    assert "| A | 1.0 | 15.0 | 20.0 | 20.0 | 2.0 | 30.0 | 80.0 |" in text
    assert "**met**" in text and "3.0e-07" in text
    assert "On B (N = 1000), the dense loss does not fit" in text
    old = "head\n" + bench.MARK_START + "\nold\n" + bench.MARK_END + "\ntail"
    new = bench.splice_loss(old, lines)
    assert new.startswith("head\n" + bench.MARK_START)
    assert new.endswith(bench.MARK_END + "\ntail") and "\nold\n" not in new
    with pytest.raises(ValueError):
        bench.splice_loss("no markers", lines)
