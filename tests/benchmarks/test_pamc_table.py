"""benchmarks/pamc_table.py names the k-means rows it cannot show."""

import json


def test_missing_rows_are_named(tmp_path, load_script):
    mod = load_script("benchmarks/pamc_table.py")
    configs = tmp_path / "configs"
    for method, dataset in [("grace", "Cora"), ("csgcl", "Cora"),
                            ("grace", "CiteSeer")]:
        (configs / method).mkdir(parents=True, exist_ok=True)
        (configs / method / f"{dataset}.yaml").write_text("")
    runs = tmp_path / "runs"
    for method, tasks in [("grace", {"clustering": {}}), ("csgcl", {})]:
        rec = runs / method / "Cora" / "config" / "seed0.json"
        rec.parent.mkdir(parents=True)
        rec.write_text(json.dumps({"seed": 0, "tasks": tasks}))
    mod.DATASETS = ["Cora", "Citeseer-SDCN"]
    todo, no_config = mod.missing(runs, configs)
    # CSGCL's Cora record lacks the clustering task; GRACE's CiteSeer (the
    # graph of Citeseer-SDCN) has a config but no record
    assert todo == [("Cora", "csgcl"), ("Citeseer-SDCN", "grace")]
    assert no_config == [("Cora", "gcool"), ("Citeseer-SDCN", "csgcl"),
                         ("Citeseer-SDCN", "gcool")]
    assert mod._by_dataset(todo) == "Cora (csgcl); Citeseer-SDCN (grace)"
