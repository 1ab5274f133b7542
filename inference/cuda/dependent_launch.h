// Programmatic dependent launch (sm_90+): at batch 1 the engine is a chain of ~90 small dependent
// kernels, and each one's launch, CTA rasterisation and prologue would otherwise start only after
// its predecessor has fully drained. Launched with the programmatic-serialization attribute, a
// kernel may start while its predecessor still runs; it must then call wait_for_producers()
// (kernel_util.cuh) before its first access to any activation, split-K scratch or counter, and
// may call release_dependents() right after, so the next kernel is scheduled in turn.
// Contract for every kernel the backend launches this way: the wait is executed unconditionally
// by every CTA before any global read of non-constant data or any global write. That makes the
// guarantee transitive (kernel i+1 completes only after kernel i did), so a kernel that reads the
// output of kernel i-5 (a Concat input, a residual) is as safe as with plain stream order.
// Inside stream capture the attribute becomes a programmatic edge of the CUDA graph.
// Default ON since the kernels copy their first weights before the wait (2026-12-02, H200,
// bench/cuda/logs/2026-12-02_s5prefetch_pdl_ab.log, three alternating A/B pairs): batch 1
// 0.350 -> 0.318 ms, batch 32 2.211 -> 2.185 ms. Before that it gained nothing (batch 1 1.041 vs
// 1.036 ms, bench/cuda/logs/2026-12-02_pdl_*): the dependent kernels had nothing to do before
// their wait. DETSTREAM_CUDA_PDL=0 turns it off. Internal to inference/cuda/.
#pragma once

namespace detstream::inference::cuda {

// DETSTREAM_CUDA_PDL (read once) unless overridden; thread-safe.
bool programmatic_launch_enabled();
// Overrides the environment for launches enqueued or captured from now on (tests, ablations).
void set_programmatic_launch_enabled(bool enabled);

// The priority (cudaLaunchAttributePriority) of the kernels this thread launches from now on;
// 0, the default, leaves it out. The graph capture raises the critical path's kernels so that
// the block scheduler gives them SMs before a side branch's (stream_schedule.h's slack).
void set_launch_priority(int priority);
int launch_priority();

}  // namespace detstream::inference::cuda
