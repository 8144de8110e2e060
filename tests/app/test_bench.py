import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from gcl.app.bench import render, run_bench


def _save(root, rec, tag="config"):
    """Writes ``rec`` where gcl bench keeps it: root/method/dataset/tag/seedK."""
    path = root / rec["method"] / rec["dataset"] / tag / f"seed{rec['seed']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def test_bench_is_resumable_and_renders(tmp_path, capsys):
    runs, results = tmp_path / "runs", tmp_path / "results"
    kw = dict(epochs=2, overrides=["model.hidden_channels=8",
                                   "model.proj_channels=8", "eval.runs=1"],
              runs_dir=runs, results_dir=results, device="cpu")
    recs = run_bench("grace", ["cora"], [0, 1], **kw)
    assert all(r.exists() for r in recs)
    rec = json.loads(recs[0].read_text())
    for key in ["metrics", "protocol", "seed", "epochs", "seconds_per_epoch",
                "peak_memory_mb", "machine"]:
        assert key in rec
    assert rec["machine"]["torch"]
    assert rec["overrides"] == kw["overrides"]  # what the variant's tag hashes
    capsys.readouterr()
    run_bench("grace", ["Cora"], [0, 1], **kw)  # second call skips both
    assert capsys.readouterr().out.count("[skip]") == 2
    table = (results / "grace.md").read_text()
    assert "| Cora | grace | accuracy | 83.30 ± 0.40 |" in table
    assert "2 (config: 200)" in table and "0, 1" in table
    tag = recs[0].parent.name  # e2-<hash of the overrides>, listed in full
    assert (f"- `{tag}`: `model.hidden_channels=8`, `model.proj_channels=8`, "
            "`eval.runs=1`") in table
    assert render("grace", runs, results).exists()


def test_update_readme_block(tmp_path):
    from gcl.app.bench import update_readme

    results = tmp_path / "results"
    results.mkdir()
    (results / "grace.md").write_text(
        "# t\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\ntext\n\n| c |\n|---|\n| 5 |\n"
        "\n| d |\n|---|\n| 6 |\n<!-- notes:start -->\n"
        "| diag | nostic |\n|---|---|\n| 3 | 4 |\n")
    (results / "pot.md").write_text("# p\n\n| e |\n|---|\n| 7 |\n")
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- results:start -->\nold\n<!-- results:end -->\ny\n")
    assert update_readme(results, readme)
    text = readme.read_text()
    assert "| 1 | 2 |" in text and "old" not in text and text.endswith("y\n")
    # the headline table only, with a link to the page and its other tables
    assert "| 5 |" not in text and "| 6 |" not in text
    assert f"**grace** ([details]({(results / 'grace.md').as_posix()}); 2 more " \
        "tables there)" in text
    assert f"**pot** ([details]({(results / 'pot.md').as_posix()}))\n\n| e |" in text
    assert "| 3 | 4 |" not in text  # the notes' tables stay on the page
    assert not update_readme(results, tmp_path / "missing.md")


