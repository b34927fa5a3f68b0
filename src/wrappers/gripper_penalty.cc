#include "wrappers/gripper_penalty.h"

#include "core/error.h"

namespace hilserl {

GripperPenalty::GripperPenalty(std::unique_ptr<Env> inner, double penalty)
    : Wrapper(std::move(inner)), penalty_(penalty) {
  grippers_ = GripperIndices(action_space());
  if (grippers_.empty()) throw InvalidArgument("gripper_penalty: the action space has no 'gripper' component");
  closed_.assign(grippers_.size(), false);
}

Observation GripperPenalty::Reset(uint64_t seed) {
  closed_.assign(grippers_.size(), false);  // every episode starts with the grippers open
  return Wrapper::Reset(seed);
}

StepResult GripperPenalty::Step(const Action& action) {
  action_space().CheckFinite(action, "gripper_penalty input");
  int changes = 0;
  for (size_t k = 0; k < grippers_.size(); ++k) {
    const float g = action[grippers_[k]];
    if ((g <= -0.5f && !closed_[k]) || (g >= 0.5f && closed_[k])) {
      closed_[k] = !closed_[k];
      ++changes;
    }
  }
  StepResult r = Wrapper::Step(action);
  r.info["grasp_penalty"] = penalty_ * changes;
  return r;
}

}  // namespace hilserl
