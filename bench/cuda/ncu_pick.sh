#!/bin/bash
# Run ON THE GPU MACHINE with .devdata carried (make_bundle.sh): ncu counters and warp stall reasons
# for chosen kernels of one inference (PICKS: launch indices in layer order, as in the bench's
# "LAYERS in execution order" list) at batch BATCH. Tactics come from a timing cache recorded by a
# first run, so the profiled launches are the layers themselves. Writes $OUT/ncu_pick.txt.
set -u
source bench/cuda/device_env.sh
export DETSTREAM_CUDA_TIMING_CACHE=/tmp/ncu_timing_cache.txt
MODEL=${MODEL:-$D}
"$B" $MODEL --precision fp16 --batch ${BATCH:-32} --input $I --iterations 3 | grep RESULT
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
for k in ${PICKS:-0 3 14 15 41}; do
  timeout 200 "$NCU" --clock-control none --launch-skip $k --launch-count 1 --section SpeedOfLight --section Occupancy \
    --section SchedulerStats --section LaunchStats \
    --metrics regex:smsp__average_warps_issue_stalled_.*_per_issue_active\\.ratio,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__inst_executed.sum,l1tex__t_sector_hit_rate.pct,lts__t_sector_hit_rate.pct,dram__bytes.sum,smsp__inst_executed_op_ldgsts.sum,sm__warps_active.avg.pct_of_peak_sustained_active \
    "$B" $MODEL --precision fp16 --batch ${BATCH:-32} --input $I --iterations 1 >"$OUT/ncu_pick_$k.txt" 2>&1
  echo "=== launch $k rc=$?"
  grep -E '^  [a-zA-Z_].*\(|Duration|DRAM Throughput|Compute \(SM\) Throughput|Issued Warp Per Scheduler|Achieved Occupancy|Registers Per Thread|Dynamic Shared|Theoretical Occupancy|hmma|hit_rate|dram__bytes|inst_executed|warps_active' "$OUT/ncu_pick_$k.txt" | sed -E 's/\(detstream::[A-Za-z]+\)//; s/, Context 1, Stream [0-9]+, Device 0, CC 9.0//; s/  +/ /g' | cut -c1-200
  grep -E 'stalled_' "$OUT/ncu_pick_$k.txt" | awk '{print $NF, $1}' | sort -rn | head -6 | sed -E 's/smsp__average_warps_issue_stalled_//; s/_per_issue_active.ratio//'
done
