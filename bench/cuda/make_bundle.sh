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
cp ../shared/golden/bus_640.input.f32 ../shared/golden/bus_640.output.f32 ../shared/golden/bus_yolov8n_dynamic_2cls.output.f32 \
  ../shared/golden/bus_640.json ../shared/golden/zidane_640.input.f32 ../shared/golden/zidane_640.output.f32 \
  ../shared/golden/zidane_640.json .devdata/shared/golden/
# Raw BGR pixels of bus.jpg for the frame-path test (CudaFramePath.*): the GPU machine has no JPEG
# decoder. Any decoder will do (both paths of the test read the same bytes).
mkdir -p .devdata/shared/images
if command -v ffmpeg >/dev/null; then
  ffmpeg -loglevel error -y -i ../shared/images/bus.jpg -f rawvideo -pix_fmt bgr24 .devdata/shared/images/bus_810x1080.bgr
else
  convert ../shared/images/bus.jpg -depth 8 bgr:.devdata/shared/images/bus_810x1080.bgr
fi
test "$(stat -c %s .devdata/shared/images/bus_810x1080.bgr)" = $((810 * 1080 * 3))
cp "$BUILD"/tests/inference_tests "$BUILD"/bench/cuda/detstream_cuda_bench /tmp/devbundle/bin/
strip /tmp/devbundle/bin/*
for lib in libdnnl.so.2 libonnx_proto.so.1 libprotobuf.so.32 libOpenCL.so.1 libgomp.so.1; do
  cp -L /usr/lib/x86_64-linux-gnu/$lib /tmp/devbundle/lib/
done
tar -C /tmp/devbundle -cJf .devdata/bundle.tar.xz bin lib
du -sh .devdata
