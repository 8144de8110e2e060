import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gcl.app.cli import build_parser, main


@pytest.mark.parametrize("command", ["train", "eval", "bench", "datasets"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as err:
        main([command, "--help"])
    assert err.value.code == 0
    assert "usage: gcl " + command in capsys.readouterr().out


@pytest.mark.parametrize("argv, words", [
    (["train", "nosuch", "--dataset", "Cora"], ["no configs", "'nosuch'"]),
    (["train", "grace", "--dataset", "NoSuchSet"], ["no grace config",
                                                    "'NoSuchSet'", "Cora"]),
    (["train", "grace", "--dataset", "Cora", "--set", "model.tau"],
     ["model.tau", "key=value"]),
])
def test_bad_input_is_one_error_line_not_a_traceback(argv, words, capsys,
                                                      monkeypatch):
    monkeypatch.delenv("GCL_TRACEBACK", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("gcl train: error: ") and len(err.splitlines()) == 1
    assert "Traceback" not in err and all(w in err for w in words)
    monkeypatch.setenv("GCL_TRACEBACK", "1")  # developers get the traceback
    with pytest.raises(ValueError):
        main(argv)


def test_train_writes_outputs_and_eval_reads_them(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "grace", "--dataset", "Cora", "--epochs", "2",
                 "--set", "model.hidden_channels=16", "--set",
                 "model.proj_channels=16", "--out", str(out), "--quiet",
                 "--device", "cpu"]) == 0
    for name in ["embeddings.pt", "metrics.json", "config.yaml", "loss.png",
                 "history.json", "checkpoint.pt"]:
        assert (out / name).exists(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["protocol"] == "grace"
    assert 0.0 < metrics["metrics"]["accuracy"] <= 1.0
    z = torch.load(out / "embeddings.pt")
    assert z.shape == (2708, 16)
    capsys.readouterr()
    assert main(["eval", "--embeddings", str(out / "embeddings.pt"),
                 "--dataset", "Cora", "--protocol", "grace", "--runs", "1",
                 "--json", str(tmp_path / "r.json")]) == 0
    assert "grace: accuracy" in capsys.readouterr().out
    assert json.loads((tmp_path / "r.json").read_text())["protocol"] == "grace"


def test_parser_errors():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "grace"])  # --dataset is required


def test_eval_clustering_and_ranking(tmp_path, capsys):
    z = torch.randn(2708, 8)
    torch.save(z, tmp_path / "z.pt")
    assert main(["eval", "--embeddings", str(tmp_path / "z.pt"), "--dataset",
                 "Cora", "--task", "clustering", "--runs", "1"]) == 0
    assert "kmeans" in capsys.readouterr().out
    users, items = torch.randn(3, 4), torch.randn(5, 4)
    torch.save(users, tmp_path / "u.pt")
    torch.save(items, tmp_path / "i.pt")
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "train.txt").write_text("0 1 2\n1 0\n2 4\n")
    (tmp_path / "rec" / "test.txt").write_text("0 3\n1 4 2\n2 1\n")
    assert main(["eval", "--embeddings", str(tmp_path / "u.pt"), "--task",
                 "ranking", "--item-embeddings", str(tmp_path / "i.pt"),
                 "--interactions", str(tmp_path / "rec"), "--ks", "2"]) == 0
    assert "recall@2" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="training edges"):
        main(["eval", "--embeddings", str(tmp_path / "z.pt"), "--dataset",
              "Cora", "--task", "link"])


def test_python_m_gcl_is_the_gcl_command():
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-m", "gcl", "train", "--help"],
                         cwd=root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("usage: gcl train")
    assert "--record" not in out.stdout


def test_deterministic_flag_reaches_train_and_bench(monkeypatch):
    import gcl.app.bench
    import gcl.app.experiment

    seen = {}

    def fake_run(*args, deterministic_algorithms=False, **kwargs):
        seen["train"] = deterministic_algorithms
        raise SystemExit(0)

    def fake_bench(*args, deterministic_algorithms=False, **kwargs):
        seen["bench"] = deterministic_algorithms
        return []

    monkeypatch.setattr(gcl.app.experiment, "run_experiment", fake_run)
    monkeypatch.setattr(gcl.app.bench, "run_bench", fake_bench)
    with pytest.raises(SystemExit):
        main(["train", "grace", "--dataset", "Cora", "--deterministic"])
    main(["bench", "grace", "--datasets", "Cora", "--deterministic"])
    assert seen == {"train": True, "bench": True}
    args = build_parser().parse_args(["bench", "grace", "--datasets", "Cora"])
    assert args.deterministic is False


def test_bench_exits_1_when_a_run_writes_no_record(tmp_path, capsys):
    # a list is no temperature: the run's child fails, the command says so
    code = main(["bench", "grace", "--datasets", "Cora", "--seed-list", "0",
                 "--epochs", "1", "--set", "model.tau=[0.5]", "--device", "cpu",
                 "--runs-dir", str(tmp_path), "--results-dir", str(tmp_path)])
    assert code == 1
    err = capsys.readouterr().err
    assert "gcl bench: 1 of 1 runs wrote no record" in err


def test_bench_variants_lists_without_training(tmp_path, capsys):
    rec = {"method": "grace", "dataset": "Cora", "seed": 0, "epochs": 2,
           "protocol": "grace", "metrics": {"accuracy": 0.8},
           "seconds_per_epoch": 0.1, "peak_memory_mb": 1.0, "machine": {}}
    path = tmp_path / "grace" / "Cora" / "e2" / "seed0.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(rec))
    assert main(["bench", "grace", "--datasets", "cora", "--variants",
                 "--runs-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "| e2 | - | 2 | 0 | - | 80.00 ± 0.00 |  |" in out
    assert sorted(p.name for p in tmp_path.rglob("*.json")) == ["seed0.json"]
    assert main(["bench", "grace", "--variants"]) == 2  # no --datasets
