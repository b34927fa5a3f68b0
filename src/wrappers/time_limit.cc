#include "wrappers/time_limit.h"

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

TimeLimit::TimeLimit(std::unique_ptr<Env> inner, int max_steps)
    : Wrapper(std::move(inner)), max_steps_(max_steps) {
  if (max_steps <= 0) {
    throw InvalidArgument(fmt::format("time_limit: 'max_steps' must be > 0, got {}", max_steps));
  }
}

Observation TimeLimit::Reset(uint64_t seed) {
  steps_ = 0;
  return Wrapper::Reset(seed);
}

StepResult TimeLimit::Step(const Action& action) {
  StepResult r = Wrapper::Step(action);
  ++steps_;
  r.info["episode_step"] = steps_;
  if (steps_ >= max_steps_ && !r.terminated) r.truncated = true;
  return r;
}

}  // namespace hilserl
