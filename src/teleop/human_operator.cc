#include "teleop/human_operator.h"

#include <spdlog/spdlog.h>

#include "core/error.h"

namespace hilserl {

HumanOperator::HumanOperator(std::unique_ptr<TeleopDevice> device) : device_(std::move(device)) {
  HILSERL_CHECK(device_ != nullptr, "HumanOperator needs a device");
}

void HumanOperator::StartEpisode(uint64_t, double) {}

Action HumanOperator::CommandToAction(const VectorSpace& space, const TeleopCommand& c) {
  Action a(space.size(), 0.0f);
  // The device drives the first arm: its twist (pose control) or wrench (wrench control)
  // components and its gripper.
  std::vector<std::string> arms = ArmPrefixes(space, "x");
  const bool wrench = arms.empty();
  if (wrench) arms = ArmPrefixes(space, "fx");
  const std::string p = arms.empty() ? "" : arms.front();
  static const char* kTwist[6] = {"x", "y", "z", "rx", "ry", "rz"};
  static const char* kWrench[6] = {"fx", "fy", "fz", "tx", "ty", "tz"};
  for (int k = 0; k < 6; ++k) {
    const int i = space.IndexOf(p + (wrench ? kWrench[k] : kTwist[k]));
    if (i >= 0) a[i] = static_cast<float>(c.twist[k] * (c.twist[k] >= 0 ? space.high[i] : -space.low[i]));
  }
  const int g = space.IndexOf(p + "gripper");
  if (g >= 0) a[g] = static_cast<float>(c.gripper);
  return space.Clip(a);
}

OperatorDecision HumanOperator::Decide(Env& env, const Action& policy_action) {
  last_ = device_->Poll();
  if (!last_.connected && !warned_) {
    spdlog::warn("teleop device '{}' disconnected: the policy keeps control", device_->name());
    warned_ = true;
  }
  if (!last_.connected || !last_.active) return {policy_action, false};
  return {CommandToAction(env.action_space(), last_), true};
}

}  // namespace hilserl
