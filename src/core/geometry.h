// Rigid-body geometry: poses, rotation vectors, and the safety box.
//
// A Pose maps points from its own frame into its parent frame: p_parent = R * p_child + t.
// Quaternions are unit, (w, x, y, z), canonicalised to w >= 0 when written to vectors.
#pragma once

#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>

namespace hilserl {

struct Pose {
  Eigen::Vector3d translation = Eigen::Vector3d::Zero();
  Eigen::Quaterniond rotation = Eigen::Quaterniond::Identity();

  Pose() = default;
  Pose(const Eigen::Vector3d& t, const Eigen::Quaterniond& q) : translation(t), rotation(q) {}

  // Composition: (a * b) maps b's child frame into a's parent frame.
  Pose operator*(const Pose& other) const;
  Pose Inverse() const;
  Eigen::Vector3d operator*(const Eigen::Vector3d& p) const { return rotation * p + translation; }

  // [x, y, z, qw, qx, qy, qz] with qw >= 0.
  std::vector<float> ToVector7() const;
  // Inverse of ToVector7; normalises the quaternion. `v` must have 7 entries.
  static Pose FromVector7(const std::vector<float>& v);
};

// Rotation vector (axis * angle, rad) of a unit quaternion; angle in [0, pi].
Eigen::Vector3d LogRotation(const Eigen::Quaterniond& q);
// Unit quaternion of a rotation vector.
Eigen::Quaterniond ExpRotation(const Eigen::Vector3d& rotvec);

// The region every commanded end-effector target must lie in (safety is not optional:
// no command leaves it).
// Position: an axis-aligned box in the base frame (m). Orientation: each component of the
// rotation vector log(R_nominal^T R) is limited to [-max_rotation, max_rotation] (rad).
struct SafetyBox {
  Eigen::Vector3d low{0.2, -0.3, 0.0};
  Eigen::Vector3d high{0.6, 0.3, 0.5};
  Eigen::Quaterniond nominal_orientation = Eigen::Quaterniond::Identity();
  double max_rotation = 0.5;

  void Validate() const;  // throws InvalidArgument on an empty box or negative limit
  Pose Clip(const Pose& target) const;
  bool Contains(const Pose& pose, double tolerance = 1e-9) const;
};

}  // namespace hilserl