def test_bench_tasks_add_clustering_and_link_rows(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    kw = dict(epochs=2, overrides=["model.hidden_channels=8",
                                   "model.proj_channels=8", "eval.runs=1"],
              runs_dir=runs, results_dir=results, device="cpu")
    (rec,) = run_bench("grace", ["Cora"], [0], **kw)
    assert "clustering" not in json.loads(rec.read_text())["tasks"]
    # Asking for more tasks re-runs the seed (its record lacks them).
    run_bench("grace", ["Cora"], [0], tasks=["classification", "clustering",
                                              "link"], **kw)
    tasks = json.loads(rec.read_text())["tasks"]
    assert set(tasks) == {"clustering", "link"}
    assert 0.0 <= tasks["link"]["metrics"]["auc"] <= 1.0
    table = (results / "grace.md").read_text()
    assert "| Cora | clustering | NMI / ARI / ACC |" in table
    assert "| Cora | link | AUC / AP |" in table


def test_render_compares_with_baseline_seed_by_seed(tmp_path):
    import json

    runs, results = tmp_path / "runs", tmp_path / "results"

    def record(method, seed, acc, nmi):
        path = runs / method / "Cora" / "config" / f"seed{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({
            "method": method, "dataset": "Cora", "seed": seed, "epochs": 200,
            "protocol": "grace", "seconds_per_epoch": 0.1,
            "peak_memory_mb": 10.0,
            "metrics": {"accuracy": acc, "macro_f1": acc - 0.01},
            "tasks": {"clustering": {"metrics": {"nmi": nmi, "ari": 0.3,
                                                 "acc": 0.6}}}}))

    record("grace", 0, 0.80, 0.50)
    record("grace", 1, 0.82, 0.40)
    record("csgcl", 0, 0.81, 0.45)  # csgcl's Cora config names grace
    record("csgcl", 1, 0.84, 0.42)
    record("csgcl", 2, 0.90, 0.90)  # no baseline run with seed 2: not paired
    text = render("csgcl", runs, results).read_text()
    rows = {line.split(" | ")[2]: line for line in text.splitlines()
            if line.startswith("| Cora | grace | ") and " | grace | " in line}
    acc = rows["classification accuracy"].split(" | ")
    assert acc[4] == "81.00 ± 1.00" and acc[5] == "82.50 ± 1.50"
    assert acc[6] == "+1.50" and acc[7] == "2/2" and acc[8] == "0, 1"
    nmi = rows["clustering nmi"].split(" | ")
    assert nmi[6] == "-1.50" and nmi[7] == "1/2"


def test_render_comparison_names_the_seeds_actually_paired(tmp_path):
    import json

    runs, results = tmp_path / "runs", tmp_path / "results"

    def record(method, seed, acc, nmi=None):
        path = runs / method / "Cora" / "config" / f"seed{seed}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        rec = {"method": method, "dataset": "Cora", "seed": seed,
               "epochs": 200, "protocol": "grace", "seconds_per_epoch": 0.1,
               "peak_memory_mb": 10.0, "metrics": {"accuracy": acc}}
        if nmi is not None:
            rec["tasks"] = {"clustering": {"metrics": {
                "nmi": nmi, "ari": 0.3, "acc": 0.6}}}
        path.write_text(json.dumps(rec))

    for seed in range(3):  # seed 0 has no clustering run on either side
        nmi = None if seed == 0 else 0.4
        record("grace", seed, 0.80, nmi)
        record("csgcl", seed, 0.81, None if nmi is None else nmi + 0.01 * seed)
    text = render("csgcl", runs, results).read_text()
    row = next(line for line in text.splitlines()
               if line.startswith("| Cora | grace | clustering nmi |"))
    cells = row.split(" | ")
    assert cells[6] == "+1.50" and cells[7] == "2/2" and cells[8] == "1, 2"


def test_cli_refreshes_the_readme_only_from_benchmarks_results(tmp_path, monkeypatch):
    from gcl.app.cli import main

    runs = tmp_path / "benchmarks" / "runs"
    rec = runs / "grace" / "Cora" / "config" / "seed0.json"
    rec.parent.mkdir(parents=True)
    rec.write_text(json.dumps({
        "method": "grace", "dataset": "Cora", "seed": 0, "epochs": 200,
        "protocol": "grace", "metrics": {"accuracy": 0.8}, "std": {},
        "seconds_per_epoch": 0.1, "peak_memory_mb": 1.0, "machine": {}}))
    block = "x\n<!-- results:start -->\nold\n<!-- results:end -->\n"
    (tmp_path / "README.md").write_text(block)
    monkeypatch.chdir(tmp_path)
    argv = ["bench", "grace", "--render-only", "--runs-dir", str(runs)]
    assert main([*argv, "--results-dir", str(tmp_path / "scratch")]) == 0
    assert (tmp_path / "README.md").read_text() == block  # a scratch dir
    assert main(argv) == 0  # the default benchmarks/results
    assert "| Cora | grace | accuracy |" in (tmp_path / "README.md").read_text()


