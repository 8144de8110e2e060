#!/bin/bash
# The issue-17 scale timings and the Gowalla LightGCL epoch of 2026-11-26
# (benchmarks/results/scale.md). Run on an otherwise idle machine: on
# 2026-11-26 the background benchmarks of the session were paused
# (SIGSTOP) for the ~16 minutes these took, and resumed after.
set -e
cd "$(dirname "$0")/../../.."
export GCL_DATA=${GCL_DATA:-../shared/data} PYTHONPATH=. MPLBACKEND=Agg
O=${OUT:-runs/measure}; mkdir -p "$O"
PY=${PYTHON:-.venv/bin/python}
OMP_NUM_THREADS=2 $PY benchmarks/scale.py physics --epochs 3 --threads 2 --batch-size 4096 --json "$O/physics_t2.json"
OMP_NUM_THREADS=1 $PY benchmarks/scale.py ddp --epochs 3 --threads 1 --batch-size 4096 --json "$O/ddp.json"
OMP_NUM_THREADS=2 $PY benchmarks/scale.py synthetic --nodes 169343 --threads 2 --json "$O/sbm169k_t2.json"
OMP_NUM_THREADS=2 $PY benchmarks/scale.py synthetic --nodes 1000000 --max-batches 5 --threads 2 --json "$O/sbm1m_t2.json"
OMP_NUM_THREADS=2 $PY benchmarks/lightgcl_epoch.py --dataset Gowalla --threads 2 --json "$O/lightgcl_gowalla_t2.json"
