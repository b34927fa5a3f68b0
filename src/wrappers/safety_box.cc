#include "wrappers/safety_box.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

SafetyBoxWrapper::SafetyBoxWrapper(std::unique_ptr<Env> inner, const Eigen::Vector3d& low,
                                   const Eigen::Vector3d& high)
    : Wrapper(std::move(inner)), low_(low), high_(high) {
  for (int i = 0; i < 3; ++i) {
    if (!(low_[i] <= high_[i])) {
      throw InvalidArgument(fmt::format("safety_box: axis {} has low {} > high {}", i, low_[i], high_[i]));
    }
  }
  trans_ = action_space().IndexOf("x");
  if (trans_ < 0 || action_space().IndexOf("z") != trans_ + 2) {
    throw InvalidArgument("safety_box: the action space needs consecutive components x, y, z");
  }
  if (observation_spec().FindProprio("tcp_pose") == nullptr) {
    throw InvalidArgument("safety_box: the env must observe proprio 'tcp_pose'");
  }
}

Observation SafetyBoxWrapper::Reset(uint64_t seed) {
  Observation obs = Wrapper::Reset(seed);
  const auto& p = obs.Proprio("tcp_pose");
  measured_ = Eigen::Vector3d(p[0], p[1], p[2]);
  return obs;
}

StepResult SafetyBoxWrapper::Step(const Action& action) {
  action_space().CheckFinite(action, "safety_box input");
  Action a = action;
  for (int i = 0; i < 3; ++i) {
    const double target = std::clamp(measured_[i] + a[trans_ + i], low_[i], high_[i]);
    a[trans_ + i] = static_cast<float>(target - measured_[i]);
  }
  StepResult r = Wrapper::Step(a);
  const auto& p = r.observation.Proprio("tcp_pose");
  measured_ = Eigen::Vector3d(p[0], p[1], p[2]);
  return r;
}

}  // namespace hilserl
