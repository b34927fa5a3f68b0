// ScriptedOperator: a stand-in for the human who supervises training in simulation.
//
// A person watching HIL-SERL train takes over with the SpaceMouse when the policy heads the
// wrong way, stalls or is about to fail, steers it back for a few steps, and lets go; they
// step in often early on and rarely once the policy succeeds by itself. This class plays
// that role with the task's scripted expert, a state-feedback controller that can correct
// from any state:
//  - every step it compares the policy's proposed action with what the expert would do
//    (cosine similarity of the continuous components - translation and rotation, or
//    wrench - and, with `max_relative_error`, the size of the error against the expert's
//    own move; and the gripper commands);
//  - after `patience` consecutive steps of disagreement it takes over with probability
//    `takeover_probability * (1 - recent_success_rate)`; a gripper command opposite to
//    the expert's (letting go of a held object, closing on nothing) is caught at once,
//    before it is executed;
//  - a takeover lasts `takeover_steps` steps (short corrections beat long ones), during
//    which the expert's action (plus Gaussian `noise`, as a human is not exact) is
//    applied and marked intervened; then it hands back;
//  - at most `max_takeovers_per_episode` takeovers per episode.
// The trainer passes as `recent_success_rate` the share of the last 20 episodes the policy
// won on its own (at most `trust_max_corrected` of the steps corrected), so the operator
// backs off as the policy proves itself.
// The expert acts on privileged simulator state, so this only works in simulation.
// Threading: used by one actor thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/rng.h"
#include "envs/env.h"
#include "envs/expert.h"
#include "teleop/operator.h"

namespace hilserl {

struct ScriptedOperatorOptions {
  double disagreement_threshold = 0.3;
  // Also disagree when |policy - expert| > max_relative_error * |expert| over the
  // continuous components (0 = direction only). For dynamic tasks, where a toss in the
  // right direction but of the wrong strength fails.
  double max_relative_error = 0.0;
  int patience = 2;
  int takeover_steps = 6;
  double takeover_probability = 1.0;
  int max_takeovers_per_episode = 4;
  double noise = 0.05;  // std of noise added to the expert's normalised continuous components
  // A success counts as the policy's own (and makes the operator step in less) when at
  // most this share of its steps were corrected; 1 = every success counts, assisted or not.
  double trust_max_corrected = 0.1;

  void Validate() const;
  void Load(ConfigNode& node);
};

class ScriptedOperator final : public Operator {
 public:
  ScriptedOperator(std::unique_ptr<ScriptedExpert> expert, const ScriptedOperatorOptions& options);

  // Call after every env reset; `recent_success_rate` in [0, 1] scales how eager the
  // operator is to step in.
  void StartEpisode(uint64_t seed, double recent_success_rate) override;
  // Looks at the proposed policy action for the current state of `env` (the wrapped env
  // the policy acts in) and decides who acts.
  OperatorDecision Decide(Env& env, const Action& policy_action) override;

  int takeovers() const { return takeovers_; }

 private:
  std::unique_ptr<ScriptedExpert> expert_;
  ScriptedOperatorOptions options_;
  Rng rng_;
  double eagerness_ = 1.0;
  int disagree_streak_ = 0;
  int remaining_ = 0;  // steps left in the current takeover
  int takeovers_ = 0;
  std::vector<std::string> labels_;  // action labels the indices below were computed for
  std::vector<int> continuous_, grippers_;
};

}  // namespace hilserl
