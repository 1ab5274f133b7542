#!/bin/bash
# Run HERE (no GPU) after building build-cuda: packs what device_check.sh needs into .devdata/
# (git-ignored), to pass to the device tool as carry: [".devdata"].
# The GPU machine has CUDA 13, cuDNN 9 and cuBLAS but neither ../shared nor Debian's libraries.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build-cuda}
# .devdata/ is git-ignored (.gitignore).
rm -rf .devdata /tmp/devbundle && mkdir -p .devdata/shared/models .devdata/shared/golden /tmp/devbundle/bin /tmp/devbundle/lib
cp ../shared/models/yolov8n.onnx ../shared/models/yolov8n_dynamic_2cls.onnx .devdata/shared/models/
cp ../shared/golden/bus_640.input.f32 ../shared/golden/bus_640.output.f32 ../shared/golden/bus_yolov8n_dynamic_2cls.output.f32 .devdata/shared/golden/
cp "$BUILD"/tests/inference_tests "$BUILD"/bench/cuda/detstream_cuda_bench /tmp/devbundle/bin/
strip /tmp/devbundle/bin/*
for lib in libdnnl.so.2 libonnx_proto.so.1 libprotobuf.so.32 libOpenCL.so.1 libgomp.so.1; do
  cp -L /usr/lib/x86_64-linux-gnu/$lib /tmp/devbundle/lib/
done
tar -C /tmp/devbundle -cJf .devdata/bundle.tar.xz bin lib
du -sh .devdata
