// GripperPenalty: reports info["grasp_penalty"] = penalty (e.g. -0.02) for every gripper
// whose command changes its state on a step (close while open, open while closed; summed
// over the grippers of a multi-arm env), and 0 otherwise. The grasp critic trains on reward + grasp_penalty, which discourages
// chattering (the official HIL-SERL implementation). The reward itself is not changed.
// Command convention (as the envs): gripper <= -0.5 closes, >= 0.5 opens.
#pragma once

#include <vector>

#include "wrappers/wrapper.h"

namespace hilserl {

class GripperPenalty final : public Wrapper {
 public:
  GripperPenalty(std::unique_ptr<Env> inner, double penalty);
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;

 private:
  double penalty_;
  std::vector<int> grippers_;
  std::vector<bool> closed_;
};

}  // namespace hilserl
