"""benchmarks/gpu/call.sh: a whole device call, smoke-tested on the CPU."""

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CALL = ROOT / "benchmarks" / "gpu" / "call.sh"


def test_two_jobs_side_by_side_leave_logs_plans_and_records(tmp_path):
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
    plan1 = json.loads((out / "plan-job1.json").read_text())
    assert [r["run"] for r in plan1["ran"]] == ["grace/Cora/seed0"]
    assert plan1["ran"][0]["record"] is True
    plan2 = json.loads((out / "plan-job2.json").read_text())
    assert plan2["ran"][0]["record"] is False
    with tarfile.open(out / "records.tar.gz") as tar:
        names = tar.getnames()
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
