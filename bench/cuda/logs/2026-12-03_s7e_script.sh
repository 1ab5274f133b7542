#!/bin/bash
# Seventh session, run E: the GPU tests on the final tree (fefa5c8 code), and one b1 figure.
set -u
source bench/cuda/device_env.sh
mkdir -p /work/main && { [ -e /work/shared ] || ln -s "$PWD/.devdata/shared" /work/shared; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
/tmp/dev/bin/inference_tests --gtest_filter='*Cuda*' > "$OUT/tests.log" 2>&1
grep -E '^\[  (PASSED|FAILED) |^\[  FAILED' "$OUT/tests.log" | head -20
$B $M --precision fp16 --batch 1 --input $I --golden .devdata/shared/golden/bus_640.output.f32 2>&1 | grep RESULT | tee "$OUT/bench.log"
