// `hilserl tasks`: lists the registered tasks and their config files.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/paths.h"
#include "envs/registry.h"

namespace hilserl::cli {

void AddTasksCommand(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("tasks", "List the simulated tasks and their config files.");
  cmd->callback([] {
    for (const auto& name : TaskNames()) {
      const auto path = std::filesystem::path(ProjectRoot()) / "configs" / "tasks" / (name + ".yaml");
      std::cout << fmt::format("{:<20} {}\n", name,
                               std::filesystem::exists(path) ? path.string() : "(no config file)");
    }
  });
}

}  // namespace hilserl::cli
