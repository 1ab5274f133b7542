#!/bin/bash
# Run ON THE GPU MACHINE with .devdata carried (make_bundle.sh): where the CUDA backend's time
# goes. Samples the clocks during everything, measures the graph-node floor (launch_floor.py),
# times batch 1 cold and right after a heavy load, and reads ncu's counters for conv kernels at
# batch 1 and 32. Logs go to $OUT.
set -u
source bench/cuda/device_env.sh
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,utilization.gpu --format=csv -lms 100 >"$OUT/clocks.csv" 2>&1 &
SMI=$!
python3 bench/cuda/launch_floor.py 2>&1 | tee "$OUT/floor.log"
echo "=== b1 after the floor run"; "$B" $M --precision fp16 --batch 1 --input $I 2>&1 | grep RESULT
echo "=== b1 again"; "$B" $M --precision fp16 --batch 1 --input $I --iterations 2000 2>&1 | grep RESULT
echo "=== b32"; "$B" $D --precision fp16 --batch 32 --input $I 2>&1 | grep RESULT
kill $SMI
NCU=$(command -v ncu || ls /opt/nvidia/nsight-compute/*/ncu /usr/local/cuda/bin/ncu 2>/dev/null | head -1)
SECTIONS="--section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats --section Occupancy --section LaunchStats --section SchedulerStats"
for b in 32 1; do
  model=$D; [ $b = 1 ] && model=$M
  timeout 240 "$NCU" --clock-control none --kernel-name regex:'conv|cudnn|sm90|xmma' --launch-count 30 $SECTIONS \
    "$B" $model --precision fp16 --batch $b --input $I --iterations 3 >"$OUT/ncu_b$b.txt" 2>&1
  echo "ncu b$b rc=$?"; grep -E '^  [a-z_]+.*\(|Duration|Memory Throughput|DRAM Throughput|Compute \(SM\) Throughput|Achieved Occupancy|Registers Per|Block Size|Grid Size|Warp Cycles Per Issued|Stall|Theoretical Occupancy|SM Frequency' "$OUT/ncu_b$b.txt" | head -150
done
awk -F, 'NR>1 {print $2}' "$OUT/clocks.csv" | sort | uniq -c | sort -rn | head -8
