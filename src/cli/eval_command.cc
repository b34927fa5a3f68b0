// `hilserl eval`: deterministic evaluation of a checkpoint.
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "runtime/trainer.h"

namespace hilserl::cli {
namespace {

struct Flags {
  std::string checkpoint;
  std::vector<std::string> overrides;
  std::string json;
  int trace_every = 0;
  RolloutOptions options;
};

void Run(Flags f) {
  namespace fs = std::filesystem;
  std::string dir = f.checkpoint;
  // A run directory means its final checkpoint.
  if (fs::exists(fs::path(dir) / "checkpoints" / "final")) dir = (fs::path(dir) / "checkpoints" / "final").string();
  LoadedPolicy p = LoadCheckpoint(dir, f.overrides);
  std::cout << fmt::format("evaluating {} on {} for {} episodes from seed {}\n", dir, p.env->name(),
                           f.options.episodes, f.options.seed)
            << std::flush;  // before the progress bar on stderr
  if (f.trace_every > 0) {
    // One traced episode first (not counted in the statistics).
    PolicyFn policy = AgentPolicy(*p.env, *p.agent, p.backbone.get());
    RolloutOptions one = f.options;
    one.episodes = 1;
    one.progress = false;
    one.video_path.clear();
    RunRollouts(*p.env, TracedPolicy(policy, f.trace_every, std::cout), one);
  }
  const RolloutSummary s = Evaluate(*p.env, *p.agent, f.options, p.backbone.get());
  int successes = 0;
  for (const auto& e : s.episodes) successes += e.success;
  std::cout << fmt::format("success rate     {:.1f}% ({}/{})\n", 100 * s.success_rate, successes, s.episodes.size());
  std::cout << fmt::format("cycle time       {:.2f} s (mean over successful episodes)\n", s.mean_cycle_time_s);
  std::cout << fmt::format("mean return      {:.3f}\n", s.mean_return);
  PrintPerturbation(f.options, s);
  if (!f.json.empty()) {
    std::vector<int> lengths;
    for (const auto& e : s.episodes) lengths.push_back(e.steps);
    nlohmann::json j = {{"checkpoint", dir}, {"task", p.env->name()}, {"episodes_run", s.episodes.size()},
                        {"success_rate", s.success_rate}, {"cycle_time_s", s.mean_cycle_time_s},
                        {"control_dt_s", p.env->control_dt()}, {"mean_return", s.mean_return},
                        {"episode_lengths", lengths}};
    if (!f.options.perturb.empty()) {
      j["perturbation"] = {{"kind", f.options.perturb}, {"after_step", f.options.perturb_step},
                           {"episodes_perturbed", CountPerturbed(s)}};
    }
    for (const auto& e : s.episodes) {
      j["episodes"].push_back({{"seed", e.seed}, {"success", e.success}, {"steps", e.steps}, {"return", e.episode_return},
                               {"perturbed", e.perturbed}});
    }
    std::ofstream(f.json) << j.dump(2) << "\n";
    std::cout << "report           " << f.json << "\n";
  }
}

}  // namespace

void AddEvalCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  f->options.episodes = 100;
  f->options.seed = 1000000;
  CLI::App* cmd = app.add_subcommand(
      "eval",
      "Evaluate a checkpoint (deterministic policy): success rate and cycle time.\n"
      "Example: hilserl eval --checkpoint runs/train --episodes 100");
  cmd->add_option("--checkpoint", f->checkpoint, "Checkpoint directory, or a run directory (uses its final checkpoint)")
      ->required();
  cmd->add_option("--episodes,-n", f->options.episodes, "Episodes")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--seed", f->options.seed, "Seed of the first episode")->capture_default_str();
  cmd->add_option("--video", f->options.video_path, "Write an MP4 of the episodes");
  cmd->add_option("--set", f->overrides, "Override a config value (section.key=value), repeatable");
  cmd->add_option("--json", f->json, "Write a JSON report");
  AddPerturbOptions(cmd, &f->options);
  cmd->add_option("--trace", f->trace_every,
                  "Before evaluating, print state and action every N steps of one episode");
  cmd->add_flag("!--no-progress", f->options.progress, "Do not draw a progress bar");
  cmd->callback([f] { Run(*f); });
}

}  // namespace hilserl::cli
