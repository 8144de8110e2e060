"""LightGCN, SimGCL and LightGCL (both settings) under the ranking task.

Reads the run records of ``gcl bench <method> --task ranking`` in
``benchmarks/runs/<method>/<dataset>/<tag>/seed<k>.json`` and prints, or
writes between the markers of ``benchmarks/results/lightgcl.md``,
one row per method and data set: test Recall@20/40 and NDCG@20/40 (mean ±
population std over the seeds, in %), the seeds, the epochs run and the
best (selected on validation Recall@20) epoch, the median seconds per
epoch, the largest peak memory and LightGCL's one-off SVD seconds.

    python benchmarks/lightgcl_table.py            # print
    python benchmarks/lightgcl_table.py --write    # update the results page
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent
RUNS, PAGE = ROOT / "runs", ROOT / "results" / "lightgcl.md"
METHODS = [("lightgcn", "LightGCN"), ("simgcl", "SimGCL"),
           ("lightgcl", "LightGCL (code)"), ("lightgcl_paper", "LightGCL (paper)")]
DATASETS = ["Gowalla", "LastFM"]
KEYS = ("recall@20", "recall@40", "ndcg@20", "ndcg@40")
MARKERS = {"table": ("<!-- table:start -->", "<!-- table:end -->"),
           "masking": ("<!-- masking:start -->", "<!-- masking:end -->"),
           "refit": ("<!-- refit:start -->", "<!-- refit:end -->")}


def records(method: str, dataset: str, tag: str) -> list[dict]:
    folder = RUNS / method / dataset / tag
    recs = [json.loads(p.read_text()) for p in folder.glob("seed*.json")]
    return sorted((r for r in recs if r.get("protocol") == "full_ranking"),
                  key=lambda r: r["seed"])


def cell(values: list[float]) -> str:
    mean = 100 * statistics.fmean(values)
    if len(values) == 1:
        return f"{mean:.2f}"
    return f"{mean:.2f} ± {100 * statistics.pstdev(values):.2f}"


def _head(head: str) -> list[str]:
    return [head, "|" + "---|" * (head.count("|") - 1)]


def table(tag: str = "config") -> str:
    lines = _head("| data | method | " + " | ".join(KEYS)
                  + " | seeds | epochs run (best) | s/epoch | peak MiB | SVD s |")
    for dataset in DATASETS:
        for method, name in METHODS:
            recs = records(method, dataset, tag)
            if not recs:
                continue
            cells = " | ".join(cell([r["metrics"][k] for r in recs]) for k in KEYS)
            seeds = ", ".join(str(r["seed"]) for r in recs)
            ep = ", ".join(f"{r['epochs']} ({r.get('best_epoch', '-')})" for r in recs)
            spe = statistics.median(r["seconds_per_epoch"] for r in recs)
            mem = max(r["peak_memory_mb"] for r in recs)
            svd = [r["svd_seconds"] for r in recs if "svd_seconds" in r]
            svd_s = f"{statistics.median(svd):.2f}" if svd else "-"
            lines.append(f"| {dataset} | {name} | {cells} | {seeds} | {ep} | "
                         f"{spe:.2f} | {mem:.0f} | {svd_s} |")
    return "\n".join(lines)


def _paired(task: str, all_variants: bool, tag: str = "config"):
    """``(dataset, name, variant, record, cells)`` for each record that has
    the extra ``task``: its main and the task's Recall@20 and NDCG@20 in %,
    in that order. ``all_variants`` reads every variant folder, else ``tag``.
    """
    for dataset in DATASETS:
        for method, name in METHODS:
            tags = ([f.name for f in sorted((RUNS / method / dataset).glob("*"))]
                    if all_variants else [tag])
            for variant in tags:
                for r in records(method, dataset, variant):
                    other = r.get("tasks", {}).get(task)
                    if other is None:
                        continue
                    pair = (r["metrics"], other["metrics"])
                    cells = [f"{100 * x[k]:.2f}" for k in ("recall@20", "ndcg@20")
                             for x in pair]
                    yield dataset, name, variant, r, " | ".join(cells)


def masking_table(tag: str = "config") -> str:
    """Test Recall/NDCG@20 of the same embeddings with the known items
    removed (the main result) and scored 0 (``old_setting``'s rule, the
    record's ``ranking_masked_zero`` task)."""
    lines = _head("| data | method | seed | recall@20 removed | recall@20 zeroed "
                  "| ndcg@20 removed | ndcg@20 zeroed |")
    lines += [f"| {dataset} | {name} | {r['seed']} | {cells} |"
              for dataset, name, _, r, cells
              in _paired("ranking_masked_zero", False, tag)]
    return "\n".join(lines)


def refit_table() -> str:
    """Per run with ``eval.refit`` (any variant folder): test Recall/NDCG@20
    of the model selected on validation (trained on 90 % of the training
    interactions) beside a fresh model trained on all of them for the epochs
    validation chose (the record's ``ranking_refit`` task)."""
    lines = _head("| data | method | variant | seed | epochs chosen | recall@20 "
                  "selected | recall@20 refit | ndcg@20 selected | ndcg@20 refit |")
    lines += [f"| {dataset} | {name} | {variant} | {r['seed']} | "
              f"{r.get('best_epoch', '-')} | {cells} |"
              for dataset, name, variant, r, cells in _paired("ranking_refit", True)]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tag", default="config", help="run folder tag (default config)")
    p.add_argument("--write", action="store_true",
                   help=f"replace the table between the markers of {PAGE.name}")
    args = p.parse_args()
    texts = {"table": table(args.tag), "masking": masking_table(args.tag),
             "refit": refit_table()}
    if not args.write:
        print("\n\n".join(texts.values()))
        return
    page = PAGE.read_text()
    for key, (start, end) in MARKERS.items():
        if start not in page or end not in page:
            raise SystemExit(f"{PAGE} has no {start} ... {end} markers")
        before, rest = page.split(start, 1)
        _, after = rest.split(end, 1)
        page = f"{before}{start}\n{texts[key]}\n{end}{after}"
    PAGE.write_text(page)


if __name__ == "__main__":
    main()
