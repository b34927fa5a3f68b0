// ActionScale: exposes a normalised action space [-1, 1]^n and maps it affinely onto the
// wrapped env's bounds (component i: low_i + (a_i + 1) / 2 (high_i - low_i)). Policies
// (tanh-squashed) and teleop devices speak [-1, 1]; envs speak metres and radians.
// Values outside [-1, 1] are clipped; non-finite values throw InvalidArgument.
#pragma once

#include "wrappers/wrapper.h"

namespace hilserl {

class ActionScale final : public Wrapper {
 public:
  explicit ActionScale(std::unique_ptr<Env> inner);
  const VectorSpace& action_space() const override { return space_; }
  StepResult Step(const Action& action) override;

 protected:
  Action FromInnerAction(const Action& inner_action) const override;

 private:
  VectorSpace space_;
};

}  // namespace hilserl
