#!/bin/bash
# Run ON THE GPU MACHINE from the repository root, with .devdata carried (make_bundle.sh):
# the CUDA backend's GPU tests, then yolov8n parity and latency (fp32/fp16 at batch 1, fp16
# batches 1/8/32 of the dynamic export) and per-layer profiles at batch 1 and 32. Logs go to $OUT.
# VARIANTS=1 adds fp16 batch-1/32 runs with each optimisation switched off (for the notes).
set -u
source bench/cuda/device_env.sh
# The tests look for ../shared beside the source tree they were built from (/work/main).
mkdir -p /work/main && { [ -e /work/shared ] || ln -s "$PWD/.devdata/shared" /work/shared; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee "$OUT/gpu.txt"
if [ "${SKIP_TESTS:-0}" != 1 ]; then
  /tmp/dev/bin/inference_tests --gtest_filter="${TESTS:-*Cuda*}" 2>&1 | tee "$OUT/tests.log" | grep -E '^\[ +(OK|FAILED|SKIPPED|PASSED) |cuda \]|Failure|error|Expected|Which is|rel' | head -60
fi
G=.devdata/shared/golden/bus_640.output.f32
GD=.devdata/shared/golden/bus_yolov8n_dynamic_2cls.output.f32
bench() { "$B" "$@" 2>&1 | tee -a "$OUT/bench.log"; }
# yolov8n.onnx has a fixed batch of 1; batches above 1 run the dynamic export (2 classes).
for p in fp32 fp16; do bench $M --precision $p --batch 1 --input $I --golden $G; done
for b in ${BATCHES:-1 8 32}; do bench $D --precision fp16 --batch $b --input $I --golden $GD; done
if [ "${VARIANTS:-0}" = 1 ]; then
  for v in ${VARIANT_LIST:-DETSTREAM_CUDA_FUSE_HEAD=0 DETSTREAM_CUDA_PDL=0 DETSTREAM_CUDA_FUSE_STEM=0 DETSTREAM_CUDA_SPLIT_K=1 DETSTREAM_CUDA_FUSE_ADD=0 DETSTREAM_CUDA_DIRECT_CONV=0 DETSTREAM_CUDA_CONV=cudnn}; do
    echo "VARIANT $v" | tee -a "$OUT/bench.log"
    env $v "$B" $M --precision fp16 --batch 1 --input $I --golden $G 2>&1 | tee -a "$OUT/bench.log"
    env $v "$B" $D --precision fp16 --batch 32 --input $I --golden $GD 2>&1 | tee -a "$OUT/bench.log"
  done
fi
"$B" $M --precision fp16 --batch 1 --input $I --profile --iterations 50 >"$OUT/profile.log" 2>&1; head -30 "$OUT/profile.log"
"$B" $D --precision fp16 --batch 32 --input $I --profile --iterations 20 >"$OUT/profile_b32.log" 2>&1; head -30 "$OUT/profile_b32.log"
echo "=== summary"; grep -E '^(RESULT|CONTEXT|VARIANT)' "$OUT/bench.log"
grep -E '^\[  (PASSED|FAILED) ' "$OUT/tests.log"
