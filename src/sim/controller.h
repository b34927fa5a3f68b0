// Operational-space impedance controller with reference limiting.
//
// Each physics step it turns a Cartesian target pose of the tcp into arm joint torques:
//   e   = clip(target - current, per axis)       pose error, translation (m) and rotation
//                                                (rotation vector, rad), world frame
//   F   = Lambda (Kp e - Kd v)                   task-space force, Lambda = (J M^-1 J^T)^-1
//   tau = J^T F + N^T (k_null (q_home - q) - d_null qdot) + bias (gravity + Coriolis)
// clipped to the actuators' torque limits. Clipping the error ("reference limiting")
// bounds the force the arm can apply when it is blocked by contact: this is what keeps
// precise insertion from jamming or crushing parts (the official HIL-SERL implementation).
//
// Use: mj_step1(m, d); controller.Apply(m, d, target); mj_step2(m, d);
// Not thread-safe; allocation-free after construction.
#pragma once

#include <vector>

#include <Eigen/Core>
#include <mujoco/mujoco.h>

#include "core/config.h"
#include "core/geometry.h"
#include "sim/arm.h"

namespace hilserl::sim {

struct ImpedanceOptions {
  // Validated ranges (a stiffer or less damped loop overshoots the commanded pose).
  static constexpr double kMaxKpTranslation = 5000.0;
  static constexpr double kMaxKpRotation = 5000.0;
  static constexpr double kMinDampingRatio = 0.3;
  static constexpr double kMaxDampingRatio = 3.0;

  double kp_translation = 1000.0;  // 1/s^2 (operational-space, mass-normalised)
  double kp_rotation = 500.0;      // 1/s^2
  double damping_ratio = 1.0;      // 1 = critically damped
  double max_translation_error = 0.02;  // m, per axis (reference limiting)
  double max_rotation_error = 0.15;     // rad, per axis
  double kp_nullspace = 10.0;           // N m / rad toward the home posture
  double damping_nullspace = 2.0;       // N m s / rad
  bool gravity_compensation = true;
  std::vector<double> home_joints = {0.0, -0.785398, 0.0, -2.356194, 0.0, 1.570796, 0.785398};

  void Validate() const;
  void Load(ConfigNode& node);  // reads the keys above; unknown keys are errors
};

class ImpedanceController {
 public:
  ImpedanceController(const mjModel* model, const Arm* arm, const ImpedanceOptions& options);

  // Writes torques for `target` into d->ctrl. Kinematics, mass matrix and bias forces in
  // `d` must be current (call after mj_step1 or mj_forward). `feedforward` (optional):
  // a wrench [force (N); torque (N m)] on the tcp in the world frame, added as J^T w
  // (wrench control of dynamic tasks); torques are clipped after adding it.
  void Apply(const mjModel* m, mjData* d, const Pose& target,
             const Eigen::Matrix<double, 6, 1>* feedforward = nullptr);

  const ImpedanceOptions& options() const { return options_; }
  // The clipped error of the last Apply ([translation; rotation]).
  const Eigen::Matrix<double, 6, 1>& last_error() const { return error_; }

 private:
  const Arm* arm_;
  ImpedanceOptions options_;
  Arm::JointVector home_;
  std::vector<mjtNum> jacp_, jacr_, mass_full_;
  Eigen::Matrix<double, 6, Arm::kDof> jac_;
  Eigen::Matrix<double, Arm::kDof, Arm::kDof> mass_;
  Eigen::Matrix<double, 6, 1> error_ = Eigen::Matrix<double, 6, 1>::Zero();
};

}  // namespace hilserl::sim
