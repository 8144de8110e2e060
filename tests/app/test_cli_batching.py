import json

import yaml

from gcl.app.cli import _batch_overrides, build_parser, main
from gcl.app.config import load_config
from gcl.app.experiment import _batching


def test_train_in_mini_batches(tmp_path):
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "Cora", "--epochs", "2",
                 "--set", "model.hidden_channels=16", "--set",
                 "model.proj_channels=16", "--batch-size", "512",
                 "--num-neighbors", "5", "-1", "--num-negatives", "256",
                 "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["train"]["batch_size"] == 512
    assert cfg["train"]["num_neighbors"] == [5, -1]
    assert cfg["train"]["num_negatives"] == 256
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    assert 0.0 < metrics["metrics"]["accuracy"] <= 1.0


def test_batch_options_become_overrides():
    args = build_parser().parse_args(["bench", "grace", "--datasets", "Cora",
                                      "--batch-size", "64", "--num-neighbors",
                                      "3", "3"])
    assert _batch_overrides(args) == ["train.batch_size=64",
                                      "train.num_neighbors=[3, 3]"]
    cfg = load_config("grace", "Cora", _batch_overrides(args))
    assert _batching(cfg) == {"batch_size": 64, "num_neighbors": [3, 3]}
    assert _batching(load_config("grace", "Cora")) == {}
    args = build_parser().parse_args(["train", "grace", "--dataset", "Cora",
                                      "--distributed"])
    assert args.distributed and _batch_overrides(args) == []


def test_num_negatives_becomes_an_override():
    args = build_parser().parse_args(["train", "grace", "--dataset", "Cora",
                                      "--batch-size", "64", "--num-negatives",
                                      "128"])
    assert _batch_overrides(args) == ["train.batch_size=64",
                                      "train.num_negatives=128"]
    cfg = load_config("grace", "Cora", _batch_overrides(args))
    assert _batching(cfg) == {"batch_size": 64, "num_negatives": 128}
