"""Does the official PathSim top-k graph depend on the machine?

MEOW's and AdaMEOW's official ``pathsim`` keeps, per node, the first
``nei_max`` columns of ``np.argsort(row)[::-1]`` over the dense PathSim row.
Numpy before 1.25 (the authors ran 1.23.5) sorts float64 with its portable
introsort on every CPU; numpy 1.25 and later dispatch float64 ``argsort`` to
SIMD kernels (x86-simd-sort: AVX2, AVX-512) that order *tied* values
differently. This script counts, for every meta-path of the shipped MEOW and
AdaMEOW configs, how many kept entries of that float64 selection differ from
gcl's ``pathsim_topk(..., ties="numpy")`` (rows sorted as ``long double``,
which no SIMD kernel takes: the portable order on every machine), with
numpy's SIMD dispatch as the machine offers it and with the AVX-512 and then
all dispatch targets disabled (``NPY_DISABLE_CPU_FEATURES``, one child
process each). With ``GCL_DATA`` pointing at the data::

    PYTHONPATH=. python benchmarks/diagnostics/pathsim_ties_cpu.py

Output: ``pathsim_ties_cpu.log`` beside this script (2026-11-29: numpy
2.4.6 on an AVX-512 machine).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

CONFIGS = [("meow", d) for d in ("ACM-HeCo", "DBLP-HeCo", "AMiner-HeCo",
                                 "IMDB-MEOW", "Freebase-HeCo")] + \
          [("adameow", d) for d in ("ACM-HeCo", "DBLP-HeCo", "AMiner-HeCo",
                                    "IMDB-MEOW")]


def _dispatch() -> list[str]:
    try:
        from numpy._core._multiarray_umath import __cpu_dispatch__
    except ImportError:  # numpy 1.x
        from numpy.core._multiarray_umath import __cpu_dispatch__
    return list(__cpu_dispatch__)


def _level() -> str:
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:
        from numpy.core._multiarray_umath import __cpu_features__
    on = [f for f in _dispatch() if __cpu_features__.get(f)]
    disabled = os.environ.get("NPY_DISABLE_CPU_FEATURES", "").split()
    on = [f for f in on if f not in disabled]
    return on[-1] if on else "portable (no dispatch target)"


def child() -> None:
    from gcl.app.config import load_config
    from gcl.datasets import load
    from gcl.datasets.metapath import _diag_and_coalesce, _numpy_topk, _prepare, _sim

    out = {"level": _level(), "numpy": np.__version__, "graphs": {}}
    for method, dataset in CONFIGS:
        cfg = load_config(method, dataset)
        data = load(dataset, **cfg["data"])
        model = cfg["model"]
        t = model["target"]
        n = data[t].num_nodes
        for name, k in zip(model["metapaths"], model["nei_max"]):
            store = data[t, name, t]
            w = store.get("edge_weight")
            if model.get("binary_metapaths") or w is None:
                w = torch.ones(store.edge_index.size(1))
            edge_index, n = _prepare(store.edge_index, n)
            ei, w, diag = _diag_and_coalesce(edge_index, w, n)
            sim = _sim(ei, w, diag)
            # kept positions: as the official code sorts here (float64),
            # and gcl's portable order (long double)
            official = set(_numpy_topk(ei, sim, n, k, np.float64).tolist())
            portable = set(_numpy_topk(ei, sim, n, k).tolist())
            key = f"{method} {dataset} {name} (k={k})"
            out["graphs"][key] = {"kept": len(portable),
                                  "differ": len(official ^ portable)}
    print(json.dumps(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    if p.parse_args().child:
        return child()
    dispatch = _dispatch()
    settings = [("as the machine offers", ""),
                ("AVX-512 disabled", " ".join(f for f in dispatch
                                              if "512" in f or f == "X86_V4")),
                ("all dispatch disabled", " ".join(dispatch))]
    runs = []
    for label, disable in settings:
        env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=disable)
        res = subprocess.run([sys.executable, __file__, "--child"], env=env,
                             check=True, capture_output=True, text=True)
        runs.append((label, json.loads(res.stdout.strip().splitlines()[-1])))
    print(f"numpy {runs[0][1]['numpy']}; numpy's dispatch targets here: "
          f"{', '.join(dispatch)}")
    print("kept entries of the official float64 selection that differ from "
          "gcl's ties='numpy' (portable order), per numpy dispatch:")
    head = " | ".join(f"{label}: {r['level']}" for label, r in runs)
    print(f"| meta-path | kept | {head} |")
    print("|---|---|" + "---|" * len(runs))
    for key, g in runs[0][1]["graphs"].items():
        cells = " | ".join(str(r["graphs"][key]["differ"]) for _, r in runs)
        print(f"| {key} | {g['kept']:,} | {cells} |")


if __name__ == "__main__":
    main()
