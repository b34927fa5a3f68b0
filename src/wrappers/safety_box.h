// SafetyBoxWrapper: narrows where the tcp may be sent, for a task or a cautious first run.
//
// Each step it reads the measured tcp position (proprio "tcp_pose", base frame, from the
// last observation) and shrinks the translation part of the action so that the new target
// (measured + delta) lies inside [low, high]. The base env always applies its own hard
// safety box as well (every commanded pose passes one); this wrapper can only make it tighter.
// Must sit inside RelativeFrame (it expects base-frame actions and poses).
#pragma once

#include <Eigen/Core>

#include "wrappers/wrapper.h"

namespace hilserl {

class SafetyBoxWrapper final : public Wrapper {
 public:
  SafetyBoxWrapper(std::unique_ptr<Env> inner, const Eigen::Vector3d& low, const Eigen::Vector3d& high);
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;

 private:
  Eigen::Vector3d low_, high_;
  Eigen::Vector3d measured_ = Eigen::Vector3d::Zero();
  int trans_ = -1;
};

}  // namespace hilserl
