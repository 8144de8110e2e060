"""What the heterogeneous rows score without any training: the target
nodes' features and their one-hop propagations over each meta-path graph,
under the same HeCo protocol and k-means as ``benchmarks/results/hetero.md``.

For each data set (its ``heco`` config, or ``meow`` where there is no
``heco`` one: IMDB), with the target features :math:`X` row-normalised (as
HeCo's ``preprocess_features``; one-hot where a set ships none) and, per
meta-path graph :math:`A_m` (its support, weight 1 per pair), the GCN
normalisation :math:`\\hat A_m = \\tilde D_m^{-1/2} \\tilde A_m
\\tilde D_m^{-1/2}`, :math:`\\tilde A_m` being :math:`A_m` with a self-loop
of weight 1 on every node that has none (PyG's ``gcn_norm``), the
candidates are

- ``X``: the features alone;
- ``A_m X``: one propagation step over meta-path ``m`` (SGC with K = 1,
  Wu et al., ICML 2019, on one meta-path graph);
- ``mean_m A_m X``: the mean of those over the meta-paths.

Nothing is trained and nothing is chosen on test: each candidate is fixed
in advance and scored by :func:`gcl.eval.heco_protocol` (the config's probe
learning rate; ``--runs`` probe initialisations per split, 10 by default
against the tables' 50: the runs differ only in the probe's initial
weights) and by k-means (:func:`gcl.eval.clustering`, 10 runs, seed 0, as
``gcl bench``'s clustering task). The page
(``benchmarks/results/hetero_floor.md``) puts them beside the trained
methods' means from the run records.

    PYTHONPATH=. GCL_DATA=<data root> OMP_NUM_THREADS=1 python \\
        benchmarks/hetero_floor.py --datasets ACM-HeCo DBLP-HeCo AMiner-HeCo \\
        Freebase-HeCo IMDB-MEOW
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch
from torch_geometric.nn.conv.gcn_conv import gcn_norm
from torch_geometric.utils import to_torch_csr_tensor

from gcl.app.config import load_config
from gcl.app.record import machine_info
from gcl.datasets import load
from gcl.eval import clustering, heco_protocol

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
RUNS = ROOT / "benchmarks" / "runs"
METRICS = ("macro_f1@20", "macro_f1@40", "macro_f1@60",
           "micro_f1@20", "micro_f1@40", "micro_f1@60")
#: the trained rows put beside the floor (method folder, label)
TRAINED = (("heco", "HeCo"), ("meow", "MEOW"), ("adameow", "AdaMEOW"),
           ("gcool_multiplex", "gCooL (multiplex)"))


def config_of(dataset: str) -> dict:
    """The ``heco`` config of ``dataset``, else its ``meow`` one."""
    for method in ("heco", "meow"):
        try:
            return load_config(method, dataset)
        except (FileNotFoundError, ValueError):
            continue
    raise ValueError(f"no heco or meow config for {dataset!r}")


def candidates(data) -> dict[str, torch.Tensor]:
    """``X``, ``A_m X`` per meta-path graph and their mean (see the
    module docstring)."""
    t = data.target_node_type
    x = data[t].x
    x = x.to_dense() if x.is_sparse else x
    x = x.float()
    x = x / x.sum(dim=1, keepdim=True).clamp_min(1e-12)
    n = x.size(0)
    out = {"X": x}
    mps = [rel for (src, rel, dst) in data.edge_types
           if src == t and dst == t]
    if not mps:
        raise ValueError(f"{data.name}: no meta-path graph on {t!r}")
    for rel in mps:
        ei, w = gcn_norm(data[t, rel, t].edge_index, None, n, add_self_loops=True)
        with warnings.catch_warnings():  # torch's sparse-CSR notices
            warnings.filterwarnings("ignore", message="Sparse (CSR|invariant)")
            # row i gathers from its neighbours j: the transpose of PyG's
            # source -> target layout (the same for these symmetric graphs)
            adj = to_torch_csr_tensor(ei.flip(0), w, size=(n, n))
            out[f"A_{rel} X"] = adj @ x
    out["mean_m A_m X"] = torch.stack([out[f"A_{r} X"] for r in mps]).mean(0)
    return out


def score(dataset: str, runs: int) -> list[dict]:
    """One row per candidate: HeCo-protocol metrics and k-means NMI/ARI."""
    cfg = config_of(dataset)
    data = load(dataset, **cfg["data"])
    y = data[data.target_node_type].y
    ev = cfg["eval"]
    rows = []
    for name, z in candidates(data).items():
        t0 = time.perf_counter()
        res = heco_protocol(z, None, data=data, runs=runs, lr=ev["lr"],
                            weight_decay=ev.get("weight_decay", 0.0), seed=0)
        km = clustering(z, y, seed=0)
        rows.append({"dataset": dataset, "candidate": name, "dim": z.size(1),
                     "probe_lr": ev["lr"], "runs": runs,
                     "metrics": {k: 100 * res.metrics[k] for k in METRICS},
                     "nmi": 100 * km.metrics["nmi"], "ari": 100 * km.metrics["ari"],
                     "seconds": round(time.perf_counter() - t0, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def trained_means(dataset: str) -> list[tuple[str, dict, int]]:
    """(label, mean metrics in %, seeds) of the trained methods' ``config``
    records (the rows of ``hetero.md``, every seed recorded)."""
    out = []
    for folder, label in TRAINED:
        recs = [json.loads(p.read_text()) for p in
                sorted((RUNS / folder / dataset / "config").glob("seed*.json"))]
        if not recs:
            continue
        mean = {k: 100 * sum(r["metrics"][k] for r in recs) / len(recs)
                for k in METRICS}
        km = [r.get("tasks", {}).get("clustering", {}).get("metrics") for r in recs]
        if all(km):
            for k in ("nmi", "ari"):
                mean[k] = 100 * sum(c[k] for c in km) / len(km)
        out.append((label, mean, len(recs)))
    return out


def render(rows: list[dict], meta: dict) -> str:
    """The results page."""
    lines = [
        "# Heterogeneous graphs: what untrained features score",
        "",
        "<!-- --8<-- [start:body] -->",
        "Generated by `benchmarks/hetero_floor.py` (see its docstring). Macro-F1 "
        "and Micro-F1 in % at 20 / 40 / 60 labels per class (HeCo protocol, the "
        "config's probe learning rate, mean over the probe runs); NMI and ARI: "
        "k-means, 10 runs. *Trained* rows: the mean over the seeds recorded in "
        "`benchmarks/runs/<method>/<dataset>/config/` (the rows of `hetero.md`, "
        "50 probe runs each).",
        "",
        f"Machine: {meta['machine']}; command: `{meta['command']}`; "
        f"{meta['date']}.",
        "",
        "| dataset | embedding | dim | Ma-F1@20 | Ma-F1@40 | Ma-F1@60 | Mi-F1@20 "
        "| Mi-F1@40 | Mi-F1@60 | NMI | ARI | probe runs |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for ds in dict.fromkeys(r["dataset"] for r in rows):
        for r in (r for r in rows if r["dataset"] == ds):
            m = r["metrics"]
            lines.append(
                f"| {ds} | untrained: {r['candidate']} | {r['dim']} | "
                + " | ".join(f"{m[k]:.2f}" for k in METRICS)
                + f" | {r['nmi']:.2f} | {r['ari']:.2f} | {r['runs']} |")
        for label, m, n in trained_means(ds):
            km = " | ".join(f"{m[k]:.2f}" if k in m else "-" for k in ("nmi", "ari"))
            seeds = f"{n} seed{'s' if n > 1 else ''}"
            lines.append(
                f"| {ds} | trained: {label} ({seeds}) | - | "
                + " | ".join(f"{m[k]:.2f}" for k in METRICS) + f" | {km} | 50 |")
    lines += ["", "<!-- notes:start -->", ""]
    notes = ROOT / "benchmarks" / "notes" / "hetero_floor.md"
    if notes.is_file():
        lines.append(notes.read_text().rstrip())
    lines += ["", "<!-- --8<-- [end:body] -->", ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+",
                   default=["ACM-HeCo", "DBLP-HeCo", "AMiner-HeCo",
                            "Freebase-HeCo", "IMDB-MEOW"])
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--json", default=str(RESULTS / "hetero_floor.json"))
    p.add_argument("--out", default=str(RESULTS / "hetero_floor.md"))
    p.add_argument("--render-only", action="store_true",
                   help="rebuild the page from --json")
    args = p.parse_args()
    torch.set_num_threads(1)
    if args.render_only:
        saved = json.loads(Path(args.json).read_text())
        Path(args.out).write_text(render(saved["rows"], saved["meta"]))
        print(f"wrote {args.out}")
        return
    m = machine_info()
    saved = {"rows": [], "meta": {
        "machine": f"{m.get('cpu', 'CPU')}, 1 torch thread, torch "
                   f"{torch.__version__}, gcl {m.get('commit')}",
        "command": "python benchmarks/hetero_floor.py --datasets "
                   + " ".join(args.datasets) + f" --runs {args.runs}",
        "date": time.strftime("%Y-%m-%d")}}
    for ds in args.datasets:  # the page grows a data set at a time
        saved["rows"] += score(ds, args.runs)
        Path(args.json).write_text(json.dumps(saved, indent=1) + "\n")
        Path(args.out).write_text(render(saved["rows"], saved["meta"]))
        print(f"wrote {args.out} ({ds})", flush=True)


if __name__ == "__main__":
    main()
