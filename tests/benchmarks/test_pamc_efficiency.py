"""benchmarks/pamc_efficiency.py: the dense full pairwise loss it times (the
Graph-MLP / SCGC memory pattern) is gcl's Ncontrast, value and gradient, and
its dense epoch variant trains the block-wise variant's objective; its dense
Gamma, memory estimates, fit rules, tables, target and kept notes."""

import types

import pytest
import torch

import gcl
from gcl.losses import influence_matrix, ncontrast_loss


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("benchmarks/pamc_efficiency.py")


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


# --- the dense epoch variant ------------------------------------------------

def small_data(n=48, f=12, e=150, seed=3):
    from torch_geometric.data import Data
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, f, generator=g, dtype=torch.float64)
    ei = torch.randint(0, n, (2, e), generator=g)
    ei = torch.cat([ei, ei.flip(0)], dim=1)
    return Data(x=x, edge_index=ei, num_nodes=n)


def small_models(bench, order):
    kw = dict(num_clusters=3, hidden_channels=[16, 16], out_channels=5,
              order=order, tau=0.5, pretrain=False, kmeans_n_init=2)
    out = []
    for cls in (bench.FullContrastPamC, bench.DenseContrastPamC):
        torch.manual_seed(0)
        out.append(cls.from_config(12, **kw).double())
    return out


@pytest.fixture
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


@pytest.mark.parametrize("order", [1, 2])
def test_dense_epoch_variant_equals_full_float64(bench, float64, order):
    """DenseContrastPamC's objective (dense Gamma held from prepare) is
    FullContrastPamC's, value and gradients, and so is a short gcl.fit."""
    data = small_data()
    full, dense = small_models(bench, order)
    for m in (full, dense):
        torch.manual_seed(1)
        m.prepare(data)
    assert dense.gamma_dense_.shape == (48, 48)
    assert dense.gamma_dense_.dtype == torch.float64
    torch.testing.assert_close(
        dense.gamma_dense_,
        bench.dense_gamma(full.gamma_index_, full.gamma_value_, 48))
    torch.testing.assert_close(dense.head.centers, full.head.centers)
    losses, grads = [], []
    for m in (full, dense):
        loss = m(data)
        loss.backward()
        losses.append(loss.detach())
        grads.append([p.grad for p in m.parameters()])
    assert losses[0].item() > 0
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-12, atol=1e-12)
    for g1, g0 in zip(grads[1], grads[0]):
        torch.testing.assert_close(g1, g0, rtol=1e-8, atol=1e-12)
    # whole training epochs through gcl.fit, seeded alike
    hist = [gcl.fit(m, data, epochs=3, lr=1e-3, device="cpu", seed=7,
                    progress=False) for m in small_models(bench, order)]
    assert len(hist[1].loss) == 3
    torch.testing.assert_close(torch.tensor(hist[1].loss),
                               torch.tensor(hist[0].loss), rtol=1e-10,
                               atol=1e-12)


def test_dense_epoch_variant_needs_prepare(bench):
    _, dense = small_models(bench, 1)
    with pytest.raises(RuntimeError, match="prepare"):
        dense(small_data())
    dense.prepare(small_data())
    dense.reset_parameters()
    assert dense.gamma_dense_ is None


def test_dense_epoch_estimate(bench):
    est = bench.dense_epoch_estimate_mib(1024, 700.0)
    assert est["process"] == 700.0
    assert est["total"] == 4.0 * (bench.DENSE_CALL_MATRICES + 1) + 700.0
    # CS (N = 18 333) with its ~1.7 GiB PamC child: about 11.7 GiB
    cs = bench.dense_epoch_estimate_mib(18333, 1697.0)["total"]
    assert 11 * 2**10 < cs < 12 * 2**10


