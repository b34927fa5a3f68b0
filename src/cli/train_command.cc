// `hilserl train`: actor and learner threads in one process on a simulated task.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "runtime/trainer.h"

namespace hilserl::cli {
namespace {

// SIGINT / SIGTERM: the first asks the run to stop after a final checkpoint, a second
// exits at once.
std::atomic<int> g_interrupt{0};

void OnInterrupt(int sig) {
  if (g_interrupt.exchange(sig) != 0) _exit(128 + sig);
  static const char msg[] = "\nstopping: writing the final checkpoint (press Ctrl-C again to exit at once)\n";
  const ssize_t ignored = write(2, msg, sizeof(msg) - 1);
  (void)ignored;
}

struct Flags {
  std::string task = "pick_cube";
  std::string obs;
  std::string demos;
  std::string run_dir = "runs/train";
  int64_t steps = 0;
  uint64_t seed = 0;
  std::vector<std::string> overrides;
  std::string operator_name = "none";
  bool progress = true;
  bool resume = false;
  // hilserl learner: serve remote actors.
  std::string listen;
  std::string token, tls_cert, tls_key;
};

void Run(const Flags& f) {
  std::vector<std::string> overrides = f.overrides;
  if (!f.obs.empty()) overrides.push_back("env.obs_mode=" + f.obs);
  if (f.steps > 0) overrides.push_back(fmt::format("train.env_steps={}", f.steps));
  if (f.operator_name == "scripted") overrides.push_back("train.interventions=true");
  if (f.resume && (!f.obs.empty() || !f.demos.empty())) {
    throw InvalidArgument("--resume continues a run with its own config and buffers: --obs and --demos do not apply "
                          "(use --steps to set the new total and --set to change other values)");
  }
  TrainRequest req{f.resume ? ResumeConfig(f.run_dir, overrides) : TaskConfig::Load(f.task, overrides), f.demos,
                   f.run_dir, f.seed, f.progress, ""};
  req.resume = f.resume;
  req.listen = f.listen;
  req.token = f.token.empty() && std::getenv("HILSERL_TOKEN") ? std::getenv("HILSERL_TOKEN") : f.token;
  req.tls_cert = f.tls_cert;
  req.tls_key = f.tls_key;
  if (f.operator_name == "spacemouse" || f.operator_name == "gamepad" || f.operator_name == "keyboard") {
    req.teleop_device = f.operator_name;
  } else if (f.operator_name != "none" && f.operator_name != "scripted") {
    throw InvalidArgument(fmt::format("--operator '{}': expected none, scripted, spacemouse, gamepad or keyboard",
                                      f.operator_name));
  }
  req.interrupt = &g_interrupt;
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  const TrainResult r = Train(std::move(req));
  if (r.env_steps == 0) {
    std::cout << fmt::format("behaviour cloning: {} supervised updates on the demonstrations, no env steps\n",
                             r.learner_steps);
  } else {
    std::cout << fmt::format("trained {} env steps, {} learner steps, {} episodes in {:.0f} s "
                             "({:.0f} env steps/s, {:.0f} updates/s)\n",
                             r.env_steps, r.learner_steps, r.episodes, r.wall_time_s, r.env_steps_per_s,
                             r.updates_per_s);
    if (!r.history.empty()) {
      std::cout << "episode  env step  success(20)  interventions(20)\n";
      for (const auto& h : r.history) {
        std::cout << fmt::format("{:7d}  {:8d}  {:10.0f}%  {:16.1f}%\n", h.episode, h.env_step, 100 * h.success_rate,
                                 100 * h.intervention_rate);
      }
    }
    std::cout << fmt::format("rate limiter: the learner waited {:.0f} s for new data ({:.0f}% of the run)\n",
                             r.learner_wait_s, 100 * r.learner_wait_s / std::max(r.wall_time_s, 1e-9));
    std::cout << fmt::format("training success rate (last 20 episodes) {:.0f}%\n", 100 * r.recent_success);
    std::cout << fmt::format("interventions: {} steps in total; rate over the last 20 episodes {:.1f}%\n",
                             r.intervened_steps, 100 * r.recent_intervention_rate);
  }
  if (r.classifier_reward) {
    const ClassifierConfusion& c = r.classifier_confusion;
    std::cout << fmt::format("reward classifier on {} training steps: false positive rate {:.2f}% ({} steps), false "
                             "negative rate {:.2f}% ({} steps), against the simulator's success\n",
                             c.steps(), 100 * c.false_positive_rate(), c.false_positive, 100 * c.false_negative_rate(),
                             c.false_negative);
  }
  if (!r.eval.episodes.empty()) {
    std::cout << fmt::format("evaluation: success rate {:.1f}% over {} episodes, cycle time {:.2f} s\n",
                             100 * r.eval.success_rate, r.eval.episodes.size(), r.eval.mean_cycle_time_s);
  }
  if (r.skipped_updates > 0) {
    std::cout << fmt::format("{} updates were skipped for a non-finite loss or gradient\n", r.skipped_updates);
  }
  std::cout << "checkpoint " << r.checkpoint << "\n";
  if (r.interrupted) {
    std::cout << fmt::format("interrupted after {} env steps: everything is in the checkpoint; continue with "
                             "hilserl {} --resume --run-dir {}\n", r.env_steps, f.listen.empty() ? "train" : "learner",
                             f.run_dir);
    std::cout.flush();
    std::exit(128 + g_interrupt.load());
  }
  if (r.env_steps > 0) std::cout << "metrics    " << f.run_dir << "/episodes.csv, " << f.run_dir << "/learner.csv, TensorBoard: "
            << "tensorboard --logdir " << f.run_dir << "\n";
}

}  // namespace

// `train` (embedded actor) and `learner` (remote actors over gRPC) share their flags.
void AddTrainLike(CLI::App& app, bool learner) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = learner
      ? app.add_subcommand("learner",
                           "The learner alone: trains on what remote actors (hilserl actor) stream to it over gRPC.\n"
                           "Example: hilserl learner --task pick_cube --obs state --demos demos.h5 --listen "
                           "127.0.0.1:50051")
      : app.add_subcommand(
            "train",
            "Train a policy with SAC/RLPD (+ grasp critic) on a simulated task, actor and learner in one process.\n"
            "Example: hilserl train --task pick_cube --obs state --demos demos.h5 --steps 20000");
  cmd->add_option("--task", f->task, "Task name or YAML path")->capture_default_str();
  cmd->add_option("--obs", f->obs, "state or pixels (overrides the config)")->check(CLI::IsMember({"state", "pixels"}));
  cmd->add_option("--demos", f->demos, "HDF5 demonstrations for the demo buffer (from record-demos)");
  if (!learner) {
    cmd->add_option("--operator", f->operator_name,
                    "Who supervises: none; scripted (the simulated operator corrects the policy; see "
                    "teleop/scripted_operator.h and the task's 'operator' section); or a person with a "
                    "spacemouse, gamepad or keyboard (teleop/device.h; the actor then runs in real time)")
        ->check(CLI::IsMember({"none", "scripted", "spacemouse", "gamepad", "keyboard"}))
        ->capture_default_str();
  } else {
    f->listen = "127.0.0.1:50051";
    cmd->add_option("--listen", f->listen, "host:port to serve actors on (beyond loopback needs --token)")
        ->capture_default_str();
    cmd->add_option("--token", f->token, "Shared secret actors must present (or the HILSERL_TOKEN variable)");
    cmd->add_option("--tls-cert", f->tls_cert, "PEM certificate: serve TLS");
    cmd->add_option("--tls-key", f->tls_key, "PEM private key of --tls-cert");
  }
  cmd->add_option("--steps", f->steps, "Environment steps (overrides train.env_steps)");
  cmd->add_option("--run-dir", f->run_dir, "Where checkpoints and metrics go")->capture_default_str();
  cmd->add_option("--seed", f->seed, "Seed")->capture_default_str();
  cmd->add_option("--set", f->overrides, "Override a config value (section.key=value), repeatable");
  cmd->add_flag("!--no-progress", f->progress, "Do not draw a progress bar");
  cmd->add_flag("--resume", f->resume,
                "Continue the run in --run-dir from its last checkpoint (weights, optimizers, both buffers, counters), "
                "e.g. after the process was killed; --steps sets the new total");
  cmd->callback([f] { Run(*f); });
}

void AddTrainCommand(CLI::App& app) {
  AddTrainLike(app, false);
  AddTrainLike(app, true);
}

}  // namespace hilserl::cli
