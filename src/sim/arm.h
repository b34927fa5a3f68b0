// One simulated arm with a parallel-jaw gripper inside a MuJoCo model.
//
// The MJCF names it relies on (assets/panda/panda.xml), each preceded by `prefix` so a
// scene can hold several arms: joints joint1..joint7, torque actuators actuator1..7,
// gripper slide joints finger_joint1/2 (0 = closed, 0.04 m = open) with position
// actuators finger_actuator1/2, and the site `tcp` between the fingertip pads whose z axis
// points out of the gripper. All poses are in the world frame, which is the robot base
// frame for a single arm standing at the origin.
#pragma once

#include <array>
#include <string>

#include <Eigen/Core>
#include <mujoco/mujoco.h>

#include "core/geometry.h"

namespace hilserl::sim {

class Arm {
 public:
  static constexpr int kDof = 7;
  using JointVector = Eigen::Matrix<double, kDof, 1>;

  // Looks up every name; throws NotFound naming the first missing one.
  Arm(const mjModel* model, const std::string& prefix = "");

  Pose TcpPose(const mjData* d) const;
  // [linear (m/s); angular (rad/s)] of the tcp site in the world frame.
  Eigen::Matrix<double, 6, 1> TcpVelocity(const mjModel* m, const mjData* d) const;
  JointVector JointPositions(const mjData* d) const;
  JointVector JointVelocities(const mjData* d) const;
  // Sets joint positions (and zero velocities); call mj_forward afterwards.
  void SetJointPositions(mjData* d, const JointVector& q) const;

  // Gripper opening as a fraction: 0 = fully closed, 1 = fully open.
  double GripperOpening(const mjData* d) const;
  // Commands the gripper's position servos to an opening fraction in [0, 1].
  void SetGripperTarget(mjData* d, double opening) const;
  void SetGripperOpening(mjData* d, double opening) const;  // teleport (for resets)

  const std::string& prefix() const { return prefix_; }
  int tcp_site() const { return tcp_site_; }
  const std::array<int, kDof>& dof_adr() const { return dof_adr_; }
  const std::array<int, kDof>& qpos_adr() const { return qpos_adr_; }
  const std::array<int, kDof>& actuators() const { return actuators_; }
  // Torque limits of the arm's actuators (N m).
  const JointVector& torque_limit() const { return torque_limit_; }

 private:
  std::string prefix_;
  int tcp_site_ = -1;
  std::array<int, kDof> qpos_adr_{};
  std::array<int, kDof> dof_adr_{};
  std::array<int, kDof> actuators_{};
  JointVector torque_limit_;
  std::array<int, 2> finger_qpos_adr_{};
  std::array<int, 2> finger_dof_adr_{};
  std::array<int, 2> finger_actuators_{};
  double finger_range_ = 0.04;
};

}  // namespace hilserl::sim
