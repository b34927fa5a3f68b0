// `hilserl rollout`: runs a policy (the scripted expert, or random actions) on a task,
// prints success rate and cycle time, and optionally writes a video / PNG frames.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "runtime/rollout.h"
#include "teleop/scripted_operator.h"
#include "wrappers/make_env.h"

namespace hilserl::cli {
namespace {

struct RolloutFlags {
  std::string task = "pick_cube";
  std::string policy = "scripted";
  std::string obs;
  std::vector<std::string> overrides;
  std::string json_path;
  int trace_every = 0;
  // Takeover test: `before` drives the first `takeover_after` steps of every episode, then
  // the scripted expert takes over from whatever state that left (0 = the expert throughout).
  int takeover_after = 0;
  std::string before = "random";
  double before_noise = 0.5;  // std of the noise on the expert's normalised action ("noisy")
  // The scripted operator supervises the policy (as in training), assuming this recent
  // success rate (0 = as eager to step in as it gets).
  bool supervised = false;
  double supervisor_success_rate = 0.0;
  RolloutOptions options;
};

void Run(const RolloutFlags& f) {
  std::vector<std::string> overrides = f.overrides;
  if (!f.obs.empty()) overrides.push_back("env.obs_mode=" + f.obs);
  TaskConfig config = TaskConfig::Load(f.task, overrides);
  std::unique_ptr<Env> env = MakeEnv(config);

  std::unique_ptr<ScriptedExpert> expert;
  PolicyFn policy;
  std::function<void(uint64_t)> on_reset;
  if (f.takeover_after > 0) {
    // The time limit counts from the takeover, so the expert gets the task's whole episode.
    ConfigNode wrappers = config.Section("wrappers");
    int limit = 0;
    wrappers.Get("time_limit", &limit);
    if (limit > 0) {
      config.root.Set("wrappers.time_limit", std::to_string(limit + f.takeover_after));
      env = MakeEnv(config);
    }
    expert = MakeExpert(config);
    PolicyFn first = f.before == "random" ? RandomPolicy(f.options.seed)
                                          : NoisyExpertPolicy(expert.get(), f.before_noise, f.options.seed);
    PolicyFn then = ExpertPolicy(expert.get());
    auto step = std::make_shared<int>(0);
    policy = [first, then, step, n = f.takeover_after](Env& e, const Observation& obs) {
      return (*step)++ < n ? first(e, obs) : then(e, obs);
    };
    on_reset = [&expert, step](uint64_t seed) {
      expert->Reset(seed);
      *step = 0;
    };
  } else if (f.policy == "scripted") {
    expert = MakeExpert(config);
    policy = ExpertPolicy(expert.get());
    on_reset = [&expert](uint64_t seed) { expert->Reset(seed); };
  } else if (f.policy == "random") {
    policy = RandomPolicy(f.options.seed);
  } else if (f.policy == "noisy") {
    expert = MakeExpert(config);
    policy = NoisyExpertPolicy(expert.get(), f.before_noise, f.options.seed);
    on_reset = [&expert](uint64_t seed) { expert->Reset(seed); };
  } else {
    throw InvalidArgument(fmt::format("--policy must be 'scripted', 'random' or 'noisy', got '{}'", f.policy));
  }

  // The simulated operator supervising the policy, as in training: it takes over when the
  // policy strays and its corrections are what the env executes.
  std::unique_ptr<ScriptedOperator> supervisor;
  auto intervened = std::make_shared<int64_t>(0);
  if (f.supervised) {
    ScriptedOperatorOptions oo;
    ConfigNode section = config.Section("operator");
    oo.Load(section);
    supervisor = std::make_unique<ScriptedOperator>(MakeExpert(config), oo);
    PolicyFn inner = policy;
    policy = [inner, op = supervisor.get(), intervened](Env& e, const Observation& obs) {
      const OperatorDecision d = op->Decide(e, inner(e, obs));
      *intervened += d.intervened ? 1 : 0;
      return d.action;
    };
    std::function<void(uint64_t)> inner_reset = on_reset;
    on_reset = [inner_reset, op = supervisor.get(), rate = f.supervisor_success_rate](uint64_t seed) {
      if (inner_reset) inner_reset(seed);
      op->StartEpisode(seed, rate);
    };
  }

  std::cout << fmt::format("task {} ({}), policy {}, {} episodes from seed {}\n", env->name(),
                           config.root.source(), f.policy, f.options.episodes, f.options.seed)
            << std::flush;  // before the progress bar on stderr
  if (f.trace_every > 0) policy = TracedPolicy(policy, f.trace_every, std::cout);
  const RolloutSummary s = RunRollouts(*env, policy, f.options, on_reset);

  int successes = 0, taken_over = 0, recovered = 0;
  for (const auto& e : s.episodes) {
    successes += e.success ? 1 : 0;
    if (e.steps > f.takeover_after) {
      ++taken_over;
      recovered += e.success ? 1 : 0;
    }
  }
  std::cout << fmt::format("success rate     {:.1f}% ({}/{})\n", 100.0 * s.success_rate, successes,
                           s.episodes.size());
  if (f.supervised) {
    std::cout << fmt::format("intervention     {:.1f}% of the steps corrected by the scripted operator\n",
                             100.0 * static_cast<double>(*intervened) / std::max<int64_t>(s.total_steps, 1));
  }
  if (f.takeover_after > 0) {
    std::cout << fmt::format("takeover         after {} steps of the {} policy: the expert took over in {} of {} "
                             "episodes (the rest had ended) and succeeded in {} ({:.1f}%)\n",
                             f.takeover_after, f.before, taken_over, s.episodes.size(), recovered,
                             taken_over > 0 ? 100.0 * recovered / taken_over : 0.0);
  }
  std::cout << fmt::format("cycle time       {:.2f} s (mean over successful episodes)\n", s.mean_cycle_time_s);
  PrintPerturbation(f.options, s);
  std::cout << fmt::format("mean return      {:.3f}\n", s.mean_return);
  std::cout << fmt::format("env steps/s      {:.0f} ({} steps in {:.1f} s wall)\n",
                           s.total_steps / std::max(s.wall_time_s, 1e-9), s.total_steps, s.wall_time_s);
  if (!f.options.video_path.empty()) std::cout << "video            " << f.options.video_path << "\n";
  if (!f.options.frames_dir.empty()) std::cout << "frames           " << f.options.frames_dir << "/\n";

  if (!f.json_path.empty()) {
    nlohmann::json j;
    j["task"] = env->name();
    j["policy"] = f.policy;
    j["success_rate"] = s.success_rate;
    j["cycle_time_s"] = s.mean_cycle_time_s;
    if (f.takeover_after > 0) {
      j["takeover"] = {{"after_steps", f.takeover_after}, {"before", f.before}, {"taken_over", taken_over},
                       {"recovered", recovered}};
    }
    j["mean_return"] = s.mean_return;
    j["wall_time_s"] = s.wall_time_s;
    for (const auto& e : s.episodes) {
      j["episodes"].push_back({{"seed", e.seed}, {"success", e.success}, {"steps", e.steps},
                               {"return", e.episode_return}, {"duration_s", e.duration_s}});
    }
    const auto parent = std::filesystem::path(f.json_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
    std::ofstream(f.json_path) << j.dump(2) << "\n";
    std::cout << "report           " << f.json_path << "\n";
  }
}

}  // namespace

void AddRolloutCommand(CLI::App& app) {
  auto flags = std::make_shared<RolloutFlags>();
  CLI::App* cmd = app.add_subcommand(
      "rollout",
      "Run a policy on a simulated task and report success rate and cycle time.\n"
      "Example: hilserl rollout --task pick_cube --policy scripted --episodes 20 --video out/pick.mp4");
  cmd->add_option("--task", flags->task,
                  "Task name (a file in configs/tasks/) or path to a task YAML file")
      ->capture_default_str();
  cmd->add_option("--policy", flags->policy, "scripted (the task's expert), random, or noisy (the expert plus --before-noise)")
      ->check(CLI::IsMember({"scripted", "random", "noisy"}))
      ->capture_default_str();
  cmd->add_option("--episodes,-n", flags->options.episodes, "Number of episodes")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  cmd->add_option("--seed", flags->options.seed, "Seed of the first episode (episode i uses seed + i)")
      ->capture_default_str();
  cmd->add_option("--obs", flags->obs, "Observation mode: state or pixels (overrides the config)")
      ->check(CLI::IsMember({"state", "pixels"}));
  cmd->add_option("--video", flags->options.video_path, "Write an MP4 of every episode (cameras side by side)");
  cmd->add_option("--frames", flags->options.frames_dir, "Write PNG frames of every camera into this directory");
  cmd->add_option("--video-size", flags->options.video_size, "Pixels per camera in videos/frames")
      ->check(CLI::Range(32, 1024))
      ->capture_default_str();
  cmd->add_option("--cameras", flags->options.cameras, "Cameras to record (default: the observed ones)");
  cmd->add_option("--set", flags->overrides,
                  "Override a config value, e.g. --set env.cube_yaw_range=0.5 (repeatable)");
  cmd->add_option("--takeover-after", flags->takeover_after,
                  "Takeover test: the --before policy drives the first N steps of every episode, then the "
                  "scripted expert takes over from that state (the time limit is extended by N)")
      ->check(CLI::Range(0, 100000));
  cmd->add_option("--before", flags->before, "Policy before the takeover: random, or noisy (the expert plus noise)")
      ->check(CLI::IsMember({"random", "noisy"}))
      ->capture_default_str();
  cmd->add_option("--before-noise", flags->before_noise,
                  "Noise of the noisy policy (std as a fraction of each action component's half range)")
      ->check(CLI::Range(0.0, 10.0))
      ->capture_default_str();
  cmd->add_flag("--supervised", flags->supervised,
               "The scripted operator supervises the policy as in training (reports the assisted success rate "
               "and the share of corrected steps)");
  cmd->add_option("--supervisor-success-rate", flags->supervisor_success_rate,
                  "Recent success rate the supervising operator assumes (it steps in less as it rises)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--trace", flags->trace_every, "Print privileged state and action every N steps");
  AddPerturbOptions(cmd, &flags->options);
  cmd->add_option("--json", flags->json_path, "Write a JSON report with per-episode results");
  cmd->add_flag("!--no-progress", flags->options.progress, "Do not draw a progress bar");
  cmd->callback([flags] { Run(*flags); });
}

}  // namespace hilserl::cli
