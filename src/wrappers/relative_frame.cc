#include "wrappers/relative_frame.h"

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

RelativeFrame::RelativeFrame(std::unique_ptr<Env> inner) : Wrapper(std::move(inner)) {
  const VectorSpace& a = Wrapper::action_space();
  trans_ = a.IndexOf("x");
  if (trans_ < 0 || a.IndexOf("y") != trans_ + 1 || a.IndexOf("z") != trans_ + 2) {
    throw InvalidArgument(fmt::format("relative_frame: action space of '{}' needs consecutive "
                                      "components x, y, z", name()));
  }
  rot_ = a.IndexOf("rx");
  if (rot_ >= 0 && (a.IndexOf("ry") != rot_ + 1 || a.IndexOf("rz") != rot_ + 2)) {
    throw InvalidArgument("relative_frame: rotation components must be consecutive rx, ry, rz");
  }
  const VectorSpace* pose = Wrapper::observation_spec().FindProprio("tcp_pose");
  if (pose == nullptr || pose->size() != 7) {
    throw InvalidArgument(fmt::format("relative_frame: '{}' must observe proprio 'tcp_pose' "
                                      "[x y z qw qx qy qz]", name()));
  }
}

Observation RelativeFrame::Reset(uint64_t seed) {
  Observation obs = Wrapper::Reset(seed);
  start_ = Pose::FromVector7(obs.Proprio("tcp_pose"));
  Transform(&obs);
  return obs;
}

Action RelativeFrame::Rotate(const Action& a, const Eigen::Quaterniond& r) const {
  Action out = a;
  const Eigen::Vector3d t = r * Eigen::Vector3d(a[trans_], a[trans_ + 1], a[trans_ + 2]);
  for (int i = 0; i < 3; ++i) out[trans_ + i] = static_cast<float>(t[i]);
  if (rot_ >= 0) {
    const Eigen::Vector3d w = r * Eigen::Vector3d(a[rot_], a[rot_ + 1], a[rot_ + 2]);
    for (int i = 0; i < 3; ++i) out[rot_ + i] = static_cast<float>(w[i]);
  }
  return out;
}

StepResult RelativeFrame::Step(const Action& action) {
  action_space().CheckFinite(action, "relative_frame input");
  StepResult r = Wrapper::Step(Rotate(action, current_.rotation));
  Transform(&r.observation);
  return r;
}

Action RelativeFrame::FromInnerAction(const Action& inner_action) const {
  return Rotate(inner_action, current_.rotation.conjugate());
}

void RelativeFrame::Transform(Observation* obs) {
  auto& pose = obs->proprio.at("tcp_pose");
  current_ = Pose::FromVector7(pose);
  pose = (start_.Inverse() * current_).ToVector7();
  auto it = obs->proprio.find("tcp_vel");
  if (it != obs->proprio.end() && it->second.size() == 6) {
    auto& v = it->second;
    const Eigen::Quaterniond inv = current_.rotation.conjugate();
    const Eigen::Vector3d lin = inv * Eigen::Vector3d(v[0], v[1], v[2]);
    const Eigen::Vector3d ang = inv * Eigen::Vector3d(v[3], v[4], v[5]);
    v = {static_cast<float>(lin.x()), static_cast<float>(lin.y()), static_cast<float>(lin.z()),
         static_cast<float>(ang.x()), static_cast<float>(ang.y()), static_cast<float>(ang.z())};
  }
}

}  // namespace hilserl
