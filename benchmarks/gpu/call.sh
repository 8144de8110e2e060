#!/usr/bin/env bash
# One whole device call: installs the carried wheels, unpacks the carried
# data, runs each JOB (the options of one reproduce.py command) side by side
# within BUDGET seconds, and leaves in $OUT two files: call.log (every job's
# log, one after the other) and records.tar.gz (every job's runs/, logs/, log
# and plan.json; runs/ in the layout of benchmarks/runs). Two files, because a
# device call returns at most 8: a tar left out the 2026-11-27 call's records.
#
#   benchmarks/gpu/call.sh BUDGET 'JOB 1 OPTIONS' ['JOB 2 OPTIONS' ...]
#   benchmarks/gpu/call.sh setup    # install and unpack only
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
[ $# -ge 1 ] || [ "$budget" = setup ] \
  || { echo "call.sh: give at least one job's options" >&2; exit 2; }
cd "$(dirname "$0")/../.."
py=${PYTHON:-python3}
out=${OUT:-/tmp/gpu-out}
work=${GCL_GPU_WORK:-/tmp/gpu}
mkdir -p "$out" "$work"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

if [ -d .gpu-carry/whl ]; then
  if [ ! -f /tmp/site/.installed ]; then  # once per machine
    "$py" -m pip install -q --no-index --no-deps --target /tmp/site \
      .gpu-carry/whl/*.whl && touch /tmp/site/.installed || exit 1
  fi
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
# `call.sh setup`: the wheels and the data only, for a command of its own
# (GCL_DATA=/tmp/data PYTHONPATH=/tmp/site:$PWD python3 ...)
[ "$budget" = setup ] && exit 0
command -v nvidia-smi >/dev/null \
  && nvidia-smi --query-gpu=name,memory.total --format=csv,noheader

set -f  # a job's options may hold brackets (--set model.drop_edge=[0.3,0.5])
k=0
pids=()
for job in "$@"; do
  k=$((k + 1))
  mkdir -p "$work/job$k"
  # shellcheck disable=SC2086  # the job's options are meant to split
  "$py" benchmarks/gpu/reproduce.py --out "$work/job$k" --budget "$budget" \
    --checkpoint-dir "$work/job$k/checkpoints" $job \
    > "$work/job$k/job.log" 2>&1 &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
set +f

parts=()
for j in $(seq 1 "$k"); do
  echo "== job $j: ${!j}"
  cat "$work/job$j/job.log"
done | tee "$out/call.log"
for j in $(seq 1 "$k"); do
  for f in runs logs job.log plan.json; do
    [ -e "$work/job$j/$f" ] && parts+=("job$j/$f")
  done
done
[ ${#parts[@]} -gt 0 ] && tar czf "$out/records.tar.gz" -C "$work" "${parts[@]}"
exit $rc