def test_render_shows_every_published_metric_and_early_stopping(tmp_path):
    from gcl.app.bench import render, summarize

    names = [f"{m}@{k}" for m in ("macro_f1", "micro_f1", "auc")
             for k in (20, 40, 60)]
    for seed, epochs in ((0, 155), (1, 222)):
        rec = {"method": "heco", "dataset": "ACM-HeCo", "seed": seed,
               "epochs": epochs, "protocol": "heco",
               "metrics": {n: 0.5 + 0.1 * seed for n in names},
               "seconds_per_epoch": 1.0, "peak_memory_mb": 10.0,
               "machine": {"cpu_threads": 1}}
        _save(tmp_path, rec)
    text = render("heco", tmp_path, tmp_path).read_text()
    rows = [line for line in text.splitlines()
            if line.startswith("| ACM-HeCo | heco |")]
    assert [r.split(" | ")[2] for r in rows] == names
    assert rows[0].split(" | ")[3:5] == ["88.56", "55.00 ± 5.00"]  # paper, ours
    assert rows[-1].split(" | ")[3] == "96.55"
    assert "155, 222 (early stopping, at most 10000)" in rows[0]
    # early-stopped runs are full-length runs of their config
    assert summarize("heco", tmp_path, metric="macro_f1@20")["ACM-HeCo"]["seeds"] == 2


def _cora_row(root, machines):
    """The Cora row of grace's page from runs that differ only in ``machine``
    (seeds 0, 1, ...)."""
    for seed, machine in enumerate(machines):
        rec = {"method": "grace", "dataset": "Cora", "seed": seed, "epochs": 500,
               "protocol": "grace", "metrics": {"accuracy": 0.8},
               "seconds_per_epoch": 0.05, "peak_memory_mb": 10.0,
               "machine": machine}
        _save(root, rec)
    text = render("grace", root, root).read_text()
    return next(line for line in text.splitlines()
                if line.startswith("| Cora | grace |"))


def test_render_names_runs_that_shared_the_device(tmp_path):
    gpu = "NVIDIA H100 80GB HBM3"
    row = _cora_row(tmp_path, [{"gpu": gpu, "concurrent_runs": 3}, {"gpu": gpu}])
    assert "| NVIDIA H100 80GB HBM3, up to 3 runs at once |" in row


def test_render_splits_a_row_whose_seeds_ran_on_different_machines(tmp_path):
    # a CPU seed and two GPU seeds of one config: one machine entry and one
    # median seconds per epoch per kind, not a CPU label over GPU timings
    for seed, machine, spe in ((0, {"cpu_threads": 1}, 9.0),
                               (1, {"gpu": "NVIDIA H200"}, 0.1),
                               (2, {"gpu": "NVIDIA H200"}, 0.2)):
        rec = {"method": "grace", "dataset": "Cora", "seed": seed, "epochs": 500,
               "protocol": "grace", "metrics": {"accuracy": 0.8},
               "seconds_per_epoch": spe, "peak_memory_mb": 10.0,
               "machine": {**machine, "commit": "0123456789abcdef"}}
        _save(tmp_path, rec)
    text = render("grace", tmp_path, tmp_path).read_text()
    row = next(line for line in text.splitlines()
               if line.startswith("| Cora | grace |"))
    assert "| 9.000 / 0.150 |" in row
    assert "| CPU, 1 threads (seed 0); NVIDIA H200 (seeds 1, 2) |" in row
    assert "gcl commits of these runs: 0123456." in text


