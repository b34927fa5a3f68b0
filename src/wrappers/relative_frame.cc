#include "wrappers/relative_frame.h"

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

RelativeFrame::RelativeFrame(std::unique_ptr<Env> inner) : Wrapper(std::move(inner)) {
  const VectorSpace& a = Wrapper::action_space();
  for (const std::string& p : ArmPrefixes(a, "x")) {
    ArmFrame f;
    f.prefix = p;
    f.trans = a.IndexOf(p + "x");
    if (a.IndexOf(p + "y") != f.trans + 1 || a.IndexOf(p + "z") != f.trans + 2) {
      throw InvalidArgument(fmt::format("relative_frame: action space of '{0}' needs consecutive "
                                        "components {1}x, {1}y, {1}z", name(), p));
    }
    f.rot = a.IndexOf(p + "rx");
    if (f.rot >= 0 && (a.IndexOf(p + "ry") != f.rot + 1 || a.IndexOf(p + "rz") != f.rot + 2)) {
      throw InvalidArgument(fmt::format("relative_frame: rotation components must be consecutive {0}rx, {0}ry, {0}rz", p));
    }
    const VectorSpace* pose = Wrapper::observation_spec().FindProprio(p + "tcp_pose");
    if (pose == nullptr || pose->size() != 7) {
      throw InvalidArgument(fmt::format("relative_frame: '{0}' must observe proprio '{1}tcp_pose' "
                                        "[x y z qw qx qy qz]", name(), p));
    }
    arms_.push_back(f);
  }
  if (arms_.empty()) {
    throw InvalidArgument(fmt::format("relative_frame: action space of '{}' has no translation components "
                                      "(x, y, z); wrench-controlled envs act in the tcp frame already", name()));
  }
}

Observation RelativeFrame::Reset(uint64_t seed) {
  Observation obs = Wrapper::Reset(seed);
  for (ArmFrame& f : arms_) f.start = Pose::FromVector7(obs.Proprio(f.prefix + "tcp_pose"));
  Transform(&obs);
  return obs;
}

Action RelativeFrame::Rotate(const Action& a, bool inverse) const {
  Action out = a;
  for (const ArmFrame& f : arms_) {
    const Eigen::Quaterniond r = inverse ? f.current.rotation.conjugate() : f.current.rotation;
    const Eigen::Vector3d t = r * Eigen::Vector3d(a[f.trans], a[f.trans + 1], a[f.trans + 2]);
    for (int i = 0; i < 3; ++i) out[f.trans + i] = static_cast<float>(t[i]);
    if (f.rot >= 0) {
      const Eigen::Vector3d w = r * Eigen::Vector3d(a[f.rot], a[f.rot + 1], a[f.rot + 2]);
      for (int i = 0; i < 3; ++i) out[f.rot + i] = static_cast<float>(w[i]);
    }
  }
  return out;
}

StepResult RelativeFrame::Step(const Action& action) {
  action_space().CheckFinite(action, "relative_frame input");
  StepResult r = Wrapper::Step(Rotate(action, /*inverse=*/false));
  Transform(&r.observation);
  return r;
}

Action RelativeFrame::FromInnerAction(const Action& inner_action) const { return Rotate(inner_action, true); }

void RelativeFrame::Transform(Observation* obs) {
  for (ArmFrame& f : arms_) {
    auto& pose = obs->proprio.at(f.prefix + "tcp_pose");
    f.current = Pose::FromVector7(pose);
    pose = (f.start.Inverse() * f.current).ToVector7();
    auto it = obs->proprio.find(f.prefix + "tcp_vel");
    if (it != obs->proprio.end() && it->second.size() == 6) {
      auto& v = it->second;
      const Eigen::Quaterniond inv = f.current.rotation.conjugate();
      const Eigen::Vector3d lin = inv * Eigen::Vector3d(v[0], v[1], v[2]);
      const Eigen::Vector3d ang = inv * Eigen::Vector3d(v[3], v[4], v[5]);
      v = {static_cast<float>(lin.x()), static_cast<float>(lin.y()), static_cast<float>(lin.z()),
           static_cast<float>(ang.x()), static_cast<float>(ang.y()), static_cast<float>(ang.z())};
    }
  }
}

}  // namespace hilserl