def test_dense_epoch_row_skips_without_memory(bench, monkeypatch):
    pamc = {"N": 18333, "peak_mb": 1700.0}
    monkeypatch.setattr(bench, "mem_available_mb", lambda *a, **k: 14 * 2**10)
    called = []
    monkeypatch.setattr(bench, "run_child", lambda *a: called.append(a))
    args = types.SimpleNamespace(device="cpu", threads=1, loss_repeats=2,
                                 dense_margin_gib=4.0)
    # 10 GiB left: CS (about 11.7 GiB) does not fit, N = 8 000 does
    row = bench.dense_epoch_row("CS", pamc, 5, args)
    assert row["skipped"] and not called
    assert row["variant"] == bench.DENSE_EPOCHS and row["epochs"] == 5
    assert row["estimate_mb"]["process"] == 1700.0
    monkeypatch.setattr(bench, "run_child",
                        lambda *a: called.append(a) or {"cpu_s_epoch": 2.0})
    row = bench.dense_epoch_row("Photo", {"N": 8000, "peak_mb": 900.0}, 4,
                                args)
    assert not row["skipped"] and row["cpu_s_epoch"] == 2.0
    # the child trains the dense variant for the epochs, no loss-only part
    assert called[-1][1:5] == ("Photo", bench.DENSE_EPOCHS, 4, "cpu")
    assert called[-1][6] == 0
    monkeypatch.setattr(bench, "mem_available_mb",
                        lambda *a, **k: float("nan"))
    assert bench.dense_epoch_row("Photo", {"N": 8000, "peak_mb": 900.0}, 4,
                                 args)["skipped"]

    def killed(*a):
        raise bench.BrokenProcessPool("terminated abruptly")
    monkeypatch.setattr(bench, "mem_available_mb", lambda *a, **k: 14 * 2**10)
    monkeypatch.setattr(bench, "run_child", killed)
    row = bench.dense_epoch_row("Photo", {"N": 8000, "peak_mb": 900.0}, 4,
                                args)
    assert row["skipped"] and "terminated abruptly" in row["error"]


def _epoch_row(ds, variant, n, cpu, peak, fit, ep, wall=None):
    return {"dataset": ds, "variant": variant, "N": n, "F": 10, "nnz": 3 * n,
            "order": 1, "K": 3, "K_used": 2, "epochs": 5,
            "s_epoch": wall or cpu, "cpu_s_epoch": cpu,
            "seconds": [cpu] * 5, "cpu_seconds": [cpu] * 5,
            "peak_mb": peak, "fit_increment_mb": fit,
            "epochs_increment_mb": ep, "skipped": False}


def _full_rows():
    rows = _rows()
    rows[0].update(_epoch_row("A", "PamC", 100, 1.0, 500.0, 100.0, 50.0))
    rows[2].update(_epoch_row("B", "PamC", 1000, 2.0, 800.0, 200.0, 100.0))
    rows += [
        _epoch_row("A", "full", 100, 1.5, 520.0, 120.0, 60.0),
        _epoch_row("A", "dense-epochs", 100, 12.0, 6000.0, 5600.0, 5000.0,
                   wall=30.0),
        _epoch_row("B", "full", 1000, 5.0, 900.0, 300.0, 150.0),
        {"dataset": "B", "variant": "dense-epochs", "N": 1000, "epochs": 5,
         "skipped": True, "available_mb": 100.0, "margin_mb": 50.0,
         "estimate_mb": {"matrix": 4.0, "call": 28.0, "gamma": 4.0,
                         "process": 800.0, "total": 832.0}},
    ]
    return rows