def test_seed_ranges_shorten_consecutive_seeds():
    from gcl.app.bench import _seed_ranges

    assert _seed_ranges([5, 0, 1, 2, 7, 8, 10]) == "0-2, 5, 7, 8, 10"
    assert _seed_ranges([3]) == "3"


def test_bench_checkpoints_resume_and_are_removed(tmp_path, monkeypatch):
    import gcl.app.bench as bench

    seen = {}

    def fake_run_config(cfg, **kw):  # what the child passes to run_config
        seen.update(kw)
        raise ValueError("stop here")

    monkeypatch.setattr("gcl.app.experiment.run_config", fake_run_config)
    ckpt = tmp_path / "ck" / "grace" / "Cora" / "e2" / "seed0.pt"
    with pytest.raises(SystemExit):
        bench._record_run({"method": "grace"}, str(tmp_path / "r.json"),
                          root=None, device="cpu", progress=False,
                          tasks=["classification"], checkpoint=ckpt,
                          checkpoint_seconds=60.0)
    assert seen["checkpoint"] == ckpt and seen["resume"] is True
    assert seen["checkpoint_seconds"] == 60.0 and ckpt.parent.is_dir()
    # a real run: the record is written and its checkpoint deleted
    recs = bench.run_bench("grace", ["Cora"], [0], epochs=2,
                           overrides=["model.hidden_channels=8",
                                      "model.proj_channels=8", "eval.runs=1"],
                           runs_dir=tmp_path / "runs",
                           results_dir=tmp_path / "res",
                           checkpoint_dir=tmp_path / "ck2", device="cpu")
    assert recs[0].exists()
    assert not list((tmp_path / "ck2").rglob("*.pt"))


def test_kept_checkpoint_adds_a_task_without_training_again(tmp_path, capsys):
    import gcl.app.bench as bench
    from gcl.app.cli import main

    kw = dict(epochs=2, overrides=["model.hidden_channels=8",
                                   "model.proj_channels=8", "eval.runs=1"],
              runs_dir=tmp_path / "runs", results_dir=tmp_path / "res",
              checkpoint_dir=tmp_path / "ck", device="cpu", keep_checkpoints=True)
    (rec,) = bench.run_bench("grace", ["Cora"], [0], **kw)
    first = json.loads(rec.read_text())
    ckpt = next((tmp_path / "ck").rglob("seed0.pt"))  # kept
    assert "clustering" not in first["tasks"] and "resumed_from" not in first
    bench.run_bench("grace", ["Cora"], [0],
                    tasks=["classification", "clustering"], **kw)
    again = json.loads(rec.read_text())
    # the trained model was resumed at its last epoch and only evaluated
    assert again["resumed_from"] == 2 and again["epochs"] == 2
    assert again["final_loss"] == first["final_loss"]
    assert again["metrics"] == first["metrics"]
    assert "clustering" in again["tasks"] and ckpt.exists()
    with pytest.raises(ValueError, match="checkpoint_dir"):
        bench.run_bench("grace", ["Cora"], [0], keep_checkpoints=True)
    assert main(["bench", "grace", "--datasets", "Cora", "--keep-checkpoints",
                 "--runs-dir", str(tmp_path / "r2")]) == 2
    assert "keep_checkpoints needs a checkpoint_dir" in capsys.readouterr().err


def test_record_names_a_resumed_run(tmp_path):
    from gcl.app.config import load_config
    from gcl.app.experiment import run_config

    cfg = load_config("grace", "Cora", ["model.hidden_channels=8",
                                        "model.proj_channels=8", "eval.runs=1"])
    ckpt = tmp_path / "seed0.pt"
    cfg["train"]["epochs"] = 2
    first = run_config(cfg, device="cpu", progress=False, checkpoint=ckpt).record()
    assert "resumed_from" not in first and first["epochs"] == 2
    cfg["train"]["epochs"] = 3
    again = run_config(cfg, device="cpu", progress=False, checkpoint=ckpt,
                       resume=True).record()
    # three epochs in all, two of them trained by the first process
    assert again["resumed_from"] == 2 and again["epochs"] == 3


