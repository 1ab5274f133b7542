// The OpenMP wait policy the cpu backend runs best under. Debian's oneDNN threads with GNU
// OpenMP, whose idle workers spin for ~300k iterations before sleeping. On a machine where other
// threads compete for the cores (the pipeline's capture/encode stages, or any other load), a
// spinning worker burns the time slice that the thread it waits for needs: measured on 2 cores
// with a compiler running beside it, yolov8n bf16 went from 15 ms to a 208 ms median (p99 1.4 s)
// with the default, versus 64 ms with a spin count of 1000, at a cost of a few percent idle.
// libgomp reads GOMP_SPINCOUNT once, when it is loaded (before main), so the only way to set it
// for the process is in the environment the process starts with.
#pragma once

namespace detstream::app {

// When the user has set neither OMP_WAIT_POLICY nor GOMP_SPINCOUNT, sets GOMP_SPINCOUNT to
// kSpinCount and re-executes this program with the same arguments; returns only when no re-exec
// is needed (or it failed, in which case the defaults stay).
void ensure_openmp_wait_policy(char** argv);

inline constexpr const char* kSpinCount = "1000";

}  // namespace detstream::app
