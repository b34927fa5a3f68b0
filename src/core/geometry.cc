#include "core/geometry.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

Pose Pose::operator*(const Pose& other) const {
  return Pose(rotation * other.translation + translation, (rotation * other.rotation).normalized());
}

Pose Pose::Inverse() const {
  const Eigen::Quaterniond inv = rotation.conjugate();
  return Pose(-(inv * translation), inv);
}

std::vector<float> Pose::ToVector7() const {
  Eigen::Quaterniond q = rotation.normalized();
  if (q.w() < 0) q.coeffs() *= -1.0;
  return {static_cast<float>(translation.x()), static_cast<float>(translation.y()),
          static_cast<float>(translation.z()), static_cast<float>(q.w()),
          static_cast<float>(q.x()),           static_cast<float>(q.y()),
          static_cast<float>(q.z())};
}

Pose Pose::FromVector7(const std::vector<float>& v) {
  HILSERL_CHECK(v.size() == 7, fmt::format("pose vector needs 7 entries, got {}", v.size()));
  Eigen::Quaterniond q(v[3], v[4], v[5], v[6]);
  HILSERL_CHECK(q.norm() > 1e-6, "pose vector has a zero quaternion");
  return Pose(Eigen::Vector3d(v[0], v[1], v[2]), q.normalized());
}

Eigen::Vector3d LogRotation(const Eigen::Quaterniond& q_in) {
  Eigen::Quaterniond q = q_in.normalized();
  if (q.w() < 0) q.coeffs() *= -1.0;  // shortest rotation
  const Eigen::Vector3d v = q.vec();
  const double s = v.norm();
  if (s < 1e-12) return 2.0 * v;  // small-angle limit
  const double angle = 2.0 * std::atan2(s, q.w());
  return v * (angle / s);
}

Eigen::Quaterniond ExpRotation(const Eigen::Vector3d& rotvec) {
  const double angle = rotvec.norm();
  if (angle < 1e-12) {
    return Eigen::Quaterniond(1.0, 0.5 * rotvec.x(), 0.5 * rotvec.y(), 0.5 * rotvec.z()).normalized();
  }
  return Eigen::Quaterniond(Eigen::AngleAxisd(angle, rotvec / angle));
}

void SafetyBox::Validate() const {
  for (int i = 0; i < 3; ++i) {
    if (!(low[i] <= high[i])) {
      throw InvalidArgument(fmt::format("safety box: axis {} has low {} > high {}", i, low[i],
                                        high[i]));
    }
  }
  if (!(max_rotation >= 0.0)) {
    throw InvalidArgument(fmt::format("safety box: max_rotation must be >= 0, got {}", max_rotation));
  }
}

Pose SafetyBox::Clip(const Pose& target) const {
  Pose out;
  out.translation = target.translation.cwiseMax(low).cwiseMin(high);
  Eigen::Vector3d dev = LogRotation(nominal_orientation.conjugate() * target.rotation);
  dev = dev.cwiseMax(Eigen::Vector3d::Constant(-max_rotation))
            .cwiseMin(Eigen::Vector3d::Constant(max_rotation));
  out.rotation = (nominal_orientation * ExpRotation(dev)).normalized();
  return out;
}

bool SafetyBox::Contains(const Pose& pose, double tolerance) const {
  for (int i = 0; i < 3; ++i) {
    if (pose.translation[i] < low[i] - tolerance || pose.translation[i] > high[i] + tolerance) {
      return false;
    }
  }
  const Eigen::Vector3d dev = LogRotation(nominal_orientation.conjugate() * pose.rotation);
  return dev.cwiseAbs().maxCoeff() <= max_rotation + tolerance;
}

}  // namespace hilserl
