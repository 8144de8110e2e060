"""HeCo, MEOW, AdaMEOW and gCooL's multiplex variant in one table.

Reads the run records of ``gcl bench`` (``benchmarks/runs/<method>/<dataset>/
<variant>/seed<k>.json``) on the heterogeneous sets and writes
``benchmarks/results/hetero.md``: Macro-F1, Micro-F1 and AUC at 20, 40 and
60 labelled nodes per class (the HeCo protocol, ``gcl.eval.heco_protocol``)
and, where the runs recorded the clustering task (``gcl bench <method>
--task classification clustering``), k-means NMI and ARI on the same frozen
embeddings; mean ± std (population) over seeds, in %. HeCo's published
values (HeCo paper, KDD 2021, from ``gcl/configs/heco/<dataset>.yaml``) are
the issue's floor and stand in their own row. Where a data set's rows hold
different seeds, a second table repeats its rows over the seeds they all
hold, so that the methods are compared on the same training seeds.

    python benchmarks/hetero_table.py
"""

import re
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pamc_table import cell  # noqa: E402
from pamc_table import records as _records  # noqa: E402

ROOT = Path(__file__).resolve().parent
RUNS, OUT = ROOT / "runs", ROOT / "results" / "hetero.md"
CONFIGS = ROOT.parent / "gcl" / "configs"
DATASETS = ["ACM-HeCo", "DBLP-HeCo", "AMiner-HeCo", "Freebase-HeCo", "IMDB-MEOW"]
METHODS = {"heco": "HeCo", "meow": "MEOW", "adameow": "AdaMEOW",
           "gcool_multiplex": "gCooL (multiplex)"}
#: Variant of the MEOW and AdaMEOW runs whose top-k graphs followed their
#: machine's numpy sort order among ties (before gcl de4033f).
MACHINE_TIES = "machine-ties"
#: The folder of gCooL (multiplex) runs with the relations as the views.
RELATIONS_AS_VIEWS = "relations-as-views"
KEYS = [f"{m}@{k}" for m in ("macro_f1", "micro_f1", "auc") for k in (20, 40, 60)]
CLUSTER_KEYS = ("nmi", "ari")


def records(method: str, dataset: str) -> dict[str, list[dict]]:
    """``{variant: [record, ...]}`` of ``method`` on ``dataset``, by seed."""
    return _records(method, dataset, RUNS)


def paper_row(dataset: str) -> str | None:
    """HeCo's published values for ``dataset``, or None where absent."""
    path = CONFIGS / "heco" / f"{dataset}.yaml"
    if not path.exists():
        return None
    values = (yaml.safe_load(path.read_text()).get("paper") or {}).get("values")
    if not values:
        return None
    cells = " | ".join(f"{values[k]:.2f}" if k in values else "-" for k in KEYS)
    return (f"| {dataset} | HeCo (paper) | {cells} | - | - | - | - | - |")


#: Folder names that ``gcl bench --set`` gives a variant (``config-<sha1>``,
#: ``e<epochs>-<sha1>``): their rows name the overrides instead.
_HASHED = re.compile(r"^(config|e\d+)-[0-9a-f]{8}$")
#: The override of the runs on gcl's re-learned metapath2vec features.
METAPATH2VEC = "data.features=metapath2vec"


def row_label(name: str, tag: str, recs: list[dict]) -> str:
    """The method column: the name, and the variant's folder, or for a
    folder named by a hash the overrides that made it.
    """
    if tag == "config":
        return name
    overrides = recs[0].get("overrides") if recs else None
    if _HASHED.match(tag) and overrides:
        return f"{name} ({', '.join(overrides)})"
    return f"{name} ({tag})"


def method_row(dataset: str, name: str, tag: str, recs: list[dict]) -> str:
    cells = [cell([r["metrics"][k] for r in recs if k in r["metrics"]])
             for k in KEYS]
    clustered = [r["tasks"]["clustering"]["metrics"] for r in recs
                 if "clustering" in r.get("tasks", {})]
    cells += [cell([m[k] for m in clustered]) for k in CLUSTER_KEYS]
    seeds = ", ".join(str(r["seed"]) for r in recs)
    epochs = ", ".join(str(r["epochs"]) for r in recs)
    label = row_label(name, tag, recs)
    return (f"| {dataset} | {label} | {' | '.join(cells)} | {seeds} | "
            f"{len(clustered)} of {len(recs)} | {epochs} |")


