"""benchmarks/speed_methods.py: each variant reports the live peak of one
more step, and the page is the generated table followed by the hand-written
notes (so a rerun keeps them)."""

import argparse

import pytest


@pytest.fixture(scope="module")
def bench(load_script):
    return load_script("benchmarks/speed_methods.py")


def _result(seconds, live):
    return {"nodes": 10, "seconds_per_epoch": seconds, "cpu_per_epoch": seconds,
            "peak_mb": 400.0, "train_mb": 100.0, "live_mb": live,
            "setup_s": 0.0, "first_loss": 1.0}


def test_page_has_live_columns_and_keeps_the_notes(bench, tmp_path, monkeypatch):
    notes = tmp_path / "notes.md"
    notes.write_text("**Hand-written.** Kept.\n")
    monkeypatch.setattr(bench, "NOTES", notes)
    out = tmp_path / "page.md"
    rows = [("Cora", "gcool", "node only", 102, 1,
             {"gcl": _result(1.0, 30.0), "reference": _result(2.0, 120.0)})]
    bench.write(argparse.Namespace(out=str(out)), "test machine", rows, quiet=True)
    text = out.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| dataset"))
    row = next(line for line in text.splitlines() if line.startswith("| Cora"))
    cells = dict(zip([c.strip() for c in header.split("|")[1:-1]],
                     [c.strip() for c in row.split("|")[1:-1]]))
    assert cells["gcl step live MiB"] == "30"
    assert cells["ref step live MiB"] == "120"
    assert cells["live ratio"] == "0.25"
    assert cells["time ratio"] == "0.50"
    # the notes follow the table, inside the page's body
    assert text.index("| Cora") < text.index("<!-- notes:start -->") \
        < text.index("**Hand-written.** Kept.") < text.index("[end:body]")


def test_gcool_step_holds_less_than_the_dense_step(bench):
    """A real variant on Cora: the live peak is measured for both, and the
    reference's one N x N similarity matrix (2708^2 float32 = 28 MiB, with
    its exp and gradient) outweighs gcl's block-wise loss."""
    kw = dict(method_name="gcool", dataset="Cora", epochs=1, warmup=0,
              first_epoch=102)
    ours = bench.one_variant(variant="gcl", **kw)
    ref = bench.one_variant(variant="reference", **kw)
    assert ours["first_loss"] == pytest.approx(ref["first_loss"], rel=1e-5)
    assert ref["live_mb"] > 2708**2 * 4 / 2**20
    assert 0 < ours["live_mb"] < ref["live_mb"] / 2
