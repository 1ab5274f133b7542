// `detstream run`: placeholder until the pipeline lands (it will run a model over a source and
// print or save detections). Registered now so that the command list is stable.
#include "app/command.h"
#include "inference/core/error.h"

namespace detstream::app {

void add_run_command(CLI::App& app) {
  CLI::App* command = app.add_subcommand("run", "Run a model over a video, stream or camera (not available yet)");
  command->allow_extras();
  command->callback([] {
    throw inference::Error("`detstream run` is not available yet in this build: use `detstream detect` for images and "
                           "videos, or `detstream bench` to time a model");
  });
}

}  // namespace detstream::app
