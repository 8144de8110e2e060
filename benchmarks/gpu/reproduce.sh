#!/usr/bin/env bash
# One device call: the large-graph rows (see reproduce.py's docstring).
#   benchmarks/gpu/reproduce.sh OUT_DIR [BUDGET_SECONDS] [reproduce.py options]
# GCL_DATA must hold pyg/{Photo,Computers,CS}/raw. Records land in
# OUT_DIR/runs as each run finishes; OUT_DIR/plan.json says what is left.
set -euo pipefail
out=${1:?usage: reproduce.sh OUT_DIR [BUDGET_SECONDS] [options]}
budget=${2:-540}
shift $(( $# >= 2 ? 2 : 1 ))
cd "$(dirname "$0")/../.."
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv
exec python3 benchmarks/gpu/reproduce.py --out "$out" --budget "$budget" "$@"
