#include "sim/controller.h"

#include <cmath>

#include <Eigen/Cholesky>
#include <Eigen/LU>
#include <fmt/format.h>

#include "core/error.h"

namespace hilserl::sim {

void ImpedanceOptions::Validate() const {
  // Each gain within what an impedance-controlled arm runs with; outside these the
  // closed loop at the physics time step overshoots the commanded pose, i.e. could leave
  // the safety box however well the targets are clipped.
  auto in_range = [](double v, double lo, double hi, const char* name, const char* unit) {
    if (!(v > lo && v <= hi)) {
      throw InvalidArgument(fmt::format("controller: '{}' must be in ({}, {}] {}, got {}", name, lo, hi, unit, v));
    }
  };
  in_range(kp_translation, 0.0, kMaxKpTranslation, "kp_translation", "1/s^2");
  in_range(kp_rotation, 0.0, kMaxKpRotation, "kp_rotation", "1/s^2");
  if (!(damping_ratio >= kMinDampingRatio && damping_ratio <= kMaxDampingRatio)) {
    throw InvalidArgument(fmt::format("controller: 'damping_ratio' must be in [{}, {}] (1 = critically damped), got {}",
                                      kMinDampingRatio, kMaxDampingRatio, damping_ratio));
  }
  in_range(max_translation_error, 0.0, 0.1, "max_translation_error", "m");
  in_range(max_rotation_error, 0.0, 1.0, "max_rotation_error", "rad");
  if (!(kp_nullspace >= 0 && kp_nullspace <= 200) || !(damping_nullspace >= 0 && damping_nullspace <= 50)) {
    throw InvalidArgument(fmt::format("controller: 'kp_nullspace' must be in [0, 200] N m/rad and "
                                      "'damping_nullspace' in [0, 50] N m s/rad, got {} and {}",
                                      kp_nullspace, damping_nullspace));
  }
  if (home_joints.size() != Arm::kDof) {
    throw InvalidArgument(fmt::format("controller: 'home_joints' needs {} values, got {}",
                                      Arm::kDof, home_joints.size()));
  }
  for (double q : home_joints) {
    if (!std::isfinite(q)) throw InvalidArgument("controller: 'home_joints' must be finite (rad)");
  }
}

void ImpedanceOptions::Load(ConfigNode& node) {
  node.Get("kp_translation", &kp_translation);
  node.Get("kp_rotation", &kp_rotation);
  node.Get("damping_ratio", &damping_ratio);
  node.Get("max_translation_error", &max_translation_error);
  node.Get("max_rotation_error", &max_rotation_error);
  node.Get("kp_nullspace", &kp_nullspace);
  node.Get("damping_nullspace", &damping_nullspace);
  node.Get("gravity_compensation", &gravity_compensation);
  node.GetFixed("home_joints", Arm::kDof, &home_joints);
  node.CheckNoUnknownKeys();
  Validate();
}

ImpedanceController::ImpedanceController(const mjModel* model, const Arm* arm,
                                         const ImpedanceOptions& options)
    : arm_(arm), options_(options) {
  options_.Validate();
  for (int i = 0; i < Arm::kDof; ++i) home_[i] = options_.home_joints[i];
  jacp_.resize(3 * model->nv);
  jacr_.resize(3 * model->nv);
  mass_full_.resize(static_cast<size_t>(model->nv) * model->nv);
}

void ImpedanceController::Apply(const mjModel* m, mjData* d, const Pose& target,
                                const Eigen::Matrix<double, 6, 1>* feedforward) {
  const int nv = m->nv;
  const auto& dofs = arm_->dof_adr();

  // Jacobian of the tcp site (rows: 3 linear, 3 angular) restricted to the arm's dofs.
  mj_jacSite(m, d, jacp_.data(), jacr_.data(), arm_->tcp_site());
  mj_fullM(m, mass_full_.data(), d->qM);
  for (int c = 0; c < Arm::kDof; ++c) {
    for (int r = 0; r < 3; ++r) {
      jac_(r, c) = jacp_[r * nv + dofs[c]];
      jac_(r + 3, c) = jacr_[r * nv + dofs[c]];
    }
    for (int r = 0; r < Arm::kDof; ++r) mass_(r, c) = mass_full_[dofs[r] * nv + dofs[c]];
  }

  // Pose error with reference limiting (per-axis clip), world frame.
  const Pose current = arm_->TcpPose(d);
  const Eigen::Vector3d pos_err = target.translation - current.translation;
  const Eigen::Vector3d rot_err = LogRotation(target.rotation * current.rotation.conjugate());
  const double pt = options_.max_translation_error, pr = options_.max_rotation_error;
  error_.head<3>() = pos_err.cwiseMax(Eigen::Vector3d::Constant(-pt)).cwiseMin(Eigen::Vector3d::Constant(pt));
  error_.tail<3>() = rot_err.cwiseMax(Eigen::Vector3d::Constant(-pr)).cwiseMin(Eigen::Vector3d::Constant(pr));

  const Arm::JointVector q = arm_->JointPositions(d);
  const Arm::JointVector qd = arm_->JointVelocities(d);
  const Eigen::Matrix<double, 6, 1> twist = jac_ * qd;

  // Task-space inertia Lambda = (J M^-1 J^T)^-1, lightly regularised near singularities.
  const Eigen::LLT<Eigen::Matrix<double, Arm::kDof, Arm::kDof>> mass_llt(mass_);
  const Eigen::Matrix<double, Arm::kDof, 6> minv_jt = mass_llt.solve(jac_.transpose());
  Eigen::Matrix<double, 6, 6> lambda_inv = jac_ * minv_jt;
  lambda_inv.diagonal().array() += 1e-6;
  const Eigen::Matrix<double, 6, 6> lambda = lambda_inv.inverse();

  Eigen::Matrix<double, 6, 1> kp, kd;
  kp << Eigen::Vector3d::Constant(options_.kp_translation), Eigen::Vector3d::Constant(options_.kp_rotation);
  kd = 2.0 * options_.damping_ratio * kp.cwiseSqrt();
  const Eigen::Matrix<double, 6, 1> accel = kp.cwiseProduct(error_) - kd.cwiseProduct(twist);
  Arm::JointVector tau = jac_.transpose() * (lambda * accel);

  // Nullspace posture: project joint torques so they do not disturb the tcp.
  // N^T = I - J^T Jbar^T with the dynamically consistent inverse Jbar = M^-1 J^T Lambda.
  const Arm::JointVector tau_null =
      options_.kp_nullspace * (home_ - q) - options_.damping_nullspace * qd;
  const Eigen::Matrix<double, 6, Arm::kDof> jbar_t = lambda * minv_jt.transpose();
  tau += tau_null - jac_.transpose() * (jbar_t * tau_null);

  if (feedforward != nullptr) tau += jac_.transpose() * (*feedforward);

  if (options_.gravity_compensation) {
    for (int i = 0; i < Arm::kDof; ++i) tau[i] += d->qfrc_bias[dofs[i]];
  }
  const auto& acts = arm_->actuators();
  const auto& limit = arm_->torque_limit();
  for (int i = 0; i < Arm::kDof; ++i) {
    d->ctrl[acts[i]] = std::clamp(tau[i], -limit[i], limit[i]);
  }
}

}  // namespace hilserl::sim
