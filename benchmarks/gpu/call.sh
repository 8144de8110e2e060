#!/usr/bin/env bash
# One whole device call: installs the carried wheels, unpacks the carried
# data, runs each JOB (the options of one reproduce.py command) side by side
# within BUDGET seconds, and leaves in $OUT one log and one plan per job and
# records.tar.gz (every job's runs/ and logs/, the layout of benchmarks/runs).
#
#   benchmarks/gpu/call.sh BUDGET 'JOB 1 OPTIONS' ['JOB 2 OPTIONS' ...]
#
# Each job gets --out $GCL_GPU_WORK/job<k> (default /tmp/gpu/job<k>), --budget
# BUDGET and --checkpoint-dir inside its --out, so a second call on the
# still-warm machine resumes it; a job that should skip the runs recorded
# here names --known benchmarks/runs itself. Without .gpu-carry (a
# machine with the packages and GCL_DATA already there, or a CPU smoke test)
# the install and the unpacking are skipped. PYTHON names the interpreter
# (default python3); set GCL_COMMIT to the commit of the tree sent. See
# README.md for the jobs still to run.
set -uo pipefail
budget=${1:?usage: call.sh BUDGET 'JOB OPTIONS' ['JOB OPTIONS' ...]}
shift
[ $# -ge 1 ] || { echo "call.sh: give at least one job's options" >&2; exit 2; }
cd "$(dirname "$0")/../.."
py=${PYTHON:-python3}
out=${OUT:-/tmp/gpu-out}
work=${GCL_GPU_WORK:-/tmp/gpu}
mkdir -p "$out" "$work"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

if [ -d .gpu-carry/whl ]; then
  "$py" -m pip install -q --no-index --no-deps --target /tmp/site \
    .gpu-carry/whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PYTHONPATH
fi
if [ -d .gpu-carry/data ]; then
  if [ ! -f /tmp/data/.unpacked ]; then  # once per machine
    mkdir -p /tmp/data && cp -r .gpu-carry/data/. /tmp/data/ && "$py" -c "
import glob, lzma, os, shutil
for f in glob.glob('/tmp/data/**/*.xz', recursive=True):
    with lzma.open(f) as src, open(f[:-3], 'wb') as dst:
        shutil.copyfileobj(src, dst)
    os.remove(f)" && touch /tmp/data/.unpacked || exit 1
  fi
  export GCL_DATA=/tmp/data
fi
command -v nvidia-smi >/dev/null \
  && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

set -f  # a job's options may hold brackets (--set model.drop_edge=[0.3,0.5])
k=0
pids=()
for job in "$@"; do
  k=$((k + 1))
  # shellcheck disable=SC2086  # the job's options are meant to split
  "$py" benchmarks/gpu/reproduce.py --out "$work/job$k" --budget "$budget" \
    --checkpoint-dir "$work/job$k/checkpoints" $job \
    > "$out/job$k.log" 2>&1 &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
set +f

parts=()
for j in $(seq 1 "$k"); do
  echo "== job $j: ${!j}"
  cat "$out/job$j.log"
  [ -f "$work/job$j/plan.json" ] && cp "$work/job$j/plan.json" "$out/plan-job$j.json"
  for d in runs logs; do
    [ -d "$work/job$j/$d" ] && parts+=("job$j/$d")
  done
done
[ ${#parts[@]} -gt 0 ] && tar czf "$out/records.tar.gz" -C "$work" "${parts[@]}"
exit $rc
