#!/bin/bash
# Eighth session, run E: a second machine start: b1 (and b32) of the final tree against 82fef2f, alternating.
set -u
source bench/cuda/device_env.sh
xz -dkc .devdata/old_bench.xz > /tmp/dev/bin/old_bench && chmod +x /tmp/dev/bin/old_bench
nvidia-smi --query-gpu=name,driver_version,pci.bus_id --format=csv,noheader | tee "$OUT/gpu.txt"
run() { out=$(env $2 $3 $4 --precision fp16 --batch $5 --input $I $6 2>&1); echo "$1 $(echo "$out" | grep -E 'RESULT|CONTEXT' | grep -oE 'rel_l2=[0-9.e-]+|layers_median_ms=[0-9.]+|img_per_s=[0-9]+|build_s=[0-9.]+|[0-9]+ layers' | tr '\n' ' ') $(echo "$out" | grep -i error | head -2)"; }
O=/tmp/dev/bin/old_bench
{
for r in 1 2 3 4; do
  run "b1 old " X=1 $O $M 1 ""
  run "b1 new " X=1 $B $M 1 ""
done
run "b32 new" X=1 $B $D 32 ""
} 2>&1 | tee "$OUT/ab.log"
