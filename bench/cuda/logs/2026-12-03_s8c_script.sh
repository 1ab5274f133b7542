#!/bin/bash
# Eighth session, run C (run A's bench had the merge pass's first, crashing build; run B got no machine):
# b1 and b32 A/B alternating: old (82fef2f), new with the merge off, new (merge on), new + fold; a b1 profile;
# the GPU tests (the igemm kernel now has a compile-time upsampling variant).
set -u
source bench/cuda/device_env.sh
xz -dkc .devdata/old_bench.xz > /tmp/dev/bin/old_bench && chmod +x /tmp/dev/bin/old_bench
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
run() { out=$(env $2 $3 $4 --precision fp16 --batch $5 --input $I $6 2>&1); echo "$1 $(echo "$out" | grep -E 'RESULT|CONTEXT' | grep -oE 'rel_l2=[0-9.e-]+|layers_median_ms=[0-9.]+|img_per_s=[0-9]+|build_s=[0-9.]+|[0-9]+ layers|head [a-z ]+[0-9x]* ?[a-z]*' | tr '\n' ' ') $(echo "$out" | grep -i error | head -2)"; }
O=/tmp/dev/bin/old_bench
{
for r in 1 2 3; do
  run "b1 old    " X=1 $O $M 1 ""
  run "b1 merge0 " DETSTREAM_CUDA_MERGE_SIBLINGS=0 $B $M 1 ""
  run "b1 merge  " X=1 $B $M 1 ""
  run "b1 mergeF " DETSTREAM_CUDA_FOLD_HEAD_CONVS=1 $B $M 1 ""
done
run "b1 mergeF golden" DETSTREAM_CUDA_FOLD_HEAD_CONVS=1 $B $M 1 "--golden .devdata/shared/golden/bus_640.output.f32"
run "b1 merge golden " X=1 $B $M 1 "--golden .devdata/shared/golden/bus_640.output.f32"
for r in 1 2; do
  run "b32 old   " X=1 $O $D 32 ""
  run "b32 merge0" DETSTREAM_CUDA_MERGE_SIBLINGS=0 $B $D 32 ""
  run "b32 merge " X=1 $B $D 32 ""
done
# The same tactics for both trees: old writes a timing cache, both then read it.
run "b32 old    writes cache" DETSTREAM_CUDA_TIMING_CACHE=/tmp/tc32 $O $D 32 ""
run "b32 merge0 reads old's " "DETSTREAM_CUDA_TIMING_CACHE=/tmp/tc32 DETSTREAM_CUDA_MERGE_SIBLINGS=0" $B $D 32 ""
run "b32 old    reads cache " DETSTREAM_CUDA_TIMING_CACHE=/tmp/tc32 $O $D 32 ""
run "b32 merge0 reads old's " "DETSTREAM_CUDA_TIMING_CACHE=/tmp/tc32 DETSTREAM_CUDA_MERGE_SIBLINGS=0" $B $D 32 ""
} 2>&1 | tee "$OUT/ab.log"
DETSTREAM_CUDA_FOLD_HEAD_CONVS=1 $B $M --precision fp16 --batch 1 --input $I --profile > "$OUT/profile.log" 2>&1
tail -40 "$OUT/profile.log" | cut -c1-110
/tmp/dev/bin/inference_tests --gtest_filter='*Cuda*' > "$OUT/tests.log" 2>&1
grep -E '^\[  (PASSED|FAILED) |^\[  FAILED|head \]' "$OUT/tests.log" | head -40
