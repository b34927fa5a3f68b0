// RelativeFrame: the egocentric frame of the paper (the paper).
//
// Observations: "tcp_pose" becomes the pose of the tcp relative to its pose at the start
// of the episode, T_rel = T_start^-1 * T (a proper rigid transform, not an adjoint with
// swapped blocks: known defect (b)); "tcp_vel" is expressed in the current tcp frame
// ([R^T v; R^T w]). Actions: translation [x y z] and rotation [rx ry rz] components are
// read in the current tcp frame and rotated into the base frame (R * delta) before they
// reach the wrapped env. Other components pass through (also a lone yaw component "rz"
// of yaw-only control, which stays about the world z axis). A policy trained this way
// keeps working when the whole scene moves.
// With several arms (labels "<arm>_x", proprio "<arm>_tcp_pose", envs/arm_env.h) every arm
// is treated the same way in its own frames.
// Requires proprio "tcp_pose" (base frame) for every arm with translation actions.
#pragma once

#include <string>
#include <vector>

#include "core/geometry.h"
#include "wrappers/wrapper.h"

namespace hilserl {

class RelativeFrame final : public Wrapper {
 public:
  explicit RelativeFrame(std::unique_ptr<Env> inner);
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;
  const Pose& start_pose(int arm = 0) const { return arms_[arm].start; }

 protected:
  Action FromInnerAction(const Action& inner_action) const override;

 private:
  struct ArmFrame {
    std::string prefix;
    int trans = -1;  // index of "x" in the action
    int rot = -1;    // index of "rx", or -1
    Pose start, current;
  };
  void Transform(Observation* obs);
  // Rotates each arm's components by its current rotation (inverse = conjugate).
  Action Rotate(const Action& a, bool inverse) const;

  std::vector<ArmFrame> arms_;
};

}  // namespace hilserl
