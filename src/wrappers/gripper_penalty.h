// GripperPenalty: reports info["grasp_penalty"] = penalty (e.g. -0.02) on every step whose
// gripper command changes the gripper state (close while open, open while closed), and 0
// otherwise. The grasp critic trains on reward + grasp_penalty, which discourages
// chattering (REFERENCE.md section 2). The reward itself is not changed.
// Command convention (as the envs): gripper <= -0.5 closes, >= 0.5 opens.
#pragma once

#include "wrappers/wrapper.h"

namespace hilserl {

class GripperPenalty final : public Wrapper {
 public:
  GripperPenalty(std::unique_ptr<Env> inner, double penalty);
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;

 private:
  double penalty_;
  int gripper_ = -1;
  bool closed_ = false;
};

}  // namespace hilserl
