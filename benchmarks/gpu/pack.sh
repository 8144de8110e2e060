#!/usr/bin/env bash
# Packs what a bare GPU machine lacks into .gpu-carry/ (git-ignored via
# .git/info/exclude): the raw files of the GPU rows (Photo, Computers, CS and
# Physics; Gowalla and LastFM; the HeCo/MEOW sets), xz-compressed with the data
# root's layout, and wheels of the packages its image does not hold (igraph,
# leidenalg for CSGCL/gCooL communities, faiss for MEOW). Run once here;
# see README.md. Arguments name a subset of the data folders (default: all),
# e.g. `pack.sh pyg/Photo/raw pyg/Computers/raw` for a call on those two.
set -euo pipefail
cd "$(dirname "$0")/../.."
data=${GCL_DATA:?set GCL_DATA to the data root holding pyg/}
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(pyg/Photo/raw pyg/Computers/raw pyg/CS/raw pyg/Physics/raw rec heco)
for d in "${dirs[@]}"; do
  find "$data/$d" -type f | while read -r f; do
    rel=${f#"$data"/}
    out=.gpu-carry/data/$rel.xz
    mkdir -p "$(dirname "$out")"
    [ -f "$out" ] || xz -T2 -9 -c "$f" > "$out"
  done
done
# HECO_OFFICIAL=<folder holding code/ of a liun-online/HeCo checkout>: carry
# it too, for benchmarks/diagnostics/heco_official_seeds.py --device cuda
# (the official code is read there, never copied into the repository)
if [ -n "${HECO_OFFICIAL:-}" ]; then
  mkdir -p .gpu-carry/heco_official
  cp -r "$HECO_OFFICIAL/code" .gpu-carry/heco_official/
fi
mkdir -p .gpu-carry/whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  -d .gpu-carry/whl igraph==1.0.0 leidenalg==0.12.0 texttable==1.7.2 faiss-cpu==1.15.1
grep -qx '/.gpu-carry/' .git/info/exclude 2>/dev/null || echo /.gpu-carry/ >> .git/info/exclude
du -sh .gpu-carry
