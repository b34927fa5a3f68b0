// TimeLimit: ends an episode after max_steps by truncation (truncated = true, terminated
// unchanged), so learners bootstrap from the last state: a timeout is not a failure state
// (a defect of the official implementation, which treated timeouts as terminal). Adds info "episode_step".
#pragma once

#include "wrappers/wrapper.h"

namespace hilserl {

class TimeLimit final : public Wrapper {
 public:
  TimeLimit(std::unique_ptr<Env> inner, int max_steps);
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;
  int max_steps() const { return max_steps_; }
  int elapsed_steps() const { return steps_; }

 private:
  int max_steps_;
  int steps_ = 0;
};

}  // namespace hilserl
