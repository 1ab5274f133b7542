#!/bin/bash
# Run ON THE GPU MACHINE with .devdata carried (make_bundle.sh): hardware counters (ncu) of the
# first LAUNCHES kernels of one inference at batch BATCH, in layer order. A first run records the
# tactics in a timing cache so the profiled run times no candidates and its launches are the
# layers themselves. Writes $OUT/ncu_layers.txt and prints one summary block per kernel.
set -u
source bench/cuda/device_env.sh
export DETSTREAM_CUDA_TIMING_CACHE=/tmp/ncu_timing_cache.txt
"$B" $D --precision fp16 --batch ${BATCH:-32} --input $I --iterations 3 | grep RESULT
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
timeout 400 "$NCU" --clock-control none --launch-count ${LAUNCHES:-45} --section SpeedOfLight --section ComputeWorkloadAnalysis \
  --section MemoryWorkloadAnalysis --section SchedulerStats --section WarpStateStats --section Occupancy --section LaunchStats \
  "$B" $D --precision fp16 --batch ${BATCH:-32} --input $I --iterations 1 >"$OUT/ncu_layers.txt" 2>&1
echo "ncu rc=$?"
grep -E '^  [a-zA-Z_].*\(|Duration|DRAM Throughput|L2 Cache Throughput|Compute \(SM\) Throughput|Issued Warp Per Scheduler|Achieved Occupancy|Registers Per Thread|stalled|Executed Ipc A' "$OUT/ncu_layers.txt" | sed -E 's/\(detstream::ConvIgemmParams\)//; s/, Context 1, Stream [0-9]+, Device 0, CC 9.0//; s/  +/ /g' | cut -c1-200
