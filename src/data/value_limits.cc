#include "data/value_limits.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

void ValueLimits::Validate() const {
  if (!(max_abs_reward > 0) || !(max_abs_observation > 0)) {
    throw InvalidArgument(fmt::format("value limits must be > 0 (max_abs_reward {}, max_abs_observation {})",
                                      max_abs_reward, max_abs_observation));
  }
}

void ValueLimits::CheckReward(double value, const char* field, const std::string& where) const {
  if (!std::isfinite(value)) throw InvalidArgument(fmt::format("{}: {} is {}", where, field, value));
  if (std::abs(value) > max_abs_reward) {
    throw InvalidArgument(fmt::format("{}: {} {:g} is beyond +-{:g} (train.max_abs_reward)", where, field, value,
                                      max_abs_reward));
  }
}

void ValueLimits::CheckAction(const Action& action, const std::string& where) const {
  for (size_t i = 0; i < action.size(); ++i) {
    const float v = action[i];
    if (!std::isfinite(v)) throw InvalidArgument(fmt::format("{}: action component {} is {}", where, i, v));
    if (static_cast<int>(i) >= actions.size()) continue;
    // Bounds are met up to float rounding of whoever scaled the action.
    const float lo = actions.low[i], hi = actions.high[i];
    const float tol = 1e-4f * (1.0f + std::max(std::abs(lo), std::abs(hi)));
    if (v < lo - tol || v > hi + tol) {
      throw InvalidArgument(fmt::format("{}: action component {} ('{}') is {:g}, outside the action space [{:g}, {:g}]",
                                        where, i, i < actions.labels.size() ? actions.labels[i] : "?", v, lo, hi));
    }
  }
}

namespace {

void CheckValues(const std::vector<float>& values, const char* kind, const std::string& name, double limit,
                 const std::string& where) {
  for (size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) {
      throw InvalidArgument(fmt::format("{}: {} '{}' value {} is {}", where, kind, name, i, v));
    }
    if (std::abs(v) > limit) {
      throw InvalidArgument(fmt::format("{}: {} '{}' value {} is {:g}, beyond +-{:g} (train.max_abs_observation)",
                                        where, kind, name, i, v, limit));
    }
  }
}

}  // namespace

void ValueLimits::CheckObservation(const Observation& obs, const std::string& where) const {
  for (const auto& [name, v] : obs.proprio) CheckValues(v, "proprio", name, max_abs_observation, where);
  for (const auto& [name, v] : obs.features) CheckValues(v, "features", name, max_abs_observation, where);
}

}  // namespace hilserl
