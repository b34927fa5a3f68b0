// Running episodes of a policy in an env and summarising them: the loop behind
// `hilserl rollout` (and, later, evaluation).
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "core/types.h"
#include "envs/env.h"
#include "data/episode_dataset.h"
#include "envs/expert.h"

namespace hilserl {

// A policy maps the current observation (and env, for privileged experts) to an action
// in env.action_space().
using PolicyFn = std::function<Action(Env& env, const Observation& obs)>;

// The scripted expert as a policy for the (wrapped) env: acts on the base env's
// privileged state and maps the action outward through the wrappers.
PolicyFn ExpertPolicy(ScriptedExpert* expert);
// Uniform random actions in the env's action space.
PolicyFn RandomPolicy(uint64_t seed);
// The expert's action plus Gaussian noise on every component (gripper commands included;
// std = `noise` x half the component's range), clipped to the env's action space: a
// policy that roughly knows the task but is clumsy (takeover tests).
PolicyFn NoisyExpertPolicy(ScriptedExpert* expert, double noise, uint64_t seed);
// Wraps `inner`: every `every` steps prints the privileged state (short vectors only) and
// the action to `out`: the quickest way to see what a policy or an expert actually does.
PolicyFn TracedPolicy(PolicyFn inner, int every, std::ostream& out);

// Runs one episode of the scripted expert through the (wrapped) env and records it in
// the env's action space (what a learner trains on); every step is marked intervened,
// since the operator drove it.
Episode RecordExpertEpisode(Env& env, ScriptedExpert& expert, uint64_t seed);
// Records one episode driven by `act` (e.g. a person with a teleop device), every step
// marked intervened; with `realtime`, one step per control period.
// With `labels` (classifier data, `hilserl record-labels`): every observation gets a
// success label (`label` of the step that produced it; 0 after reset), and when the env
// reports success the episode goes on for `hold_steps` more steps (the operator holds the
// success pose, giving more positive frames) unless the time limit cuts it first.
struct LabelOptions {
  std::function<bool(const StepResult&)> label;
  int hold_steps = 0;
};
Episode RecordEpisode(Env& env, const std::function<Action(Env&)>& act, uint64_t seed, bool realtime = false,
                      const LabelOptions* labels = nullptr);

struct EpisodeResult {
  uint64_t seed = 0;
  bool success = false;
  int steps = 0;
  double episode_return = 0.0;
  double duration_s = 0.0;  // steps * control_dt (simulated/robot time)
  bool perturbed = false;   // RolloutOptions::perturb was applied in this episode
};

struct RolloutOptions {
  int episodes = 10;
  uint64_t seed = 0;            // episode i uses seed + i
  std::string video_path;       // MP4 of all episodes, cameras side by side ("" = none)
  std::string frames_dir;       // PNG per camera per step ("" = none)
  int video_size = 256;         // pixels per camera (square)
  std::vector<std::string> cameras;  // empty = the env's observed cameras, else all
  bool progress = true;
  // Robustness test (Env::Perturb): disturb every episode once, after `perturb_step`
  // steps ("" = never).
  std::string perturb;
  int perturb_step = 10;
};

struct RolloutSummary {
  std::vector<EpisodeResult> episodes;
  double success_rate = 0.0;
  double mean_cycle_time_s = 0.0;  // mean duration of successful episodes (0 if none)
  double mean_return = 0.0;
  double wall_time_s = 0.0;
  int64_t total_steps = 0;
};

// Resets the expert (if any) through `on_reset` at each episode start.
RolloutSummary RunRollouts(Env& env, const PolicyFn& policy, const RolloutOptions& options,
                           const std::function<void(uint64_t seed)>& on_reset = nullptr);

}  // namespace hilserl
