#include "wrappers/gripper_penalty.h"

#include "core/error.h"

namespace hilserl {

GripperPenalty::GripperPenalty(std::unique_ptr<Env> inner, double penalty)
    : Wrapper(std::move(inner)), penalty_(penalty) {
  gripper_ = action_space().IndexOf("gripper");
  if (gripper_ < 0) throw InvalidArgument("gripper_penalty: the action space has no 'gripper' component");
}

Observation GripperPenalty::Reset(uint64_t seed) {
  closed_ = false;  // every episode starts with the gripper open
  return Wrapper::Reset(seed);
}

StepResult GripperPenalty::Step(const Action& action) {
  action_space().CheckFinite(action, "gripper_penalty input");
  const float g = action[gripper_];
  bool changed = false;
  if (g <= -0.5f && !closed_) changed = closed_ = true;
  if (g >= 0.5f && closed_) {
    changed = true;
    closed_ = false;
  }
  StepResult r = Wrapper::Step(action);
  r.info["grasp_penalty"] = changed ? penalty_ : 0.0;
  return r;
}

}  // namespace hilserl
