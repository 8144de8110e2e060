"""The ranking task of the application: recommenders from their configs."""

import os
from pathlib import Path

import pytest

from gcl.app.experiment import run_experiment


def _lastfm():
    root = os.environ.get("GCL_DATA")
    if not root or not (Path(root) / "rec" / "lastfm" / "train.txt").is_file():
        pytest.skip("set GCL_DATA to shared/data")
    return root


def test_lightgcn_lastfm_ranking_task():
    root = _lastfm()
    exp = run_experiment("lightgcn", "LastFM", epochs=1, root=root, progress=False,
                         overrides=["eval.every=1", "model.num_layers=1"],
                         tasks=["ranking"], device="cpu")
    assert exp.result.protocol == "full_ranking"
    assert exp.result.details["split"] == "test"
    assert exp.result.details["num_excluded"] > 0  # validation items masked
    assert 0.0 < exp.result.metrics["recall@20"] < 1.0
    assert [e["epoch"] for e in exp.history.evals] == [1]
    assert exp.embeddings.shape == (1892 + 4489, 64)
    with pytest.raises(ValueError, match="recommender"):
        run_experiment("lightgcn", "LastFM", epochs=1, root=root,
                       tasks=["clustering"], progress=False)
