#!/usr/bin/env bash
# Packs what a bare GPU machine lacks into .gpu-carry/ (git-ignored via
# .git/info/exclude): the raw Photo/Computers/CS files, xz-compressed (62 MB
# -> 5 MB), and wheels of the packages its image does not hold (igraph,
# leidenalg for CSGCL/gCooL communities). Run once here; see README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${GCL_DATA:?set GCL_DATA to the data root holding pyg/}
for d in Photo Computers CS; do
  mkdir -p .gpu-carry/data/pyg/$d/raw
  for f in "$data"/pyg/$d/raw/*; do
    out=.gpu-carry/data/pyg/$d/raw/$(basename "$f").xz
    [ -f "$out" ] || xz -T2 -9 -c "$f" > "$out"
  done
done
mkdir -p .gpu-carry/whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  -d .gpu-carry/whl igraph==1.0.0 leidenalg==0.12.0 texttable==1.7.2
grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo /.gpu-carry/ >> .git/info/exclude
du -sh .gpu-carry
