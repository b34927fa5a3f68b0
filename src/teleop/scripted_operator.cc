#include "teleop/scripted_operator.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

void ScriptedOperatorOptions::Validate() const {
  if (!(disagreement_threshold >= -1 && disagreement_threshold <= 1)) {
    throw InvalidArgument("operator: 'disagreement_threshold' must be in [-1, 1]");
  }
  if (patience < 1 || takeover_steps < 1 || max_takeovers_per_episode < 0) {
    throw InvalidArgument("operator: 'patience' and 'takeover_steps' must be >= 1, 'max_takeovers_per_episode' >= 0");
  }
  if (!(takeover_probability >= 0 && takeover_probability <= 1)) {
    throw InvalidArgument("operator: 'takeover_probability' must be in [0, 1]");
  }
  if (!(trust_max_corrected >= 0 && trust_max_corrected <= 1)) {
    throw InvalidArgument("operator: 'trust_max_corrected' must be in [0, 1] (a share of an episode's steps)");
  }
  if (!(noise >= 0)) throw InvalidArgument("operator: 'noise' must be >= 0");
  if (!(max_relative_error >= 0)) throw InvalidArgument("operator: 'max_relative_error' must be >= 0 (0 = off)");
}

void ScriptedOperatorOptions::Load(ConfigNode& node) {
  node.Get("disagreement_threshold", &disagreement_threshold);
  node.Get("max_relative_error", &max_relative_error);
  node.Get("patience", &patience);
  node.Get("takeover_steps", &takeover_steps);
  node.Get("takeover_probability", &takeover_probability);
  node.Get("max_takeovers_per_episode", &max_takeovers_per_episode);
  node.Get("noise", &noise);
  node.Get("trust_max_corrected", &trust_max_corrected);
  node.CheckNoUnknownKeys();
  Validate();
}

ScriptedOperator::ScriptedOperator(std::unique_ptr<ScriptedExpert> expert, const ScriptedOperatorOptions& options)
    : expert_(std::move(expert)), options_(options) {
  options_.Validate();
  HILSERL_CHECK(expert_ != nullptr, "ScriptedOperator needs an expert");
}

void ScriptedOperator::StartEpisode(uint64_t seed, double recent_success_rate) {
  expert_->Reset(seed);
  rng_.Seed(seed ^ 0x0be7a70fULL);
  eagerness_ = options_.takeover_probability * (1.0 - std::clamp(recent_success_rate, 0.0, 1.0));
  disagree_streak_ = 0;
  remaining_ = 0;
  takeovers_ = 0;
}

OperatorDecision ScriptedOperator::Decide(Env& env, const Action& policy_action) {
  const VectorSpace& space = env.action_space();
  if (space.labels != labels_) {
    labels_ = space.labels;
    continuous_ = ContinuousIndices(space);
    grippers_ = GripperIndices(space);
  }
  Action expert = ExpertActionFor(env, *expert_);

  // How far apart are the two? Direction of the continuous components (translation and
  // rotation, or wrench) and the gripper commands.
  double dot = 0, np = 0, ne = 0, nd = 0;
  for (int i : continuous_) {
    dot += policy_action[i] * expert[i];
    np += policy_action[i] * policy_action[i];
    ne += expert[i] * expert[i];
    nd += (policy_action[i] - expert[i]) * (policy_action[i] - expert[i]);
  }
  // A near-zero expert action (e.g. waiting for the gripper) carries no direction.
  bool disagree = ne > 1e-4 && (np < 1e-8 || dot / std::sqrt(np * ne) < options_.disagreement_threshold);
  if (options_.max_relative_error > 0 && ne > 1e-4) {
    disagree |= std::sqrt(nd) > options_.max_relative_error * std::sqrt(ne);
  }
  // A gripper command opposite to the expert's (letting go of what it holds, closing on
  // nothing) is caught before it happens, as a person's hand on the device would.
  bool critical = false;
  for (int g : grippers_) {
    const float pg = policy_action[g], eg = expert[g];
    critical |= (eg <= -0.5f && pg >= 0.5f) || (eg >= 0.5f && pg <= -0.5f);
  }
  disagree |= critical;
  disagree_streak_ = disagree ? disagree_streak_ + 1 : 0;

  if (remaining_ == 0 && (disagree_streak_ >= options_.patience || critical) &&
      takeovers_ < options_.max_takeovers_per_episode && rng_.Uniform01() < eagerness_) {
    remaining_ = options_.takeover_steps;
    ++takeovers_;
  }
  if (remaining_ == 0) return {policy_action, false};
  --remaining_;
  disagree_streak_ = 0;
  if (options_.noise > 0) {
    for (int i : continuous_) expert[i] = static_cast<float>(expert[i] + options_.noise * rng_.Normal());
    expert = space.Clip(expert);
  }
  return {expert, true};
}

}  // namespace hilserl
