"""benchmarks/lightgcl_epoch.py: one timed batch of LightGCL and of the
baselines on a toy LightGCN-format set; the record's counts and times agree
with each other, and only LightGCL reports an SVD."""

import json
import sys

import pytest
import torch


def _toy_lastfm(root, users=30, items=50):
    g = torch.Generator().manual_seed(0)
    folder = root / "rec" / "lastfm"
    folder.mkdir(parents=True)
    train, test = [], []
    for u in range(users):
        liked = torch.randperm(items, generator=g)[:12].tolist()
        train.append(" ".join(map(str, [u, *liked[:9]])))
        test.append(" ".join(map(str, [u, *liked[9:]])))
    (folder / "train.txt").write_text("\n".join(train) + "\n")
    (folder / "test.txt").write_text("\n".join(test) + "\n")


@pytest.mark.parametrize("config", ["lightgcl", "lightgcn", "simgcl"])
def test_one_batch_record(load_script, tmp_path, monkeypatch, config):
    _toy_lastfm(tmp_path)
    monkeypatch.setenv("GCL_DATA", str(tmp_path))
    out = tmp_path / "epoch.json"
    monkeypatch.setattr(sys, "argv", [
        "lightgcl_epoch.py", "--dataset", "LastFM", "--config", config,
        "--batches", "1", "--override", "model.batch_size=64",
        "--json", str(out)])
    load_script("benchmarks/lightgcl_epoch.py").main()
    rec = json.loads(out.read_text())
    assert rec["config"] == config and rec["batches_timed"] == 1
    assert rec["batches_per_epoch"] >= 1
    assert rec["extrapolated"] == (rec["batches_per_epoch"] > 1)
    # the epoch is the sampling plus the timed batch times the batch count
    assert rec["epoch_cpu_s"] == pytest.approx(
        rec["sample_s"] + rec["cpu_seconds_per_batch"] * rec["batches_per_epoch"],
        abs=0.05 + 0.001 * rec["batches_per_epoch"])
    assert rec["peak_mb"] >= rec["peak_mb_after_svd"] >= rec["peak_mb_after_load"] > 0
    assert torch.isfinite(torch.tensor(rec["last_loss"]))
    if config == "lightgcl":
        assert rec["svd_s"] >= 0.0 and rec["cache_mb"] is not None
    else:
        assert rec["svd_s"] is None  # the baselines have no SVD view
