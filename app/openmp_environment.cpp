#include "app/openmp_environment.h"

#include <unistd.h>

#include <cstdlib>

namespace detstream::app {

void ensure_openmp_wait_policy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  if (::setenv("GOMP_SPINCOUNT", kSpinCount, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GOMP_SPINCOUNT");  // exec failed: carry on with the library's defaults
}

}  // namespace detstream::app
