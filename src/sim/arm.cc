#include "sim/arm.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "sim/model.h"

namespace hilserl::sim {

Arm::Arm(const mjModel* m, const std::string& prefix) : prefix_(prefix) {
  tcp_site_ = SiteId(m, prefix + "tcp");
  for (int i = 0; i < kDof; ++i) {
    const int j = JointId(m, fmt::format("{}joint{}", prefix, i + 1));
    if (m->jnt_type[j] != mjJNT_HINGE) {
      throw InvalidArgument(fmt::format("joint '{}joint{}' must be a hinge", prefix, i + 1));
    }
    qpos_adr_[i] = m->jnt_qposadr[j];
    dof_adr_[i] = m->jnt_dofadr[j];
    actuators_[i] = ActuatorId(m, fmt::format("{}actuator{}", prefix, i + 1));
    torque_limit_[i] = m->actuator_ctrllimited[actuators_[i]]
                           ? std::max(std::abs(m->actuator_ctrlrange[2 * actuators_[i]]),
                                      std::abs(m->actuator_ctrlrange[2 * actuators_[i] + 1]))
                           : 1e9;
  }
  for (int i = 0; i < 2; ++i) {
    const int j = JointId(m, fmt::format("{}finger_joint{}", prefix, i + 1));
    finger_qpos_adr_[i] = m->jnt_qposadr[j];
    finger_dof_adr_[i] = m->jnt_dofadr[j];
    finger_actuators_[i] = ActuatorId(m, fmt::format("{}finger_actuator{}", prefix, i + 1));
    if (m->jnt_limited[j]) finger_range_ = m->jnt_range[2 * j + 1];
  }
}

Pose Arm::TcpPose(const mjData* d) const {
  const mjtNum* p = d->site_xpos + 3 * tcp_site_;
  const mjtNum* r = d->site_xmat + 9 * tcp_site_;
  Eigen::Matrix3d rot;
  rot << r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8];
  return Pose(Eigen::Vector3d(p[0], p[1], p[2]), Eigen::Quaterniond(rot).normalized());
}

Eigen::Matrix<double, 6, 1> Arm::TcpVelocity(const mjModel* m, const mjData* d) const {
  // mj_objectVelocity returns [angular; linear] in the world frame (flg_local = 0).
  mjtNum v[6];
  mj_objectVelocity(m, d, mjOBJ_SITE, tcp_site_, v, 0);
  Eigen::Matrix<double, 6, 1> out;
  out << v[3], v[4], v[5], v[0], v[1], v[2];
  return out;
}

Arm::JointVector Arm::JointPositions(const mjData* d) const {
  JointVector q;
  for (int i = 0; i < kDof; ++i) q[i] = d->qpos[qpos_adr_[i]];
  return q;
}

Arm::JointVector Arm::JointVelocities(const mjData* d) const {
  JointVector v;
  for (int i = 0; i < kDof; ++i) v[i] = d->qvel[dof_adr_[i]];
  return v;
}

void Arm::SetJointPositions(mjData* d, const JointVector& q) const {
  for (int i = 0; i < kDof; ++i) {
    d->qpos[qpos_adr_[i]] = q[i];
    d->qvel[dof_adr_[i]] = 0.0;
  }
}

double Arm::GripperOpening(const mjData* d) const {
  const double w = d->qpos[finger_qpos_adr_[0]] + d->qpos[finger_qpos_adr_[1]];
  return std::clamp(w / (2.0 * finger_range_), 0.0, 1.0);
}

void Arm::SetGripperTarget(mjData* d, double opening) const {
  const double q = std::clamp(opening, 0.0, 1.0) * finger_range_;
  for (int a : finger_actuators_) d->ctrl[a] = q;
}

void Arm::SetGripperOpening(mjData* d, double opening) const {
  const double q = std::clamp(opening, 0.0, 1.0) * finger_range_;
  for (int i = 0; i < 2; ++i) {
    d->qpos[finger_qpos_adr_[i]] = q;
    d->qvel[finger_dof_adr_[i]] = 0.0;
  }
  SetGripperTarget(d, opening);
}

}  // namespace hilserl::sim