#: Rows of the epochs a run scored during training (``eval.every``), by rule.
RULES = {"val_selected": "epoch chosen on validation",
         "max_over_epochs": "each metric's best scored epoch: **selects on test** "
                            "(the official code's logs)"}


def rule_rows(dataset: str, name: str, tag: str, recs: list[dict]) -> list[str]:
    """One row per reporting rule that the records hold (AdaMEOW's scored
    epochs): the rule's metrics, the seeds that recorded it and the epochs it
    chose; clustering ran on the final model only.
    """
    rows = []
    for rule, how in RULES.items():
        held = [r for r in recs if rule in r.get("tasks", {})]
        if not held:
            continue
        tasks = [r["tasks"][rule] for r in held]
        cells = [cell([t["metrics"][k] for t in tasks if k in t["metrics"]])
                 for k in KEYS]
        chosen = [str(t["epoch"]) if "epoch" in t else
                  "/".join(sorted({str(e) for e in t.get("epochs", {}).values()},
                                  key=int)) for t in tasks]
        label = row_label(name, tag, held)
        rows.append(f"| {dataset} | {label}, {how} | {' | '.join(cells)} | - | - "
                    f"| {', '.join(str(r['seed']) for r in held)} | - | "
                    f"{', '.join(chosen)} |")
    return rows


def dataset_rows(dataset: str, seeds: set[int] | None = None) -> list[str]:
    """HeCo's published row and every method's rows on ``dataset`` (none
    when nothing ran on it), over the records of ``seeds`` (all: None).
    """
    rows = []
    for method, name in METHODS.items():
        for tag, recs in records(method, dataset).items():
            if seeds is not None:
                recs = [r for r in recs if r["seed"] in seeds]
            rows.append(method_row(dataset, name, tag, recs))
            rows += rule_rows(dataset, name, tag, recs)
    if not rows:
        return []
    paper = paper_row(dataset)
    return ([paper] if paper else []) + rows


