// Inverse kinematics for resets: joint positions that put an arm's tcp at a pose.
//
// A robot moves to its reset pose before every episode (seconds on a real arm); the
// simulation gets there instantly by solving IK and setting the joints. Damped least
// squares on the 6-D pose error (translation m, rotation vector rad), with a small pull
// toward `rest` in the Jacobian's nullspace and the joint limits enforced.
#pragma once

#include <mujoco/mujoco.h>

#include "core/geometry.h"
#include "sim/arm.h"

namespace hilserl::sim {

struct IkResult {
  bool converged = false;
  double position_error = 0.0;  // m
  double rotation_error = 0.0;  // rad
  int iterations = 0;
};

// Starts from the joints currently in `d`, writes the solution into d->qpos (other joints
// untouched, arm velocities zeroed) and leaves `d` after mj_forward. Converged = within
// 0.1 mm and 1 mrad.
IkResult SolveIk(const mjModel* m, mjData* d, const Arm& arm, const Pose& target, const Arm::JointVector& rest,
                 int max_iterations = 200);

}  // namespace hilserl::sim