def test_render_leaves_a_page_that_tabulates_the_method(tmp_path, capsys):
    from gcl.app.bench import render, tabulated_by

    res = tmp_path / "res"
    res.mkdir()
    page = res / "ranking.md"
    text = ("# Ranking\n<!-- tabulates: lightgcn simgcl "
            "(python benchmarks/ranking_table.py --write) -->\nhand-kept\n")
    page.write_text(text)
    assert tabulated_by("simgcl", res) == (
        page, "python benchmarks/ranking_table.py --write")
    assert tabulated_by("grace", res) is None
    assert tabulated_by("lightgcl", res) is None  # only the names listed
    assert render("simgcl", tmp_path / "runs", res) == page
    assert page.read_text() == text  # untouched
    assert not (res / "simgcl.md").exists()  # and no page of its own
    assert "ranking_table.py --write" in capsys.readouterr().out



def test_a_script_page_is_shown_in_its_method_page_without_its_marker(
        tmp_path, capsys):
    from gcl.app.bench import render

    res = tmp_path / "res"
    res.mkdir()
    page = res / "grace_ogbl_ddi.md"
    text = ("<!-- tabulates: grace_ogb (python benchmarks/ogbl_ddi_grace.py) "
            "-->\n### ogbl-ddi\n\n| table |\n")
    page.write_text(text)
    # the script's own records are not rendered into a page of their own
    assert render("grace_ogb", tmp_path / "runs", res) == page
    assert not (res / "grace_ogb.md").exists()
    assert "ogbl_ddi_grace.py" in capsys.readouterr().out
    # and the method's page shows the script's table, but not its marker
    shown = render("grace", tmp_path / "runs", res).read_text()
    assert "### ogbl-ddi" in shown and "| table |" in shown
    assert "tabulates:" not in shown
    assert page.read_text() == text

_ORPHAN_SCRIPT = '''
import multiprocessing, sys, time
from gcl.app.bench import _exit_with_parent

def child():
    _exit_with_parent()
    time.sleep(120)

if __name__ == "__main__":
    proc = multiprocessing.get_context("spawn").Process(target=child)
    proc.start()
    print(proc.pid, flush=True)
    proc.join()
'''


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, which no init reaped in
    a container, counts as ended)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return not any(line.startswith("State:") and "Z" in line.split()[1]
                           for line in status)
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_bench_child_ends_with_its_killed_parent(tmp_path):
    # `kill -9` of the harness (or a closed session) must not leave its run
    # training unseen: the spawned child watches its parent's sentinel
    script = tmp_path / "parent.py"
    script.write_text(_ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script)],
                              stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    time.sleep(0.5)
    assert _running(child)  # alive while the parent waits on it
    try:
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 20
        while _running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(child)
    finally:
        if _running(child):  # a failed check leaves no sleeper behind
            os.kill(child, signal.SIGKILL)


def test_a_deterministic_run_says_so_in_its_record_and_row(tmp_path):
    kw = dict(epochs=2, overrides=["model.hidden_channels=8",
                                   "model.proj_channels=8", "eval.runs=1"],
              runs_dir=tmp_path / "runs", results_dir=tmp_path / "results",
              device="cpu")
    plain = run_bench("grace", ["Cora"], [0], **kw)[0]
    det = run_bench("grace", ["Cora"], [1], deterministic_algorithms=True,
                    **kw)[0]
    assert det.parent == plain.parent  # the same variant: how, not what
    machine = json.loads(det.read_text())["machine"]
    assert machine["deterministic"] is True
    assert machine["nondeterministic_ops"] == []  # CPU: none
    assert "deterministic" not in json.loads(plain.read_text())["machine"]
    table = (tmp_path / "results" / "grace.md").read_text()
    # (followed by ", **contended** ..." where the test ran beside other work)
    assert "threads, deterministic kernels in some runs" in table


