// RelativeFrame: the egocentric frame of the paper (REFERENCE.md section 1).
//
// Observations: "tcp_pose" becomes the pose of the tcp relative to its pose at the start
// of the episode, T_rel = T_start^-1 * T (a proper rigid transform, not an adjoint with
// swapped blocks: known defect (b)); "tcp_vel" is expressed in the current tcp frame
// ([R^T v; R^T w]). Actions: translation [x y z] and rotation [rx ry rz] components are
// read in the current tcp frame and rotated into the base frame (R * delta) before they
// reach the wrapped env. Other components pass through. A policy trained this way keeps
// working when the whole scene moves.
// Requires proprio "tcp_pose" (base frame) from the wrapped env.
#pragma once

#include "core/geometry.h"
#include "wrappers/wrapper.h"

namespace hilserl {

class RelativeFrame final : public Wrapper {
 public:
  explicit RelativeFrame(std::unique_ptr<Env> inner);
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;
  const Pose& start_pose() const { return start_; }

 protected:
  Action FromInnerAction(const Action& inner_action) const override;

 private:
  void Transform(Observation* obs);
  Action Rotate(const Action& a, const Eigen::Quaterniond& r) const;

  Pose start_;
  Pose current_;
  int trans_ = -1;  // index of "x" in the action
  int rot_ = -1;    // index of "rx", or -1
};

}  // namespace hilserl
