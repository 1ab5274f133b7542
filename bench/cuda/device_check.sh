#!/bin/bash
# Run ON THE GPU MACHINE from the repository root, with .devdata carried (make_bundle.sh):
# the CUDA backend's GPU tests, then yolov8n parity and latency (fp32/fp16 at batch 1, cuDNN-only
# and packed-convolution variants, fp16 batches 1/8/32 of the dynamic export) and per-layer
# profiles at batch 1 and 32. Logs go to $OUT.
set -u
OUT=${OUT:-/tmp/device_out}
mkdir -p "$OUT" /tmp/dev
tar -xJf .devdata/bundle.tar.xz -C /tmp/dev
export LD_LIBRARY_PATH=/tmp/dev/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ldd /tmp/dev/bin/inference_tests | grep -q 'libcudnn.so.9 => not found'; then
  cudnn=$(find /usr /opt /lib -name 'libcudnn.so.9' 2>/dev/null | head -1)
  export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$cudnn")
fi
ldd /tmp/dev/bin/inference_tests | grep 'not found'
# The tests look for ../shared beside the source tree they were built from (/work/main).
mkdir -p /work/main && { [ -e /work/shared ] || ln -s "$PWD/.devdata/shared" /work/shared; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem,temperature.gpu --format=csv | tee "$OUT/gpu.txt"
/tmp/dev/bin/inference_tests --gtest_filter="${TESTS:-Cuda*}" 2>&1 | tee "$OUT/tests.log" | grep -E '^\[ +(OK|FAILED|SKIPPED|PASSED) |cuda \]|Failure|error|Expected|Which is|rel' | head -60
M=.devdata/shared/models/yolov8n.onnx
D=.devdata/shared/models/yolov8n_dynamic_2cls.onnx
I=.devdata/shared/golden/bus_640.input.f32
B=/tmp/dev/bin/detstream_cuda_bench
bench() { "$B" "$@" 2>&1 | tee -a "$OUT/bench.log"; }
# yolov8n.onnx has a fixed batch of 1; batches above 1 run the dynamic export (2 classes).
for p in fp32 fp16; do
  bench $M --precision $p --batch 1 --input $I --golden .devdata/shared/golden/bus_640.output.f32
done
DETSTREAM_CUDA_CONV=cudnn bench $M --precision fp16 --batch 1 --input $I --golden .devdata/shared/golden/bus_640.output.f32
DETSTREAM_CUDA_STRIDED_CONV=0 bench $M --precision fp16 --batch 1 --input $I --golden .devdata/shared/golden/bus_640.output.f32
for b in ${BATCHES:-1 8 32}; do
  bench $D --precision fp16 --batch $b --input $I --golden .devdata/shared/golden/bus_yolov8n_dynamic_2cls.output.f32
done
"$B" $M --precision fp16 --batch 1 --input $I --profile --iterations 50 2>&1 | tee "$OUT/profile.log"
"$B" $D --precision fp16 --batch 32 --input $I --profile --iterations 20 2>&1 | tee "$OUT/profile_b32.log"
echo "=== summary"; grep -E '^(RESULT|CONTEXT)' "$OUT/bench.log"
grep -E '^\[  (PASSED|FAILED) ' "$OUT/tests.log"