def test_a_probe_record_keeps_its_validation_score(tmp_path):
    rec_path = run_bench(
        "grace", ["Cora"], [0], epochs=2, device="cpu",
        overrides=["model.hidden_channels=8", "model.proj_channels=8",
                   "eval.protocol=linear_probe", "eval.runs=2",
                   "eval.epochs=40"],
        runs_dir=tmp_path / "runs", results_dir=tmp_path / "results")[0]
    val = json.loads(rec_path.read_text())["validation"]
    assert val["selection"] == "best validation accuracy"
    assert len(val["runs"]) == 2 and 0.0 < val["mean"] <= 1.0
    assert val["mean"] == pytest.approx(sum(val["runs"]) / 2)


def _variant(root, tag, seed, val, test, overrides=()):
    rec = {"method": "pot", "dataset": "Photo", "seed": seed, "epochs": 1000,
           "protocol": "pot", "metrics": {"accuracy": test},
           "seconds_per_epoch": 0.1, "peak_memory_mb": 1.0, "machine": {}}
    if val is not None:
        rec["validation"] = {"selection": "best validation micro_f1",
                             "mean": val, "runs": [val]}
    if overrides:
        rec["overrides"] = list(overrides)
    _save(root, rec, tag)


def test_compare_variants_chooses_on_validation_over_common_seeds(tmp_path):
    from gcl.app.bench import compare_variants

    # config: best on test, worst on validation; "a" wins validation on the
    # common seeds 0-1 although its extra seed 2 would pull it down
    for seed, (v, t) in enumerate([(0.80, 0.95), (0.80, 0.95)]):
        _variant(tmp_path, "config", seed, v, t)
    for seed, (v, t) in enumerate([(0.90, 0.85), (0.90, 0.85), (0.10, 0.10)]):
        _variant(tmp_path, "config-aaaa", seed, v, t, ["model.tau=0.2"])
    for seed, (v, t) in enumerate([(0.85, 0.90), (0.85, 0.90)]):
        _variant(tmp_path, "config-bbbb", seed, v, t, ["model.tau=0.5"])
    _variant(tmp_path, "e200", 0, None, 0.99)  # no validation: never chosen
    table = compare_variants("pot", "photo", tmp_path)
    rows = {line.split(" | ")[0].lstrip("| "): line
            for line in table.splitlines() if line.startswith("| ")}
    assert rows["config-aaaa"].endswith("| yes |")
    assert "| 90.00 |" in rows["config-aaaa"]  # validation on seeds 0-1
    assert "`model.tau=0.2`" in rows["config-aaaa"]
    assert not rows["config"].endswith("| yes |")
    assert "| - | 99.00 ± 0.00 |  |" in rows["e200"]
    assert "mean over seeds [0, 1]" in table
    with pytest.raises(ValueError, match="no records of pot on Computers"):
        compare_variants("pot", "Computers", tmp_path)
    with pytest.raises(ValueError, match="no pot config for dataset 'CS'"):
        compare_variants("pot", "CS", tmp_path)


def test_a_collapsed_run_warns_and_is_named_under_its_table(tmp_path):
    from gcl.app.record import check_health

    with pytest.warns(RuntimeWarning, match="embeddings collapsed"):
        health = check_health(torch.full((20, 4), 0.5))
    assert health["collapsed"] and health["dead_dims"] == 4
    runs = tmp_path / "runs"
    for seed, h in enumerate([health, {**health, "collapsed": False}]):
        _variant(runs, "config", seed, 0.9, 0.9)
        path = runs / "pot" / "Photo" / "config" / f"seed{seed}.json"
        rec = json.loads(path.read_text())
        rec["metrics"]["micro_f1"] = rec["metrics"]["accuracy"]
        path.write_text(json.dumps({**rec, "embedding": h}))
    table = render("pot", runs, tmp_path / "results").read_text()
    assert ("- Photo `config` seed 0: spread 0.0e+00, effective rank 0.00 "
            "of 4\n") in table
    assert "seed 1:" not in table


