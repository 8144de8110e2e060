"""benchmarks/gpu/reproduce.py: order, resume, budget (on CPU, tiny runs)."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reproduce():
    spec = importlib.util.spec_from_file_location(
        "gpu_reproduce", ROOT / "benchmarks" / "gpu" / "reproduce.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_plan_is_seed_major_and_skips_missing_configs(reproduce):
    runs = reproduce.plan(["grace", "pot", "no_such_method"], ["Photo", "CS"],
                          [0, 1])
    assert runs == [("grace", "Photo", 0), ("pot", "Photo", 0),
                    ("grace", "CS", 0),  # no pot/CS.yaml
                    ("grace", "Photo", 1), ("pot", "Photo", 1),
                    ("grace", "CS", 1)]


def test_ranking_rows_plan_and_command(reproduce, tmp_path):
    runs = reproduce.plan(["lightgcn", "lightgcl", "lightgcl_paper", "simgcl"],
                          ["Gowalla"], [0])
    assert [m for m, _, _ in runs] == ["lightgcn", "lightgcl", "lightgcl_paper",
                                       "simgcl"]
    assert reproduce._epochs("lightgcn", "Gowalla") == 1000
    args = reproduce.argparse.Namespace(out=tmp_path, device="cuda", epochs=None,
                                        task=["ranking"])
    cmd = reproduce.bench_command("lightgcl_paper", "Gowalla", 0, args, tmp_path)
    assert cmd[3:5] == ["bench", "lightgcl_paper"]
    assert cmd[cmd.index("--task") + 1:] == ["ranking"]


def test_estimate_from_an_earlier_record(reproduce, tmp_path):
    rec = tmp_path / "grace" / "Photo" / "config" / "seed0.json"
    rec.parent.mkdir(parents=True)
    rec.write_text(json.dumps({"seconds_per_epoch": 0.5, "eval_seconds": 3.0}))
    assert reproduce.estimate("grace", "Photo", 100, [tmp_path], "config") == \
        pytest.approx(0.5 * 100 + 3.0 + 15.0)
    assert reproduce.estimate("grace", "CS", 100, [tmp_path], "config") is None


def test_a_record_without_a_requested_task_is_not_done(reproduce, tmp_path):
    rec = tmp_path / "seed0.json"
    assert not reproduce.has_tasks(rec, ["classification"])
    rec.write_text(json.dumps({"protocol": "linear_probe", "tasks": {}}))
    assert reproduce.has_tasks(rec, ["classification"])
    assert not reproduce.has_tasks(rec, ["classification", "clustering"])
    rec.write_text(json.dumps({"protocol": "linear_probe",
                               "tasks": {"clustering": {}}}))
    assert reproduce.has_tasks(rec, ["classification", "clustering"])
    rec.write_text(json.dumps({"protocol": "full_ranking", "tasks": {}}))
    assert reproduce.has_tasks(rec, ["ranking"])
    assert not reproduce.has_tasks(rec, ["classification"])


def test_runs_records_resumes_and_respects_the_budget(reproduce, tmp_path,
                                                      monkeypatch):
    monkeypatch.chdir(ROOT)
    out = tmp_path / "gpu"
    args = ["--out", str(out), "--budget", "300", "--methods", "grace",
            "--datasets", "Cora", "--seeds", "0", "--epochs", "1",
            "--device", "cpu", "--task", "classification"]
    assert reproduce.main(args) == 0
    rec = json.loads((out / "runs/grace/Cora/e1/seed0.json").read_text())
    assert rec["epochs"] == 1 and rec["seed"] == 0
    plan = json.loads((out / "plan.json").read_text())
    assert [r["run"] for r in plan["ran"]] == ["grace/Cora/seed0"]
    assert plan["left"] == []
    # a second call finds the record and runs nothing
    assert reproduce.main(args) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert plan["already_done"] == ["grace/Cora/seed0"] and plan["ran"] == []
    # too little budget for a new seed: skipped, listed as left
    args[args.index("--seeds") + 1] = "1"
    reproduce.main(args[:3] + ["5"] + args[4:])
    plan = json.loads((out / "plan.json").read_text())
    assert plan["ran"] == [] and plan["left"] == ["grace/Cora/seed1"]


def test_a_run_past_the_budget_is_killed(reproduce, tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "bench_command", lambda *a: [
        sys.executable, "-c", "import time; time.sleep(60)"])
    out = tmp_path / "gpu"
    reproduce.main(["--out", str(out), "--budget", "6", "--min-left", "0",
                    "--methods", "grace", "--datasets", "Cora", "--seeds", "0",
                    "--epochs", "1", "--device", "cpu"])
    plan = json.loads((out / "plan.json").read_text())
    assert [u["run"] for u in plan["unfinished"]] == ["grace/Cora/seed0"]
    assert plan["unfinished"][0]["seconds"] < 10
    assert plan["left"] == ["grace/Cora/seed0"]
