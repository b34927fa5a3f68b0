#include "envs/task_util.h"

#include <fmt/format.h>

#include "core/error.h"
#include "sim/model.h"

namespace hilserl {

FreeBody::FreeBody(const mjModel* m, const std::string& joint, const std::string& body) {
  const int j = sim::JointId(m, joint);
  if (m->jnt_type[j] != mjJNT_FREE) {
    throw InvalidArgument(fmt::format("joint '{}' must be a free joint", joint));
  }
  qpos_ = m->jnt_qposadr[j];
  dof_ = m->jnt_dofadr[j];
  body_ = sim::BodyId(m, body);
}

void FreeBody::SetPose(mjData* d, const Pose& pose) const {
  d->qpos[qpos_ + 0] = pose.translation.x();
  d->qpos[qpos_ + 1] = pose.translation.y();
  d->qpos[qpos_ + 2] = pose.translation.z();
  const Eigen::Quaterniond q = pose.rotation.normalized();
  d->qpos[qpos_ + 3] = q.w();
  d->qpos[qpos_ + 4] = q.x();
  d->qpos[qpos_ + 5] = q.y();
  d->qpos[qpos_ + 6] = q.z();
  for (int i = 0; i < 6; ++i) d->qvel[dof_ + i] = 0.0;
}

Pose FreeBody::GetPose(const mjData* d) const {
  const mjtNum* p = d->xpos + 3 * body_;
  const mjtNum* q = d->xquat + 4 * body_;
  return Pose(Eigen::Vector3d(p[0], p[1], p[2]), Eigen::Quaterniond(q[0], q[1], q[2], q[3]).normalized());
}

Eigen::Matrix<double, 6, 1> FreeBody::Velocity(const mjModel* m, const mjData* d) const {
  mjtNum v[6];
  mj_objectVelocity(m, d, mjOBJ_BODY, body_, v, 0);  // [angular; linear]
  Eigen::Matrix<double, 6, 1> out;
  out << v[3], v[4], v[5], v[0], v[1], v[2];
  return out;
}

double Yaw(const Eigen::Quaterniond& q) {
  const Eigen::Vector3d x = q * Eigen::Vector3d::UnitX();
  return std::atan2(x.y(), x.x());
}

double AngleDiff(double a, double b) {
  double d = std::fmod(a - b, 2.0 * M_PI);
  if (d > M_PI) d -= 2.0 * M_PI;
  if (d <= -M_PI) d += 2.0 * M_PI;
  return d;
}

Eigen::Quaterniond YawRotation(double yaw) { return Eigen::Quaterniond(Eigen::AngleAxisd(yaw, Eigen::Vector3d::UnitZ())); }

VectorSpace UnboundedProprio(const std::string& name, std::vector<std::string> labels) {
  const size_t n = labels.size();
  return {name, std::move(labels), std::vector<float>(n, -1e6f), std::vector<float>(n, 1e6f)};
}

}  // namespace hilserl