def main() -> None:
    head = " | ".join(k.replace("macro_f1", "Ma-F1").replace("micro_f1", "Mi-F1")
                      .replace("auc", "AUC") for k in KEYS)
    lines = [
        "# Heterogeneous graphs: HeCo, MEOW, AdaMEOW, gCooL (multiplex)",
        "",
        "<!-- --8<-- [start:body] -->",
        "Generated by `python benchmarks/hetero_table.py` from the run records "
        "in `benchmarks/runs/<method>/<dataset>/`. HeCo protocol "
        "(`gcl.eval.heco_protocol`: the shipped 20/40/60-per-class splits, "
        "a logistic-regression probe, each metric at its own best validation "
        "epoch, 50 runs per split size); NMI and ARI: k-means on the same "
        "frozen embeddings, 10 runs, where the run recorded the clustering "
        "task (*clustered* column: how many of the seeds). Mean ± std "
        "(population) over seeds, in %. Nothing selects on test labels, "
        "except the rows marked **selects on test**: AdaMEOW's code scores "
        "the test split every 100 epochs after `start_eval`, and gcl "
        "scores the same epochs (`eval.every`, `eval.start`); its rows "
        "show the model after the last epoch (the main row), the scored "
        "epoch of best validation score, and each metric's best test score "
        "over those epochs (the official logs' rule), with the epochs chosen "
        "in the *epochs* column. "
        "*HeCo (paper)*: the published values, the floor of issue 14.",
        "",
        f"| dataset | method | {head} | NMI | ARI | seeds | clustered | "
        "epochs |",
        "|---|---|" + "---|" * (len(KEYS) + 5),
    ]
    header = lines[-2:]
    for dataset in DATASETS:
        lines += dataset_rows(dataset)
    lines += [""]
    same = {}
    for dataset in DATASETS:
        sets = [{r["seed"] for r in recs}
                for m in METHODS for recs in records(m, dataset).values()]
        if len(sets) > 1:
            common = set.intersection(*sets)
            differ = any(s != common for s in sets)
            lines.append(
                f"- {dataset}: seeds common to every row: "
                f"{', '.join(map(str, sorted(common))) or 'none'}"
                + (" (the rows' seeds differ: the next table compares them on "
                   "these)" if differ and common else ""))
            if differ and common:
                same[dataset] = common
    for dataset in DATASETS:
        for method, name in METHODS.items():
            recs = [r for rs in records(method, dataset).values() for r in rs]
            if any("Features differ" in (r.get("config_source") or "")
                   for r in recs):
                lines.append(
                    f"- {dataset}, {name}: **not the paper's features** (they "
                    f"are not available offline; `gcl/configs/{method}/"
                    f"{dataset}.yaml` says what replaces them), so the row is "
                    "not the paper's setting.")
    if any(MACHINE_TIES in records(m, d) for m in METHODS for d in DATASETS):
        lines.append(
            f"- *({MACHINE_TIES})*: runs made before 2026-11-29 (gcl de4033f), "
            "whose PathSim top-k graphs took the order among tied PathSim "
            "values from their machine's numpy SIMD sort (AVX2 or AVX-512), "
            "as the official code does with numpy 1.25 or later, and not the "
            "authors' order (numpy 1.23.5), which `ties: numpy` gives on every "
            "machine since; by meta-path, the two selections differ in 0 to "
            "a third of the kept entries (ACM's PSP: 1 % on AVX-512, a "
            "different graph on AVX2; `benchmarks/diagnostics/"
            "pathsim_ties_cpu.log`). Reruns fill the main rows; "
            "`benchmarks/notes/meow.md`, \"The tie order depends on the CPU\".")
    if any(METAPATH2VEC in (recs[0].get("overrides") or [])
           for m in METHODS for d in DATASETS
           for recs in records(m, d).values() if recs):
        lines.append(
            f"- *({METAPATH2VEC})*: runs on features that gcl re-learns with "
            "metapath2vec (`gcl.datasets.metapath2vec_features`: one 64-d "
            "paper embedding per meta-path, author and reference embeddings "
            "from the same walks), the kind of features MEOW's AMiner files "
            "`feat_*.w1000.l100.npy` hold; with 5 walks per node instead of "
            "1000 they are not the authors' features; "
            "`benchmarks/notes/meow.md`, \"AMiner with metapath2vec features\".")
    if any(RELATIONS_AS_VIEWS in tag for d in DATASETS
           for tag in records("gcool_multiplex", d)):
        lines.append(
            f"- gCooL (multiplex) *({RELATIONS_AS_VIEWS})*: runs made before "
            "2026-11-29 with the relations as the two views (`contrast: "
            "across`), the design the configs used until validation chose "
            "`contrast: within` (two augmented views of each relation) on "
            "ACM; reruns fill the main rows. On DBLP, AMiner and Freebase "
            "validation kept `across` (their main rows), and the *(within)* "
            "rows are the design it rejected; "
            "`benchmarks/results/gcool_multiplex.md`.")
    lines.append(
        "- Notes per method (spreads, comparisons with the official code): "
        + ", ".join(f"`benchmarks/results/{m}.md`" for m in METHODS) + ".")
    lines.append(
        "- What the same protocol gives **without training** (the target "
        "features and their one-hop meta-path propagations): "
        "`benchmarks/results/hetero_floor.md`.")
    if same:
        lines += [
            "", "**On the same seeds.** Where the rows of a data set hold "
            "different seeds: every row "
            "again, over only the seeds that all of that data set's rows hold "
            "(named in the *seeds* column), so that the methods are compared "
            "on the same training seeds.", "", *header]
        for dataset, common in same.items():
            lines += dataset_rows(dataset, common)
    lines += ["<!-- --8<-- [end:body] -->", ""]
    OUT.write_text("\n".join(lines))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
