// `hilserl actor`: a remote actor streaming to `hilserl learner` over gRPC.
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/error.h"
#include "runtime/trainer.h"

namespace hilserl::cli {
namespace {

struct Flags {
  std::string task = "pick_cube";
  std::string obs;
  std::string learner = "127.0.0.1:50051", token, tls_root_cert, name = "actor";
  int64_t steps = 0;
  uint64_t seed = 0;
  double durable_wait_s = 120;
  bool progress = true;
  std::string operator_name = "none";
  std::vector<std::string> overrides;
};

void Run(Flags& f) {
  std::vector<std::string> overrides = f.overrides;
  if (!f.obs.empty()) overrides.push_back("env.obs_mode=" + f.obs);
  if (f.operator_name == "scripted") overrides.push_back("train.interventions=true");
  ActorRequest req{TaskConfig::Load(f.task, overrides), f.learner, f.token, f.tls_root_cert, f.name, f.steps, f.seed,
                   f.progress, ""};
  if (f.operator_name != "none" && f.operator_name != "scripted") req.teleop_device = f.operator_name;
  if (req.token.empty() && std::getenv("HILSERL_TOKEN")) req.token = std::getenv("HILSERL_TOKEN");
  req.durable_wait_s = f.durable_wait_s;
  const ActorResult r = RunActor(std::move(req));
  std::cout << fmt::format("actor: {} env steps, {} episodes, success rate {:.1f}%, last weights v{}, {} reconnects; "
                           "{}\n", r.env_steps, r.episodes, 100 * r.success_rate, r.weights_version, r.reconnects,
                           r.delivered ? "everything delivered (in the learner's checkpoint)"
                                       : fmt::format("{} transitions NOT delivered", r.undelivered));
  if (!r.delivered) {
    throw Unavailable(fmt::format("{} transitions are not in a checkpoint of the learner at {} after waiting {:.0f} s "
                                  "(--durable-wait); they are lost with this actor", r.undelivered, f.learner,
                                  f.durable_wait_s));
  }
}

}  // namespace

void AddActorCommand(CLI::App& app) {
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = app.add_subcommand(
      "actor",
      "Run the env and the policy, stream transitions to a learner (hilserl learner) and load its weights.\n"
      "Example: hilserl actor --task pick_cube --obs state --learner 127.0.0.1:50051 --operator scripted");
  cmd->add_option("--task", f->task, "Task name or YAML path (the learner's)")->capture_default_str();
  cmd->add_option("--obs", f->obs, "state or pixels (as the learner)")->check(CLI::IsMember({"state", "pixels"}));
  cmd->add_option("--learner", f->learner, "host:port of the learner")->capture_default_str();
  cmd->add_option("--token", f->token, "The learner's shared secret (or the HILSERL_TOKEN variable)");
  cmd->add_option("--tls-root-cert", f->tls_root_cert, "PEM certificate to trust: connect with TLS");
  cmd->add_option("--name", f->name, "Name shown in the learner's log")->capture_default_str();
  cmd->add_option("--steps", f->steps, "Environment steps to run (default train.env_steps)");
  cmd->add_option("--seed", f->seed, "Seed of the first episode (give each actor its own)")->capture_default_str();
  cmd->add_option("--durable-wait", f->durable_wait_s,
                  "At the end, seconds to wait for the learner's checkpoint to hold everything sent")
      ->capture_default_str();
  cmd->add_option("--operator", f->operator_name, "none, scripted, spacemouse, gamepad or keyboard")
      ->check(CLI::IsMember({"none", "scripted", "spacemouse", "gamepad", "keyboard"}))
      ->capture_default_str();
  cmd->add_option("--set", f->overrides, "Override a config value (section.key=value), repeatable");
  cmd->add_flag("!--no-progress", f->progress, "Do not draw a progress bar");
  cmd->callback([f] { Run(*f); });
}

}  // namespace hilserl::cli
