"""benchmarks/hetero_table.py: one row per method and variant, mean ± std
over seeds, clustering where recorded, HeCo's published row, and the rows
again on the seeds they share."""

import json

import pytest


@pytest.fixture()
def table(tmp_path, monkeypatch, load_script):
    mod = load_script("benchmarks/hetero_table.py")
    monkeypatch.setattr(mod, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(mod, "OUT", tmp_path / "hetero.md")
    return mod


def write(root, method, seed, value, nmi=None):
    rec = {"seed": seed, "epochs": 10 + seed,
           "metrics": {k: value for k in
                       [f"{m}@{n}" for m in ("macro_f1", "micro_f1", "auc")
                        for n in (20, 40, 60)]},
           "tasks": {} if nmi is None else
           {"clustering": {"metrics": {"nmi": nmi, "ari": nmi / 2}}}}
    path = root / method / "ACM-HeCo" / "config" / f"seed{seed}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def test_rows(table):
    write(table.RUNS, "heco", 0, 0.80, nmi=0.6)
    write(table.RUNS, "heco", 1, 0.90)
    write(table.RUNS, "meow", 1, 0.85, nmi=0.5)
    table.main()
    lines = table.OUT.read_text().splitlines()
    paper = next(x for x in lines if x.startswith("| ACM-HeCo | HeCo (paper)"))
    assert "| 88.56 | 87.61 | 89.04 |" in paper  # from gcl/configs/heco
    heco = next(x for x in lines if x.startswith("| ACM-HeCo | HeCo |"))
    cells = [c.strip() for c in heco.split("|")[1:-1]]
    assert cells[2] == "85.00 ± 5.00"  # mean and population std of 80, 90
    assert cells[11:13] == ["60.00 ± 0.00", "30.00 ± 0.00"]  # seed 0 only
    assert cells[13:] == ["0, 1", "1 of 2", "10, 11"]
    meow = next(x for x in lines if x.startswith("| ACM-HeCo | MEOW |"))
    assert "85.00 ± 0.00" in meow
    assert any("seeds common to every row: 1 (the rows' seeds differ"
               in x for x in lines)
    # the second table: every row again over the common seed 1 only
    start = next(i for i, x in enumerate(lines)
                 if x.startswith("**On the same seeds.**"))
    same = lines[start:]
    heco = next(x for x in same if x.startswith("| ACM-HeCo | HeCo |"))
    cells = [c.strip() for c in heco.split("|")[1:-1]]
    assert cells[2] == "90.00 ± 0.00" and cells[11] == "-"  # seed 1: no NMI
    assert cells[13:] == ["1", "0 of 1", "11"]
    assert any(x.startswith("| ACM-HeCo | HeCo (paper)") for x in same)


def test_no_same_seed_table_when_the_seeds_agree(table):
    write(table.RUNS, "heco", 0, 0.80)
    write(table.RUNS, "meow", 0, 0.85)
    table.main()
    text = table.OUT.read_text()
    assert "seeds common to every row: 0\n" in text
    assert "On the same seeds" not in text


def test_gcool_multiplex_rows_from_gcl_bench(table):
    # gcl bench gcool_multiplex's layout: <method>/<dataset>/<variant>/seed<k>
    write(table.RUNS, "gcool_multiplex", 0, 0.70, nmi=0.3)
    # the standalone script's old layout (<method>/acm/seed0.json) is not read
    old = table.RUNS / "gcool_multiplex" / "acm" / "seed0.json"
    old.parent.mkdir(parents=True)
    old.write_text(json.dumps({"seed": 0}))
    table.main()
    lines = table.OUT.read_text().splitlines()
    row = next(x for x in lines if x.startswith("| ACM-HeCo | gCooL (multiplex) |"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert cells[2] == "70.00 ± 0.00"
    assert cells[11:] == ["30.00 ± 0.00", "15.00 ± 0.00", "0", "1 of 1", "10"]
    assert sum(x.startswith("| ACM-HeCo |") for x in lines) == 2  # + paper row


def test_variants_named_by_folder_or_by_their_overrides(table):
    write(table.RUNS, "meow", 0, 0.80)
    for tag, overrides, value in [
            ("config-a54bf4c9", ["data.features=metapath2vec"], 0.70),
            ("machine-ties", None, 0.75),
            ("relations-as-views-3dcf6224", ["train.epochs=200"], 0.60)]:
        src = table.RUNS / "meow" / "ACM-HeCo" / "config" / "seed0.json"
        rec = {**json.loads(src.read_text()), "metrics": dict.fromkeys(
            json.loads(src.read_text())["metrics"], value)}
        if overrides:
            rec["overrides"] = overrides
        path = table.RUNS / "meow" / "ACM-HeCo" / tag / "seed0.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(rec))
    table.main()
    text = table.OUT.read_text()
    rows = {x.split("|")[2].strip(): x.split("|")[3].strip()
            for x in text.splitlines() if x.startswith("| ACM-HeCo | MEOW")}
    assert rows == {"MEOW": "80.00 ± 0.00",
                    "MEOW (data.features=metapath2vec)": "70.00 ± 0.00",
                    "MEOW (machine-ties)": "75.00 ± 0.00",
                    "MEOW (relations-as-views-3dcf6224)": "60.00 ± 0.00"}
    assert "*(data.features=metapath2vec)*: runs on features that gcl " \
        "re-learns with metapath2vec" in text


def test_rule_rows_of_scored_epochs(table):
    # AdaMEOW's records scored epochs during training: one row per rule
    for seed, (sel, best) in enumerate([(0.82, 0.90), (0.84, 0.92)]):
        write(table.RUNS, "adameow", seed, 0.80)
        path = table.RUNS / "adameow" / "ACM-HeCo" / "config" / f"seed{seed}.json"
        rec = json.loads(path.read_text())
        keys = list(rec["metrics"])
        rec["tasks"] = {
            "val_selected": {"metrics": dict.fromkeys(keys, sel), "epoch": 700},
            "max_over_epochs": {"metrics": dict.fromkeys(keys, best),
                                "epochs": {k: 500 + 100 * seed for k in keys}}}
        path.write_text(json.dumps(rec))
    table.main()
    lines = table.OUT.read_text().splitlines()
    main = next(x for x in lines if x.startswith("| ACM-HeCo | AdaMEOW |"))
    assert "80.00 ± 0.00" in main
    sel = next(x for x in lines
               if x.startswith("| ACM-HeCo | AdaMEOW, epoch chosen on validation |"))
    cells = [c.strip() for c in sel.split("|")[1:-1]]
    assert cells[2] == "83.00 ± 1.00" and cells[11:] == ["-", "-", "0, 1", "-",
                                                         "700, 700"]
    best = next(x for x in lines if "**selects on test**" in x
                and x.startswith("| ACM-HeCo | AdaMEOW"))
    cells = [c.strip() for c in best.split("|")[1:-1]]
    assert cells[2] == "91.00 ± 1.00" and cells[-1] == "500, 600"


def test_the_committed_page_is_current(load_script, tmp_path, monkeypatch):
    """benchmarks/results/hetero.md is what the committed records give: a
    record added without re-rendering the page fails here."""
    from pathlib import Path

    mod = load_script("benchmarks/hetero_table.py")
    committed = Path(mod.OUT).read_text()
    monkeypatch.setattr(mod, "OUT", tmp_path / "hetero.md")
    mod.main()
    assert (tmp_path / "hetero.md").read_text() == committed, (
        "benchmarks/results/hetero.md is stale: run python benchmarks/hetero_table.py")
