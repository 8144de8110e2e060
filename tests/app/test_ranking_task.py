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


def _toy_folder(root: Path, users: int = 40, items: int = 60) -> None:
    """A LightGCN-format 'LastFM' of two taste groups: even users like the
    first half of the items, odd users the second half."""
    import torch

    g = torch.Generator().manual_seed(0)
    folder = root / "rec" / "lastfm"
    folder.mkdir(parents=True)
    train, test = [], []
    for u in range(users):
        half = (u % 2) * (items // 2)
        liked = (half + torch.randperm(items // 2, generator=g)[:12]).tolist()
        train.append(" ".join(map(str, [u, *liked[:9]])))
        test.append(" ".join(map(str, [u, *liked[9:]])))
    (folder / "train.txt").write_text("\n".join(train) + "\n")
    (folder / "test.txt").write_text("\n".join(test) + "\n")


# LightGCL's lambda1 = 0.2 lets the contrastive term swamp BPR on 40 x 60
@pytest.mark.parametrize("method,extra", [("lightgcn", []),
                                          ("lightgcl", ["model.lambda1=0.02"])])
def test_ranking_task_on_a_toy_set_selects_on_validation(tmp_path, method, extra):
    import torch

    from gcl.datasets import load_interactions
    from gcl.eval import ranking_split

    _toy_folder(tmp_path)
    exp = run_experiment(method, "LastFM", epochs=12, root=str(tmp_path),
                         progress=False, tasks=["ranking"], device="cpu",
                         overrides=["eval.every=3", "model.batch_size=64",
                                    "train.lr=0.01", "model.embedding_dim=16",
                                    *extra])
    evals = exp.history.evals
    assert [e["epoch"] for e in evals] == [3, 6, 9, 12]
    best = max(evals, key=lambda e: e["val_recall@20"])  # first maximum
    assert exp.history.best_epoch == best["epoch"]
    # the reported test numbers are those of the returned (best) embeddings
    data = load_interactions("LastFM", root=tmp_path, val_fraction=0.1,
                             seed=exp.config["seed"])
    u, i = exp.embeddings[:40], exp.embeddings[40:]
    assert exp.embeddings.shape == (40 + 60, 16)
    ref = ranking_split(u, i, data, "test", ks=(20, 40))
    for key, value in ref.metrics.items():
        assert exp.result.metrics[key] == pytest.approx(value, abs=1e-12)
    assert exp.result.details["num_excluded"] == data.val.size(1) > 0
    zero = ranking_split(u, i, data, "test", ks=(20, 40), masking="zero")
    assert exp.extra["ranking_masked_zero"].metrics == zero.metrics
    assert exp.record()["best_epoch"] == best["epoch"]
    assert "ranking_masked_zero" in exp.record()["tasks"]
    # 3 test items among the 30 - 9 - val unseen items of the user's half:
    # ranking the own half first puts all of them in the top 20
    assert exp.result.metrics["recall@20"] > 0.8
    assert torch.isfinite(exp.embeddings).all()


def test_refit_retrains_on_all_training_interactions_for_the_chosen_epochs(
        tmp_path):
    import gcl
    from gcl.datasets import load_interactions
    from gcl.eval import ranking_split
    from gcl.methods import build_method

    _toy_folder(tmp_path)
    kw = dict(root=str(tmp_path), progress=False, tasks=["ranking"],
              device="cpu")
    sets = ["eval.every=3", "model.batch_size=64", "train.lr=0.01",
            "model.embedding_dim=16"]
    exp = run_experiment("lightgcn", "LastFM", epochs=12,
                         overrides=[*sets, "eval.refit=true"], **kw)
    refit = exp.extra["ranking_refit"]
    best = exp.history.best_epoch
    assert refit.details["refit_epochs"] == best
    assert refit.details["refit_seconds"] > 0
    task = exp.record()["tasks"]["ranking_refit"]
    assert task["metrics"] == refit.metrics and task["refit_epochs"] == best
    # by hand: every training interaction, the chosen epochs, the same seed
    full = load_interactions("LastFM", root=tmp_path, val_fraction=0.0,
                             seed=exp.config["seed"])
    assert full.val.numel() == 0
    model = build_method("lightgcn", None, num_users=40, num_items=60,
                         **exp.config["model"])
    gcl.fit(model, full, epochs=best, lr=0.01, device="cpu",
            weight_decay=exp.config["train"].get("weight_decay", 0.0),
            seed=exp.config["seed"], progress=False)
    ref = ranking_split(*model.embed(full), full, "test", ks=(20, 40))
    assert refit.metrics == pytest.approx(ref.metrics, abs=1e-12)
    # without a validation split there is nothing to choose the epochs on
    with pytest.raises(ValueError, match="eval.refit needs a validation split"):
        run_experiment("lightgcn", "LastFM", epochs=3,
                       overrides=[*sets, "eval.refit=true",
                                  "data.val_fraction=0.0"], **kw)


def test_refit_checkpoints_beside_the_run_and_resumes(tmp_path):
    import torch

    from gcl.app.ranking import refit_checkpoint

    _toy_folder(tmp_path)
    ckpt = tmp_path / "ck" / "seed0.pt"
    ckpt.parent.mkdir()
    kw = dict(root=str(tmp_path), progress=False, tasks=["ranking"],
              device="cpu", checkpoint=ckpt, resume=True,
              overrides=["eval.every=3", "model.batch_size=64", "train.lr=0.01",
                         "model.embedding_dim=16", "eval.refit=true"])
    first = run_experiment("lightgcn", "LastFM", epochs=9, **kw)
    assert refit_checkpoint(ckpt) == tmp_path / "ck" / "seed0.refit.pt"
    assert refit_checkpoint(None) is None
    state = torch.load(refit_checkpoint(ckpt), weights_only=True)
    assert state["epoch"] == first.history.best_epoch
    # a second call finds both runs finished in their checkpoints
    again = run_experiment("lightgcn", "LastFM", epochs=9, **kw)
    assert again.extra["ranking_refit"].metrics == first.extra["ranking_refit"].metrics
