"""benchmarks/gpu/call.sh: a whole device call, smoke-tested on the CPU."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALL = ROOT / "benchmarks" / "gpu" / "call.sh"


def test_two_jobs_side_by_side_leave_one_log_and_one_tar(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out),
           "GCL_GPU_WORK": str(work), "OMP_NUM_THREADS": "1"}
    tiny = ("--datasets Cora --seeds 0 --epochs 2 --device cpu "
            "--task classification --set model.hidden_channels=8 "
            "--set model.proj_channels=8 --set eval.runs=1")
    proc = subprocess.run(
        ["bash", str(CALL), "300", f"--methods grace {tiny}",
         f"--methods gca {tiny} --set model.tau=[0.5]"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    # job 2's override is not a valid tau: its run fails, the call says so
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "== job 1: --methods grace" in proc.stdout
    # two files only: a device call returns at most 8
    assert sorted(p.name for p in out.iterdir()) == ["call.log", "records.tar.gz"]
    log = (out / "call.log").read_text()
    assert "== job 2: --methods gca" in log and "grace/Cora/seed0" in log
    with tarfile.open(out / "records.tar.gz") as tar:
        names = tar.getnames()
        plan1 = json.load(tar.extractfile("job1/plan.json"))
        plan2 = json.load(tar.extractfile("job2/plan.json"))
    assert [r["run"] for r in plan1["ran"]] == ["grace/Cora/seed0"]
    assert plan1["ran"][0]["record"] is True
    assert plan2["ran"][0]["record"] is False
    assert "job2/job.log" in names
    tag = plan1["tag"]
    assert tag.startswith("e2-")  # the overrides' variant, as gcl bench names it
    assert f"job1/runs/grace/Cora/{tag}/seed0.json" in names
    assert "job1/logs/grace_Cora_seed0.log" in names
    assert not (tmp_path / "0").exists()  # the brackets were not a glob


def test_no_job_is_an_error(tmp_path):
    proc = subprocess.run(["bash", str(CALL), "60"], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert "give at least one job" in proc.stderr


def test_setup_alone_runs_no_job(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(["bash", str(CALL), "setup"], capture_output=True,
                          text=True, cwd=tmp_path,
                          env={**os.environ, "OUT": str(out),
                               "GCL_GPU_WORK": str(tmp_path / "work")})
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "work" / "job1").exists()
