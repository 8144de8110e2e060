"""Scoring a node protocol during training (``eval.every``, ``eval.start``)
and the reporting rules over the scored epochs."""

import pytest
import torch

from gcl.app.config import load_config
from gcl.app.experiment import run_config

SMALL = ["model.hidden_channels=16", "model.proj_channels=16",
         "train.epochs=4", "eval.protocol=linear_probe", "eval.runs=2",
         "eval.epochs=60"]


def _run(*overrides):
    cfg = load_config("grace", "Cora", [*SMALL, *overrides])
    return run_config(cfg, device="cpu", progress=False)


def test_scored_epochs_and_the_three_rules():
    exp = _run("eval.every=2", "eval.start=1")
    evals = exp.history.evals
    assert [e["epoch"] for e in evals] == [2, 4]
    assert all("val" in e and "accuracy" in e for e in evals)
    final = exp.result
    assert final.protocol == "linear_probe"  # rule final: the full result
    # the last scored epoch is the trained model: the same probe, same seed
    assert evals[-1]["accuracy"] == pytest.approx(final.metrics["accuracy"])
    picked = max(evals, key=lambda e: e["val"])
    sel = exp.extra["val_selected"]
    assert sel.protocol == "linear_probe:val_selected"
    assert sel.details["epoch"] == picked["epoch"]
    assert sel.metrics == {k: v for k, v in picked.items()
                           if k not in ("epoch", "val")}
    best = exp.extra["max_over_epochs"]
    for k in sel.metrics:
        assert best.metrics[k] == max(e[k] for e in evals)
    rec = exp.record()
    assert rec["evals"] == evals
    assert rec["tasks"]["val_selected"]["epoch"] == picked["epoch"]
    assert set(rec["tasks"]["max_over_epochs"]["epochs"]) == set(sel.metrics)


def test_start_leaves_out_the_early_epochs():
    exp = _run("eval.every=1", "eval.start=3")
    assert [e["epoch"] for e in exp.history.evals] == [1, 2, 3, 4]
    assert exp.extra["val_selected"].details["epoch"] == 4
    assert exp.extra["max_over_epochs"].details["num_epochs"] == 1


def test_a_run_shortened_below_start_reports_the_final_model_only():
    # e.g. AdaMEOW's ACM config (start 410) trained for a few epochs
    exp = _run("eval.every=2", "eval.start=10")
    assert [e["epoch"] for e in exp.history.evals] == [2, 4]
    assert exp.result.protocol == "linear_probe"
    assert "val_selected" not in exp.extra
    assert "max_over_epochs" not in exp.extra


def test_scoring_during_training_changes_nothing_in_the_training():
    plain, scored = _run(), _run("eval.every=1")
    assert plain.history.evals == [] and "evals" not in plain.record()
    assert plain.history.loss == scored.history.loss
    assert torch.equal(plain.embeddings, scored.embeddings)
    assert plain.result.metrics == scored.result.metrics


def test_a_selecting_rule_as_the_main_result():
    exp = _run("eval.every=2", "eval.rule=val_selected")
    assert exp.result.protocol == "linear_probe:val_selected"
    assert exp.extra["final"].protocol == "linear_probe"
    assert exp.record()["tasks"]["final"]["metrics"] == exp.extra["final"].metrics


@pytest.mark.parametrize("overrides, match", [
    (["eval.every=-1"], "eval.every must be an integer >= 0"),
    (["eval.every=1.5"], "eval.every must be an integer >= 0"),
    (["eval.start=10"], "eval.start needs eval.every"),
    (["eval.rule=val_selected"], "chooses among scored epochs: set eval.every"),
    (["eval.every=1", "eval.rule=best"], "unknown eval.rule 'best'"),
    (["eval.every=1", "eval.start=4", "eval.rule=max_over_epochs"],
     "after eval.start = 4, but training ends at epoch 4"),
])
def test_bad_schedules(overrides, match):
    with pytest.raises(ValueError, match=match):
        _run(*overrides)


@pytest.mark.parametrize("override, match", [
    ("eval.every=1", "protocol 'clusters' scores every epoch"),
    ("eval.rule=val_selected", "does not apply to protocol 'clusters'"),
])
def test_clusters_protocol_refuses_a_probe_schedule(override, match):
    cfg = load_config("pamc", "Cora", [
        "model.hidden_channels=[16]", "model.out_channels=4",
        "model.pretrain=false", "model.kmeans_n_init=1", "train.epochs=2",
        override])
    with pytest.raises(ValueError, match=match):
        run_config(cfg, device="cpu", progress=False)
