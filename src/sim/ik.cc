#include "sim/ik.h"

#include <algorithm>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

namespace hilserl::sim {

IkResult SolveIk(const mjModel* m, mjData* d, const Arm& arm, const Pose& target, const Arm::JointVector& rest,
                 int max_iterations) {
  const int nv = m->nv;
  std::vector<mjtNum> jacp(3 * nv), jacr(3 * nv);
  Eigen::Matrix<double, 6, Arm::kDof> jac;
  const auto& dofs = arm.dof_adr();
  const auto& qadr = arm.qpos_adr();
  IkResult result;
  for (int it = 0; it < max_iterations; ++it) {
    mj_kinematics(m, d);
    mj_comPos(m, d);
    const Pose current = arm.TcpPose(d);
    Eigen::Matrix<double, 6, 1> e;
    e.head<3>() = target.translation - current.translation;
    e.tail<3>() = LogRotation(target.rotation * current.rotation.conjugate());
    result.position_error = e.head<3>().norm();
    result.rotation_error = e.tail<3>().norm();
    result.iterations = it;
    if (result.position_error < 1e-4 && result.rotation_error < 1e-3) {
      result.converged = true;
      break;
    }
    mj_jacSite(m, d, jacp.data(), jacr.data(), arm.tcp_site());
    for (int c = 0; c < Arm::kDof; ++c) {
      for (int r = 0; r < 3; ++r) {
        jac(r, c) = jacp[r * nv + dofs[c]];
        jac(r + 3, c) = jacr[r * nv + dofs[c]];
      }
    }
    // Damped least squares step (steps of at most 5 cm / 0.2 rad of error at a time).
    Eigen::Matrix<double, 6, 1> step = e;
    const double scale = std::min({1.0, 0.05 / std::max(1e-12, result.position_error),
                                   0.2 / std::max(1e-12, result.rotation_error)});
    step *= scale;
    Eigen::Matrix<double, 6, 6> jjt = jac * jac.transpose();
    jjt.diagonal().array() += 1e-4;
    const Eigen::Matrix<double, Arm::kDof, 6> pinv = jac.transpose() * jjt.ldlt().solve(Eigen::Matrix<double, 6, 6>::Identity());
    const Arm::JointVector q = arm.JointPositions(d);
    Arm::JointVector dq = pinv * step;
    dq += 0.1 * (Eigen::Matrix<double, Arm::kDof, Arm::kDof>::Identity() - pinv * jac) * (rest - q);
    for (int i = 0; i < Arm::kDof; ++i) {
      const int j = m->dof_jntid[dofs[i]];
      double v = q[i] + dq[i];
      if (m->jnt_limited[j]) v = std::clamp(v, m->jnt_range[2 * j] + 1e-3, m->jnt_range[2 * j + 1] - 1e-3);
      d->qpos[qadr[i]] = v;
    }
  }
  for (int i = 0; i < Arm::kDof; ++i) d->qvel[dofs[i]] = 0.0;
  mj_forward(m, d);
  return result;
}

}  // namespace hilserl::sim
