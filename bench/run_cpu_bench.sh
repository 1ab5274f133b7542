#!/usr/bin/env bash
# detstream vs ONNX Runtime on the CPU, one model, one run, back to back.
#
#   bench/run_cpu_bench.sh [--model ../shared/models/yolov8n.onnx] [--backend cpu] [--precisions "fp32 bf16"]
#                          [--warmup 10] [--iterations 100] [--threads N] [--batch N] [--imgsz N]
#                          [--build-dir build] [--out DIR]
#
# 1. `detstream build --output` makes one plan per precision (its wall time and file size are the
#    "plan build" and "plan size" columns); a precision the backend cannot do is reported, not fatal.
# 2. `detstream bench` on each plan, then the ONNX Runtime peer (bench/ort/ort_bench.js) on the ONNX
#    model, back to back with the same warmup, iterations, threads and input pattern.
# 3. A table (also written to OUT/table.md) with latency, throughput and the ratio
#    detstream median / ORT median (below 1: detstream is faster).
# Run from anywhere; paths are relative to the repository root. Needs the README's set-up (the
# detstream binary in build/) and node/npm; installs onnxruntime-node into bench/ort/node_modules
# when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

model=../shared/models/yolov8n.onnx
backend=cpu
precisions="fp32 bf16"
warmup=10
iterations=100
threads=0
batch=""
imgsz=""
build_dir=build
out=""

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --backend) backend="$2"; shift 2 ;;
    --precisions) precisions="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --iterations) iterations="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --imgsz) imgsz="$2"; shift 2 ;;
    --build-dir) build_dir="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_cpu_bench: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

detstream="$build_dir/app/detstream"
if [ ! -x "$detstream" ]; then
  echo "run_cpu_bench: $detstream not found: build first (bash .ci/setup, or cmake --build $build_dir -j2)" >&2
  exit 1
fi
if [ ! -f "$model" ]; then
  echo "run_cpu_bench: model file not found: $model (pass --model, e.g. ../shared/models/yolov8n.onnx)" >&2
  exit 1
fi
command -v node >/dev/null || { echo "run_cpu_bench: node not found (apt-get install nodejs npm)" >&2; exit 1; }
if [ ! -f bench/ort/node_modules/onnxruntime-node/package.json ]; then
  echo "== installing onnxruntime-node into bench/ort/node_modules (npm ci --ignore-scripts: CPU build only)"
  (cd bench/ort && npm ci --ignore-scripts --no-audit --no-fund)
fi

name=$(basename "$model" .onnx)
out=${out:-$build_dir/bench-results/$name-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"

shape_args=()
[ -n "$batch" ] && shape_args+=(--batch "$batch")
[ -n "$imgsz" ] && shape_args+=(--imgsz "$imgsz")
thread_args=()
[ "$threads" != 0 ] && thread_args+=(--threads "$threads")
run_args=(--warmup "$warmup" --iterations "$iterations" "${thread_args[@]}")

# write_json FILE KEY VALUE...: one flat JSON object; values that look like numbers are numbers.
write_json() {
  node -e '
    const [file, ...kv] = process.argv.slice(1);
    const doc = {};
    for (let i = 0; i < kv.length; i += 2) doc[kv[i]] = /^-?[0-9]+(\.[0-9]+)?$/.test(kv[i + 1]) ? Number(kv[i + 1]) : kv[i + 1];
    require("node:fs").writeFileSync(file, JSON.stringify(doc) + "\n");' "$@"
}

# 1. Plans, one per precision: build wall time and size go to build_<precision>.json.
for precision in $precisions; do
  plan="$out/${name}_${backend}_${precision}.plan"
  cmd=("$detstream" build --model "$model" --backend "$backend" --precision "$precision" "${shape_args[@]}" --output "$plan")
  echo "== ${cmd[*]}"
  start=$(date +%s.%N)
  if "${cmd[@]}" >"$out/build_$precision.log" 2>&1; then
    end=$(date +%s.%N)
    write_json "$out/build_$precision.json" backend "$backend" precision "$precision" plan "$plan" \
      build_s "$(awk "BEGIN{printf \"%.3f\", $end - $start}")" plan_bytes "$(stat -c %s "$plan")"
  else
    reason=$( (grep -m1 -i 'error' "$out/build_$precision.log" || head -n 1 "$out/build_$precision.log") | cut -c1-200)
    echo "   failed: $reason"
    write_json "$out/build_$precision.json" backend "$backend" precision "$precision" error "build failed: $reason"
  fi
done

# 2. Benchmarks back to back: every detstream plan, then ONNX Runtime.
for precision in $precisions; do
  plan="$out/${name}_${backend}_${precision}.plan"
  [ -f "$plan" ] || continue
  cmd=("$detstream" bench --model "$plan" --backend "$backend" --precision "$precision" "${run_args[@]}"
       --json "$out/detstream_$precision.json")
  echo "== ${cmd[*]}"
  if ! "${cmd[@]}" | tee "$out/detstream_$precision.log"; then
    echo "   detstream bench failed for $precision (see $out/detstream_$precision.log)"
  fi
done
cmd=(node bench/ort/ort_bench.js --model "$model" "${shape_args[@]}" "${run_args[@]}" --json "$out/ort.json")
echo "== ${cmd[*]}"
"${cmd[@]}" | tee "$out/ort.log"

# 3. The table.
echo
node bench/report_table.js "$out" | tee "$out/table.md"
echo "results: $out"
