#!/bin/bash
# Eighth session, run F: after the review's epilogue cleanup (the upsampled offset's -1 sentinel
# and null test dropped: kUpsample says it): the GPU tests of the conv kernels and golden outputs,
# one b1 and one b32 figure.
set -u
source bench/cuda/device_env.sh
mkdir -p /work/main && { [ -e /work/shared ] || ln -s "$PWD/.devdata/shared" /work/shared; }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
/tmp/dev/bin/inference_tests --gtest_filter='CudaGpu.*:CudaYolov8n.*:*CudaGoldenDetections*:CudaStreams.*' > "$OUT/tests.log" 2>&1
grep -E '^\[  (PASSED|FAILED) |^\[  FAILED' "$OUT/tests.log" | head -20
{ $B $M --precision fp16 --batch 1 --input $I --golden .devdata/shared/golden/bus_640.output.f32; $B $D --precision fp16 --batch 32 --input $I; } 2>&1 | grep RESULT | tee "$OUT/bench.log"
