# Sourced by the scripts that run ON THE GPU MACHINE (device_check.sh, diagnose.sh,
# ncu_layers.sh): unpacks .devdata's bundle (make_bundle.sh) into /tmp/dev once and sets
# LD_LIBRARY_PATH for the Debian libraries it carries and the machine's own cuDNN.
OUT=${OUT:-/tmp/device_out}
mkdir -p "$OUT" /tmp/dev
[ -x /tmp/dev/bin/detstream_cuda_bench ] || tar -xJf .devdata/bundle.tar.xz -C /tmp/dev
export LD_LIBRARY_PATH=/tmp/dev/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
if ldd /tmp/dev/bin/detstream_cuda_bench | grep -q 'libcudnn.so.9 => not found'; then
  cudnn=$(find /usr /opt /lib -name 'libcudnn.so.9' 2>/dev/null | head -1)
  export LD_LIBRARY_PATH=$LD_LIBRARY_PATH:$(dirname "$cudnn")
fi
ldd /tmp/dev/bin/detstream_cuda_bench /tmp/dev/bin/inference_tests | grep 'not found'
B=/tmp/dev/bin/detstream_cuda_bench
M=.devdata/shared/models/yolov8n.onnx
D=.devdata/shared/models/yolov8n_dynamic_2cls.onnx
I=.devdata/shared/golden/bus_640.input.f32
