#include "wrappers/action_scale.h"

namespace hilserl {

ActionScale::ActionScale(std::unique_ptr<Env> inner)
    : Wrapper(std::move(inner)), space_(NormalizedLike(Wrapper::action_space())) {}

StepResult ActionScale::Step(const Action& action) {
  space_.CheckFinite(action, "action_scale input");
  const Action a = space_.Clip(action);
  const VectorSpace& in = inner().action_space();
  Action scaled(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    scaled[i] = in.low[i] + 0.5f * (a[i] + 1.0f) * (in.high[i] - in.low[i]);
  }
  return Wrapper::Step(scaled);
}

Action ActionScale::FromInnerAction(const Action& inner_action) const {
  const VectorSpace& in = inner().action_space();
  Action a(inner_action.size());
  for (size_t i = 0; i < a.size(); ++i) {
    const float range = in.high[i] - in.low[i];
    a[i] = range > 0 ? 2.0f * (inner_action[i] - in.low[i]) / range - 1.0f : 0.0f;
  }
  return space_.Clip(a);
}

}  // namespace hilserl
