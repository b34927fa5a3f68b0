// Scripted experts: hand-written controllers that solve a sim task from privileged state.
// They record demonstrations and stand in for the human operator in simulation.
#pragma once

#include <cstdint>
#include <string>

#include <Eigen/Core>

#include "core/spaces.h"
#include "core/types.h"
#include "envs/env.h"

namespace hilserl {

class ScriptedExpert {
 public:
  virtual ~ScriptedExpert() = default;
  // Called at the start of every episode.
  virtual void Reset(uint64_t seed) = 0;
  // An action in the base env's action space `space` (physical units, base frame).
  virtual Action Act(const StateMap& state, const VectorSpace& space) = 0;
};

// What `expert` would do now in `env`, expressed in `env`'s (possibly wrapped) action
// space: acts on the base env's privileged state and maps out through the wrappers.
Action ExpertActionFor(const Env& env, ScriptedExpert& expert);

// Fills an action of `space` by component labels: x/y/z from `translation` (m),
// rx/ry/rz from `rotation` (rad, each if the space has it), gripper from `gripper`.
// Components are clipped to the space's bounds.
Action MakeArmAction(const VectorSpace& space, const Eigen::Vector3d& translation,
                     const Eigen::Vector3d& rotation, float gripper);

// The same for the arm with label prefix `prefix` ("" or "<arm>_") of a multi-arm space,
// writing into `action` (sized for `space`; other arms' components untouched, not clipped).
void SetArmAction(const VectorSpace& space, const std::string& prefix, const Eigen::Vector3d& translation,
                  const Eigen::Vector3d& rotation, float gripper, Action* action);
// Wrench control: fx/fy/fz from `force` (N), tx/ty/tz from `torque` (N m), tcp frame.
void SetWrenchAction(const VectorSpace& space, const std::string& prefix, const Eigen::Vector3d& force,
                     const Eigen::Vector3d& torque, Action* action);

}  // namespace hilserl
