#!/usr/bin/env bash
# Soak: `detstream run` on a file looped to N frames, sampling the process's resident memory once a
# second; prints the RSS slope (least squares, KiB per 1000 frames and MiB per hour) and writes the
# samples, the run's report and a summary into --out.
#   bench/run_soak.sh [--frames 10000] [--model ../shared/models/yolov8n_320.onnx] [--precision fp32]
#                     [--video ../shared/videos/highway_cars_1280x720.mp4] [--build-dir build] [--out DIR]
#                     [--output-video]   (also encode the annotated .mp4; default: JSONL only)
set -euo pipefail
cd "$(dirname "$0")/.."
frames=10000 model=../shared/models/yolov8n_320.onnx precision=fp32
video=../shared/videos/highway_cars_1280x720.mp4 build=build out=/tmp/detstream-soak encode=0
while [ $# -gt 0 ]; do
  case "$1" in
    --frames) frames="$2"; shift 2 ;;
    --model) model="$2"; shift 2 ;;
    --precision) precision="$2"; shift 2 ;;
    --video) video="$2"; shift 2 ;;
    --build-dir) build="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --output-video) encode=1; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run_soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for f in "$model" "$video" "$build/app/detstream"; do
  [ -e "$f" ] || { echo "run_soak.sh: '$f' does not exist" >&2; exit 1; }
done
mkdir -p "$out"
clip_frames=$(ffprobe -v error -count_packets -select_streams v:0 -show_entries stream=nb_read_packets -of csv=p=0 "$video")
loops=$(( (frames + clip_frames - 1) / clip_frames ))
looped="$out/looped.mp4"
ffmpeg -v error -y -stream_loop $((loops - 1)) -i "$video" -c copy "$looped"
args=(run --model "$model" --precision "$precision" --source "$looped" --max-frames "$frames"
      --json "$out/detections.jsonl" --report "$out/report.json" --cache-dir "$out/plans" --no-progress)
[ "$encode" = 1 ] && args+=(--output "$out/annotated.mp4")
"$build/app/detstream" "${args[@]}" > "$out/run.log" 2>&1 &
pid=$!
: > "$out/rss.csv"
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && echo "$(date +%s.%N),$rss" >> "$out/rss.csv"
  sleep 1
done
wait "$pid" || { echo "run_soak.sh: detstream run failed:" >&2; tail -5 "$out/run.log" >&2; exit 1; }
# Slope of RSS over time, ignoring the first 10% (plan load, queues filling, caches), converted to
# per-frame with the run's own average rate (frames_out / wall_s of the report).
fps=$(grep -o '"fps": *[0-9.]*' "$out/report.json" | head -1 | grep -o '[0-9.]*$')
awk -F, -v fps="$fps" '
  NR == 1 { t0 = $1 }
  { t[NR] = $1 - t0; r[NR] = $2; if ($2 > m) m = $2 }
  END {
    n = 0; sx = 0; sy = 0; sxx = 0; sxy = 0
    for (i = 1; i <= NR; i++) if (t[i] >= t[NR] / 10) { n++; sx += t[i]; sy += r[i]; sxx += t[i]*t[i]; sxy += t[i]*r[i] }
    slope = (n > 1 && n*sxx - sx*sx > 0) ? (n*sxy - sx*sy) / (n*sxx - sx*sx) : 0   # KiB per second
    printf "samples %d over %.0f s at %.1f fps; RSS first %.1f MiB, last %.1f MiB, max %.1f MiB\n", NR, t[NR], fps, r[1]/1024, r[NR]/1024, m/1024
    printf "RSS slope after the first 10%%: %.3f KiB per 1000 frames (%.2f MiB per hour)\n", slope*1000/fps, slope*3600/1024
  }' "$out/rss.csv" | tee "$out/summary.txt"
tail -3 "$out/run.log" | tee -a "$out/summary.txt"
