// `hilserl record-demos`: records successful episodes of an operator into an HDF5 file.
#include <iostream>
#include <optional>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "core/progress.h"
#include "data/episode_dataset.h"
#include "runtime/rollout.h"
#include "teleop/human_operator.h"
#include "teleop/viewer.h"
#include "wrappers/make_env.h"

namespace hilserl::cli {
namespace {

struct Flags {
  std::string task = "pick_cube";
  std::string operator_name = "scripted";
  std::string obs;
  int episodes = 20;
  int max_attempts = 0;
  uint64_t seed = 0;
  std::string out = "demos.h5";
  std::vector<std::string> overrides;
  bool progress = true;
};

void Run(const Flags& f) {
  std::vector<std::string> overrides = f.overrides;
  if (!f.obs.empty()) overrides.push_back("env.obs_mode=" + f.obs);
  TaskConfig config = TaskConfig::Load(f.task, overrides);
  auto env = MakeEnv(config);
  // The scripted expert, or a person with a teleop device driving every step in real time
  // (the robot holds still while the device is idle).
  std::unique_ptr<ScriptedExpert> expert;
  std::unique_ptr<HumanOperator> human;
  std::unique_ptr<SimViewer> viewer;  // what the person sees
  if (f.operator_name == "scripted") {
    expert = MakeExpert(config);
  } else {
    human = std::make_unique<HumanOperator>(OpenTeleopDevice(f.operator_name));
    viewer = OpenViewerIfPossible(*env);
    std::cout << fmt::format("recording with the {}: drive each episode to success (episodes end on success "
                             "or at the time limit)\n", human->device().name());
  }
  auto record = [&](uint64_t seed) {
    if (expert) return RecordExpertEpisode(*env, *expert, seed);
    const Action hold(env->action_space().size(), 0.0f);
    return RecordEpisode(
        *env,
        [&](Env& e) {
          if (viewer) viewer->Show(e);
          return human->Decide(e, hold).action;
        },
        seed, /*realtime=*/true);
  };
  EpisodeWriter writer(f.out, DatasetInfo{env->name(), env->control_dt(), env->action_space().labels});
  const int max_attempts = f.max_attempts > 0 ? f.max_attempts : 3 * f.episodes + 10;
  std::optional<ProgressBar> bar;
  if (f.progress) bar.emplace("record", f.episodes);
  int attempts = 0, kept = 0, steps = 0;
  while (kept < f.episodes && attempts < max_attempts) {
    const Episode ep = record(f.seed + static_cast<uint64_t>(attempts++));
    if (ep.success) {
      writer.Write(ep);
      ++kept;
      steps += ep.length();
    }
    if (bar) bar->Update(kept, fmt::format("attempts {}", attempts));
  }
  if (bar) bar->Finish(fmt::format("attempts {}", attempts));
  writer.Close();
  std::cout << fmt::format("kept {} successful episodes of {} ({} transitions) -> {}\n", kept, attempts, steps, f.out);
  if (kept < f.episodes) {
    throw Unavailable(fmt::format("only {} of {} requested successful episodes after {} attempts", kept,
                                  f.episodes, attempts));
  }
}

}  // namespace

void AddRecordDemosCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "record-demos",
      "Record successful demonstrations into an HDF5 file (readable with h5py).\n"
      "Example: hilserl record-demos --task pick_cube --operator scripted --episodes 20 --out demos.h5");
  cmd->add_option("--task", f->task, "Task name or YAML path")->capture_default_str();
  cmd->add_option("--operator", f->operator_name,
                  "Who demonstrates: scripted (the task's expert), spacemouse, gamepad or keyboard")
      ->check(CLI::IsMember({"scripted", "spacemouse", "gamepad", "keyboard"}))
      ->capture_default_str();
  cmd->add_option("--episodes,-n", f->episodes, "Successful episodes to keep")->check(CLI::Range(1, 100000))->capture_default_str();
  cmd->add_option("--max-attempts", f->max_attempts, "Give up after this many episodes (default 3n + 10)");
  cmd->add_option("--seed", f->seed, "Seed of the first episode")->capture_default_str();
  cmd->add_option("--obs", f->obs, "state or pixels (overrides the config)")->check(CLI::IsMember({"state", "pixels"}));
  cmd->add_option("--out,-o", f->out, "Output HDF5 file")->capture_default_str();
  cmd->add_option("--set", f->overrides, "Override a config value (section.key=value), repeatable");
  cmd->add_flag("!--no-progress", f->progress, "Do not draw a progress bar");
  cmd->callback([f] { Run(*f); });
}

}  // namespace hilserl::cli
