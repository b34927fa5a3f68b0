// The `hilserl` executable. Subcommands are defined one per file (see commands.h).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "hilserl - human-in-the-loop sample-efficient robotic RL (HIL-SERL) in C++.\n"
      "Simulated tasks run headless in MuJoCo; see README.md for the full workflow.\n"
      "Run `hilserl <command> --help` for a command's options."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hilserl 0.1.0");
  hilserl::cli::AddRolloutCommand(app);
  hilserl::cli::AddTasksCommand(app);
  hilserl::cli::AddRecordDemosCommand(app);
  hilserl::cli::AddTrainCommand(app);
  hilserl::cli::AddEvalCommand(app);
  hilserl::cli::AddPretrainEncoderCommand(app);
  hilserl::cli::AddClassifierCommands(app);
  hilserl::cli::AddActorCommand(app);
  hilserl::cli::AddExperimentCommand(app);
  hilserl::cli::AddAnalyzeCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const hilserl::Error& e) {
    spdlog::error("{}", e.what());
    return 1;
  } catch (const std::exception& e) {
    spdlog::error("unexpected error: {}", e.what());
    return 2;
  }
  return 0;
}