def test_render_epochs_dense_columns(bench):
    args = types.SimpleNamespace(datasets=["A", "B"], loss_repeats=6,
                                 device="cpu", threads=1, epochs=5,
                                 dense_margin_gib=4.0)
    info = {"processor": "x", "platform": "p", "python": "3", "torch": "t",
            "torch_geometric": "g", "gcl": "0", "commit": "abc"}
    text = bench.render(_full_rows(), args, info, 60.0, "now", (1.0,))
    # epoch time: wall 30 s for 12 CPU s is flagged; ratios 1.5 and 12
    assert "| A | 100 | 10 | 300 | 1 | 3 (2) | 5 | 1.000 | 1.500 | 30.00† | " \
           "1.50 | 30.00 | 1.000 | 1.500 | 12.00 | 1.50 | 12.00 |" in text
    assert "| B | 1000 | 10 | 3000 | 1 | 3 (2) | 5 | 2.000 | 5.000 | " \
           "does not fit | 2.50 | - | 2.000 | 5.000 | does not fit | 2.50 " \
           "| - |" in text
    # memory: peak 12x, fit 56x, epochs 100x
    assert "| 500 | 520 | 6000 | 1.04 | 12.00 | 100 | 120 | 5600 | 1.20 | " \
           "56.00 | 50 | 60 | 5000 | 1.20 | 100.00 |" in text
    assert "| 800 | 900 | est. 832 | 1.12 | - | 200 | 300 | - | 1.50 | - " \
           "| 100 | 150 | - | 1.50 | - |" in text
    assert "- B: dense epochs not run. Estimate 0.8 GiB" in text
    assert "- A dense: 12.000/12.000" in text
    assert "- B block-wise: 5.000/5.000" in text
    # target (b), from the rows
    assert "(b) *A whole training epoch* (`gcl.fit`, the epoch tables): on " \
           "A (N = 100), the largest graph where the dense loss's epochs " \
           "ran here, a PamC epoch takes 1.000 CPU s against 12.00 with " \
           "the dense loss (12.0x; 30.0x wall) and PamC's process peaks at " \
           "500 MiB against 6000 MiB (12.0x; the training increment 56.0x " \
           "over `fit`, 100x over the epochs alone): **met** against the " \
           "dense loss." in text
    assert "On B (N = 1000), the largest graph, the dense loss's epochs do " \
           "not fit (estimate 0.8 GiB); PamC trains there at 2.000 CPU s " \
           "per epoch" in text
    assert "Against the block-wise full loss, which runs on every graph: on " \
           "B 2.5x in CPU time per epoch and 1.1x in peak memory (1.5x over " \
           "the epochs alone): **not met**; over all graphs 1.50-2.50x in " \
           "CPU time and 1.04-1.12x in peak memory." in text
    assert "not rerun in this run" not in text
    # (b) not met once the dense epoch is under 10x the PamC one
    rows = _full_rows()
    rows[-3]["peak_mb"] = 4000.0
    text = bench.render(rows, args, info, 60.0, "now", (1.0,))
    assert "(8.0x; the training increment" in text
    assert "**not met (time met, peak memory not met)** against the " \
           "dense loss" in text
    rows[-3]["cpu_s_epoch"] = 9.0
    text = bench.render(rows, args, info, 60.0, "now", (1.0,))
    assert "**not met (time not met, peak memory not met)**" in text
    # no dense epochs at all
    rows = [r for r in _full_rows() if r["variant"] != "dense-epochs"]
    text = bench.render(rows, args, info, 60.0, "now", (1.0,))
    assert "the dense loss's epochs ran on no graph in this run" in text
    assert "| 2.000 | 5.000 | not run | 2.50 | - |" in text


def test_loss_only_render_has_no_epoch_target(bench):
    args = types.SimpleNamespace(datasets=["A", "B"], loss_repeats=6,
                                 device="cpu", threads=1, epochs=5,
                                 dense_margin_gib=4.0)
    info = {"processor": "x", "platform": "p", "python": "3", "torch": "t",
            "torch_geometric": "g", "gcl": "0", "commit": "abc"}
    text = "\n".join(bench.render_loss(_rows(), args, info, 60.0, "now",
                                       (1.0,)))
    assert "(b) *A whole training epoch*: not rerun in this run" in text


def test_keep_notes(bench):
    notes = bench.NOTES + "\n\n- a note\n"
    old = "# t\nold body\n\n" + notes + bench.BODY_END + "\n"
    new = "# t\nnew body\n\n" + bench.BODY_END + "\n"
    out = bench.keep_notes(old, new)
    assert out == "# t\nnew body\n\n" + notes + bench.BODY_END + "\n"
    assert bench.keep_notes(out, new) == out  # idempotent
    assert bench.keep_notes("no notes", new) == new
    # notes at the end of a file without the body marker
    assert bench.keep_notes("x\n" + notes, new) == out
