#!/usr/bin/env bash
# GRACE reproductions that fit a 2-core CPU session (issue 3). Sequential:
# one training process at a time; finished runs are skipped, so this can be
# re-run after an interruption. OMP_WAIT_POLICY=PASSIVE keeps torch's two
# OpenMP threads from spin-waiting when something else shares the cores.
set -u
cd "$(dirname "$0")/.."
export GCL_DATA="${GCL_DATA:-$(cd .. && pwd)/shared/data}" OMP_WAIT_POLICY=PASSIVE
G=".venv/bin/gcl bench grace"
$G --datasets Cora CiteSeer --seeds 5
$G --datasets Physics --seeds 1 --epochs 5
.venv/bin/python benchmarks/speed.py
$G --datasets Photo --seeds 1 --epochs 300
$G --datasets Computers --seeds 1 --epochs 200
$G --datasets CS --seeds 1 --epochs 100
