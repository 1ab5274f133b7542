#!/bin/bash
# Eighth session, run D: the final tree (sibling merge on, the folded head convs removed): GPU tests
# with ../shared linked; b1 and b32 against 82fef2f, alternating; a b1 profile.
set -u
source bench/cuda/device_env.sh
mkdir -p /work/main && { [ -e /work/shared ] || ln -s "$PWD/.devdata/shared" /work/shared; }
xz -dkc .devdata/old_bench.xz > /tmp/dev/bin/old_bench && chmod +x /tmp/dev/bin/old_bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
run() { out=$(env $2 $3 $4 --precision fp16 --batch $5 --input $I $6 2>&1); echo "$1 $(echo "$out" | grep -E 'RESULT|CONTEXT' | grep -oE 'rel_l2=[0-9.e-]+|layers_median_ms=[0-9.]+|img_per_s=[0-9]+|build_s=[0-9.]+|[0-9]+ layers|head [a-z ]+' | tr '\n' ' ') $(echo "$out" | grep -i error | head -2)"; }
O=/tmp/dev/bin/old_bench
{
for r in 1 2 3; do
  run "b1 old " X=1 $O $M 1 ""
  run "b1 new " X=1 $B $M 1 ""
done
run "b1 new golden" X=1 $B $M 1 "--golden .devdata/shared/golden/bus_640.output.f32"
for r in 1 2; do
  run "b32 old" X=1 $O $D 32 ""
  run "b32 new" X=1 $B $D 32 ""
done
} 2>&1 | tee "$OUT/ab.log"
$B $M --precision fp16 --batch 1 --input $I --profile > "$OUT/profile.log" 2>&1
/tmp/dev/bin/inference_tests --gtest_filter='*Cuda*' > "$OUT/tests.log" 2>&1
grep -E '^\[  (PASSED|FAILED) |^\[  FAILED|head \]' "$OUT/tests.log" | head -40