def test_rules_of_a_run_scored_during_training_are_rows(tmp_path):
    from gcl.app import bench
    from gcl.eval import REPORTING_RULES

    assert bench._RULES == REPORTING_RULES  # rendering imports no torch
    for seed in (0, 1):
        rec = {"method": "adameow", "dataset": "ACM-HeCo", "seed": seed,
               "epochs": 1200, "protocol": "heco",
               "metrics": {"macro_f1@20": 0.80}, "seconds_per_epoch": 1.0,
               "peak_memory_mb": 10.0, "machine": {"cpu_threads": 1},
               "tasks": {"val_selected": {"protocol": "heco:val_selected",
                                          "metrics": {"macro_f1@20": 0.82 + seed / 100},
                                          "epoch": 700},
                         "max_over_epochs": {"protocol": "heco:max_over_epochs",
                                             "metrics": {"macro_f1@20": 0.90},
                                             "epochs": {"macro_f1@20": 500}}}}
        _save(tmp_path, rec)
    text = render("adameow", tmp_path, tmp_path).read_text()
    sel = next(x for x in text.splitlines()
               if x.startswith("| ACM-HeCo | heco, val_selected |"))
    assert sel.split(" | ")[2:5] == ["MACRO_F1@20", "82.50 ± 0.50", "0, 1"]
    best = next(x for x in text.splitlines() if x.startswith(
        "| ACM-HeCo | heco, max_over_epochs (selects on labels) |"))
    assert "90.00 ± 0.00" in best
    assert "which selects on the test labels" in text
    assert "| heco, final |" not in text  # the main rows are the final model


def test_render_flags_cpu_runs_that_lacked_a_core(tmp_path):
    # seed 0 had its core; seed 1 ran while others kept both cores busy;
    # seed 2 predates the measurement
    cpu = {"cpu_threads": 1, "cores": 2}
    row = _cora_row(tmp_path, [{**cpu, "other_cores": 0.9},
                               {**cpu, "other_cores": 2.0}, cpu])
    assert "| CPU, 1 threads, **contended** (1 of 3 runs) |" in row


def test_committed_pages_match_their_records(tmp_path):
    """Every page `gcl bench` writes under benchmarks/results/ is what the
    committed records in benchmarks/runs/ give (rendered into a copy of
    results/ and notes/, since a page takes in its notes): a record added
    without re-rendering fails here."""
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "benchmarks"
    shutil.copytree(root / "results", tmp_path / "results")
    shutil.copytree(root / "notes", tmp_path / "notes")
    stale = []
    for method in sorted(p.name for p in (root / "runs").iterdir() if p.is_dir()):
        page = render(method, root / "runs", tmp_path / "results")
        committed = root / "results" / page.name
        if page.parent == tmp_path / "results" and committed.exists() and \
                page.read_text() != committed.read_text():
            stale.append(page.name)
    assert not stale, f"stale: {stale}; run `gcl bench <method> --render-only`"


def test_the_readme_shows_the_committed_pages(tmp_path, monkeypatch):
    """README.md's results block is the headline tables of the committed
    pages: a page re-rendered without `update_readme` fails here."""
    import shutil
    from pathlib import Path

    from gcl.app.bench import update_readme

    root = Path(__file__).resolve().parents[2]
    copy = tmp_path / "README.md"
    shutil.copy(root / "README.md", copy)
    monkeypatch.chdir(root)  # the README links the pages by relative paths
    update_readme("benchmarks/results", copy)
    assert copy.read_text() == (root / "README.md").read_text(), (
        "README.md's results are stale: run python -c \"from gcl.app.bench "
        "import update_readme; update_readme()\"")
