// How subcommands plug into the detstream binary: each file in app/commands/ defines one
// add_<name>_command() that registers its CLI11 subcommand and the callback that runs it.
// Callbacks throw (inference::Error or std::exception) for failures; main turns them into a
// message on stderr and exit code 1. CLI usage errors exit with CLI11's code (2 for bad flags).
#pragma once

#include <CLI/CLI.hpp>

namespace detstream::app {

void add_build_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_detect_command(CLI::App& app);
void add_run_command(CLI::App& app);

}  // namespace detstream::app
