// detstream: real-time YOLO detection. One binary, one subcommand per job.
#include <cstdio>
#include <exception>

#include "app/command.h"
#include "app/openmp_environment.h"

int main(int argc, char** argv) {
  detstream::app::ensure_openmp_wait_policy(argv);
  CLI::App app{"detstream: real-time YOLOv8/YOLO11 detection on video, cameras and images.\n"
               "Builds its own inference engine from an ONNX export (CPU: oneDNN; GPU: CUDA/cuDNN)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "detstream 0.1.0");
  detstream::app::add_build_command(app);
  detstream::app::add_inspect_command(app);
  detstream::app::add_bench_command(app);
  detstream::app::add_detect_command(app);
  detstream::app::add_run_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "detstream: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
