"""benchmarks/lightgcl_table.py: the refit table pairs each run's selected
test scores with its refit's, from any variant folder."""

import json


def _record(path, seed, recall, refit=None):
    rec = {"method": "lightgcn", "dataset": "LastFM", "seed": seed,
           "protocol": "full_ranking", "best_epoch": 300,
           "metrics": {"recall@20": recall, "ndcg@20": recall / 2},
           "tasks": {}}
    if refit is not None:
        rec["tasks"]["ranking_refit"] = {
            "metrics": {"recall@20": refit, "ndcg@20": refit / 2}}
    path.mkdir(parents=True, exist_ok=True)
    (path / f"seed{seed}.json").write_text(json.dumps(rec))


def test_refit_table_lists_runs_with_a_refit_only(load_script, tmp_path,
                                                   monkeypatch):
    table = load_script("benchmarks/lightgcl_table.py")
    monkeypatch.setattr(table, "RUNS", tmp_path)
    _record(tmp_path / "lightgcn" / "LastFM" / "config", 0, 0.25)
    _record(tmp_path / "lightgcn" / "LastFM" / "config-f61d7f26", 0, 0.26, 0.27)
    rows = [r for r in table.refit_table().splitlines()[2:]]
    assert rows == ["| LastFM | LightGCN | config-f61d7f26 | 0 | 300 | 26.00 "
                    "| 27.00 | 13.00 | 13.50 |"]
