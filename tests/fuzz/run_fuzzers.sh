#!/usr/bin/env bash
# Runs both fuzz targets for N seconds each (default 600) from build-fuzz/, seeding the corpora
# on first use; crashes land in build-fuzz/findings/<target>/. See tests/fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-600}
build=${BUILD:-build-fuzz}
shared=../shared
corpus=$build/corpus
mkdir -p "$corpus/onnx" "$corpus/plan" "$build/findings/onnx_importer_fuzzer" "$build/findings/plan_loader_fuzzer"
if [ -z "$(ls -A "$corpus/onnx")" ]; then
  cp "$shared"/models/*.onnx "$corpus/onnx/"
  for model in /usr/share/libonnx-testdata/data/node/test_{conv,maxpool,resize,split,concat,slice,reshape,transpose,softmax,matmul,gather,expand}*/model.onnx; do
    [ -f "$model" ] && cp "$model" "$corpus/onnx/$(basename "$(dirname "$model")").onnx"
  done
fi
if [ -z "$(ls -A "$corpus/plan")" ]; then
  detstream=${DETSTREAM:-build/app/detstream}
  for model in yolov8n_4cls_320 yolo11n_320; do
    "$detstream" build --model "$shared/models/$model.onnx" --backend ref --output "$corpus/plan/$model.plan" >/dev/null
  done
fi
# Big seeds (real models are MBs) make each run slow; libFuzzer still mutates them, and the small
# node-test models give it fast inputs to grow from.
run() {
  local target=$1 dir=$2
  "$build/tests/fuzz/$target" "$corpus/$dir" -max_total_time="$seconds" -rss_limit_mb=4096 -timeout=30 \
    -artifact_prefix="$build/findings/$target/" -print_final_stats=1 2>&1 | tail -25
}
run onnx_importer_fuzzer onnx
run plan_loader_fuzzer plan
