"""benchmarks/gpu/reproduce.py: order, resume, budget (on CPU, tiny runs)."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def reproduce(load_script):
    return load_script("benchmarks/gpu/reproduce.py")


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
    monkeypatch.setattr(reproduce, "bench_command", lambda *a, **k: [
        sys.executable, "-c", "import time; time.sleep(60)"])
    out = tmp_path / "gpu"
    reproduce.main(["--out", str(out), "--budget", "6", "--min-left", "0",
                    "--methods", "grace", "--datasets", "Cora", "--seeds", "0",
                    "--epochs", "1", "--device", "cpu"])
    plan = json.loads((out / "plan.json").read_text())
    assert [u["run"] for u in plan["unfinished"]] == ["grace/Cora/seed0"]
    assert plan["unfinished"][0]["seconds"] < 10
    assert plan["left"] == ["grace/Cora/seed0"]


def _fake_bench(reproduce, seconds):
    """A bench_command whose process sleeps, then writes the run's record
    with its start and end times."""
    def command(method, dataset, seed, args, runs, overrides=None):
        tag = reproduce.variant_tag(args.epochs, overrides or [])
        rec = reproduce._record(runs, method, dataset, tag, seed)
        code = (f"import json, pathlib, time; t = time.time(); "
                f"time.sleep({seconds}); p = pathlib.Path({str(rec)!r}); "
                f"p.parent.mkdir(parents=True, exist_ok=True); "
                f"p.write_text(json.dumps({{'seconds_per_epoch': 0.1, "
                f"'machine': {{'gpu': 'X'}}, 'start': t, 'end': time.time()}}))")
        return [sys.executable, "-c", code]
    return command


def test_jobs_run_at_once_and_records_say_so(reproduce, tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "bench_command", _fake_bench(reproduce, 1.5))
    out = tmp_path / "gpu"
    assert reproduce.main(["--out", str(out), "--budget", "60", "--jobs", "2",
                           "--methods", "grace", "--datasets", "Cora",
                           "--seeds", "0", "1", "2", "--epochs", "1",
                           "--device", "cpu"]) == 0
    plan = json.loads((out / "plan.json").read_text())
    at_once = {r["run"]: r["runs_at_once"] for r in plan["ran"]}
    assert at_once["grace/Cora/seed0"] == at_once["grace/Cora/seed1"] == 2
    assert plan["jobs"] == 2 and plan["left"] == []
    recs = [json.loads((out / f"runs/grace/Cora/e1/seed{s}.json").read_text())
            for s in range(3)]
    # seeds 0 and 1 overlapped, seed 2 waited for a free slot
    assert recs[0]["start"] < recs[1]["end"] and recs[1]["start"] < recs[0]["end"]
    assert recs[2]["start"] >= min(recs[0]["end"], recs[1]["end"]) - 0.05
    assert recs[0]["machine"] == {"gpu": "X", "concurrent_runs": 2}


def test_one_job_leaves_the_record_as_written(reproduce, tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "bench_command", _fake_bench(reproduce, 0.1))
    out = tmp_path / "gpu"
    reproduce.main(["--out", str(out), "--budget", "60", "--methods", "grace",
                    "--datasets", "Cora", "--seeds", "0", "--epochs", "1",
                    "--device", "cpu"])
    rec = json.loads((out / "runs/grace/Cora/e1/seed0.json").read_text())
    assert rec["machine"] == {"gpu": "X"}


def test_jobs_must_be_positive(reproduce, tmp_path):
    with pytest.raises(SystemExit):
        reproduce.main(["--out", str(tmp_path), "--jobs", "0"])


def test_checkpoint_options_reach_gcl_bench(reproduce, tmp_path):
    args = reproduce.argparse.Namespace(out=tmp_path, device="cuda", epochs=None,
                                        task=["classification"],
                                        checkpoint_dir=tmp_path / "ck",
                                        checkpoint_seconds=30.0)
    cmd = reproduce.bench_command("grace", "Photo", 0, args, tmp_path)
    i = cmd.index("--checkpoint-dir")
    assert cmd[i + 1:i + 4] == [str(tmp_path / "ck"), "--checkpoint-seconds", "30.0"]
    assert "--deterministic" not in cmd
    args.deterministic = True
    assert "--deterministic" in reproduce.bench_command("grace", "Photo", 0,
                                                        args, tmp_path)


def test_estimate_reads_only_records_of_the_same_kind_of_device(reproduce,
                                                                tmp_path):
    folder = tmp_path / "grace" / "Physics" / "e200"
    folder.mkdir(parents=True)
    cpu = {"seconds_per_epoch": 127.0, "eval_seconds": 30.0,
           "machine": {"processor": "x86_64"}}
    (folder / "seed0.json").write_text(json.dumps(cpu))
    # the CPU record says nothing about a GPU run, and vice versa
    assert reproduce.estimate("grace", "Physics", 10, [tmp_path], "e200",
                              "cuda") is None
    assert reproduce.estimate("grace", "Physics", 10, [tmp_path], "e200",
                              "cpu") == 127.0 * 10 + 30.0 + 15.0
    gpu = {"seconds_per_epoch": 0.5, "eval_seconds": 4.0,
           "machine": {"gpu": "NVIDIA H100 80GB HBM3"}}
    (folder / "seed1.json").write_text(json.dumps(gpu))
    assert reproduce.estimate("grace", "Physics", 10, [tmp_path], "e200",
                              "cuda") == 0.5 * 10 + 4.0 + 15.0


def test_a_checkpoint_shortens_the_estimate(reproduce, tmp_path, monkeypatch):
    """A run cut off by an earlier call's budget is started again when the
    epochs its checkpoint still needs fit, though the whole run would not."""
    import torch

    known = tmp_path / "known"
    rec = known / "grace" / "Cora" / "e100" / "seed9.json"
    rec.parent.mkdir(parents=True)
    rec.write_text(json.dumps({"seconds_per_epoch": 1.0, "eval_seconds": 0.0}))
    ck = tmp_path / "ck"
    path = reproduce.checkpoint_path(ck, "grace", "Cora", "e100", 0)
    path.parent.mkdir(parents=True)
    torch.save({"epoch": 90}, path)
    assert reproduce.resumed_epoch(path) == 90
    assert reproduce.resumed_epoch(tmp_path / "none.pt") == 0
    monkeypatch.setattr(reproduce, "bench_command", lambda *a, **k: [
        sys.executable, "-c", "pass"])
    base = ["--budget", "60", "--min-left", "0", "--methods", "grace",
            "--datasets", "Cora", "--seeds", "0", "--epochs", "100",
            "--device", "cpu", "--known", str(known)]
    # 100 epochs x 1 s + 15 s does not fit 60 s: skipped
    reproduce.main(["--out", str(tmp_path / "a"), *base])
    plan = json.loads((tmp_path / "a" / "plan.json").read_text())
    assert plan["left"] == ["grace/Cora/seed0"] and plan["ran"] == []
    # 10 epochs left in the checkpoint: 10 x 1 s + 15 s fits
    reproduce.main(["--out", str(tmp_path / "b"), *base, "--checkpoint-dir", str(ck)])
    plan = json.loads((tmp_path / "b" / "plan.json").read_text())
    assert [r["run"] for r in plan["ran"]] == ["grace/Cora/seed0"]


def test_grid_runs_every_combination_in_its_own_variant(reproduce, tmp_path,
                                                        monkeypatch):
    assert reproduce.grid_overrides(["a=1"], ["b=[0.3,0.5]|[0.2,0.4]",
                                              "c=x|y"]) == [
        ["a=1", "b=[0.3,0.5]", "c=x"], ["a=1", "b=[0.3,0.5]", "c=y"],
        ["a=1", "b=[0.2,0.4]", "c=x"], ["a=1", "b=[0.2,0.4]", "c=y"]]
    assert reproduce.grid_overrides([], []) == [[]]
    with pytest.raises(ValueError, match="KEY=V1"):
        reproduce.grid_overrides([], ["no_value"])
    monkeypatch.setattr(reproduce, "bench_command", _fake_bench(reproduce, 0.1))
    out = tmp_path / "gpu"
    argv = ["--out", str(out), "--budget", "60", "--jobs", "2",
            "--methods", "pot", "--datasets", "Photo", "--seeds", "0",
            "--epochs", "1", "--device", "cpu", "--set", "model.kappa=0.4",
            "--grid", "model.tau=0.2|0.9", "--task", "classification"]
    assert reproduce.main(argv) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert plan["tag"] is None and len(plan["variants"]) == 2
    for tag, overrides in plan["variants"].items():
        assert overrides[0] == "model.kappa=0.4"
        # the folder gcl bench --set writes the same overrides to
        assert tag == reproduce.variant_tag(1, overrides)
        assert (out / "runs/pot/Photo" / tag / "seed0.json").exists()
        assert f"pot/Photo/{tag}/seed0" in [r["run"] for r in plan["ran"]]
    # a second call finds both variants done
    assert reproduce.main(argv) == 0
    plan = json.loads((out / "plan.json").read_text())
    assert plan["ran"] == [] and len(plan["already_done"]) == 2
    with pytest.raises(SystemExit):
        reproduce.main(argv + ["--grid", "oops"])
