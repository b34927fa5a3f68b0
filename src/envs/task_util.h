// Small helpers shared by the simulated tasks (one .cc per task, see registry.cc).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Core>
#include <Eigen/Geometry>
#include <mujoco/mujoco.h>

#include "core/geometry.h"
#include "core/types.h"
#include "envs/env.h"

namespace hilserl {

// A body with a free joint: where its pose lives in qpos and qvel.
class FreeBody {
 public:
  FreeBody() = default;
  // Looks up joint `joint` (must be free) and body `body`; throws NotFound/InvalidArgument.
  FreeBody(const mjModel* m, const std::string& joint, const std::string& body);

  // Teleports the body (and zeroes its velocity); call mj_forward afterwards.
  void SetPose(mjData* d, const Pose& pose) const;
  // World pose from the last kinematics pass (xpos / xquat).
  Pose GetPose(const mjData* d) const;
  // [linear (m/s); angular (rad/s)], world frame.
  Eigen::Matrix<double, 6, 1> Velocity(const mjModel* m, const mjData* d) const;
  int body() const { return body_; }

 private:
  int qpos_ = -1, dof_ = -1, body_ = -1;
};

// Rotation about world z of `q` (rad, in (-pi, pi]): the heading of its x axis.
double Yaw(const Eigen::Quaterniond& q);
// a - b wrapped to (-pi, pi].
double AngleDiff(double a, double b);
Eigen::Quaterniond YawRotation(double yaw);

// Adds a float vector entry to a StateMap / an observation.
inline std::vector<double> ToStd(const Eigen::Vector3d& v) { return {v.x(), v.y(), v.z()}; }
inline std::vector<float> ToFloat(const Eigen::Vector3d& v) {
  return {static_cast<float>(v.x()), static_cast<float>(v.y()), static_cast<float>(v.z())};
}
inline Eigen::Vector3d Vec3(const std::vector<double>& v) { return Eigen::Vector3d(v[0], v[1], v[2]); }

// Declares an unbounded proprio entry (bounds +-1e6) of the given labels.
VectorSpace UnboundedProprio(const std::string& name, std::vector<std::string> labels);

}  // namespace hilserl
