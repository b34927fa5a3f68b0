// The robustness-test flags shared by `hilserl eval` and `hilserl rollout`.
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "runtime/rollout.h"

namespace hilserl::cli {

void AddPerturbOptions(CLI::App* cmd, RolloutOptions* options) {
  cmd->add_option("--perturb", options->perturb,
                  "Disturb every episode once (robustness test): move_object or open_gripper")
      ->check(CLI::IsMember({"move_object", "open_gripper"}));
  cmd->add_option("--perturb-step", options->perturb_step, "Env steps before the disturbance")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
}

int CountPerturbed(const RolloutSummary& summary) {
  int perturbed = 0;
  for (const auto& e : summary.episodes) perturbed += e.perturbed ? 1 : 0;
  return perturbed;
}

void PrintPerturbation(const RolloutOptions& options, const RolloutSummary& summary) {
  if (options.perturb.empty()) return;
  std::cout << fmt::format("perturbation     {} after step {} in {} of {} episodes\n", options.perturb,
                           options.perturb_step, CountPerturbed(summary), summary.episodes.size());
}

}  // namespace hilserl::cli
