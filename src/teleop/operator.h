// Who may take over from the policy at each step: a person with a teleop device
// (HumanOperator) or, in simulation, the scripted stand-in (ScriptedOperator).
#pragma once

#include <cstdint>

#include "core/types.h"
#include "envs/env.h"

namespace hilserl {

struct OperatorDecision {
  Action action;           // what to apply (the policy's or the operator's)
  bool intervened = false; // true when the operator's action is applied
};

class Operator {
 public:
  virtual ~Operator() = default;
  // Call after every env reset; `recent_success_rate` in [0, 1] (the scripted operator
  // steps in less as it rises).
  virtual void StartEpisode(uint64_t seed, double recent_success_rate) = 0;
  // Looks at the proposed policy action for the current state of `env` (the wrapped env
  // the policy acts in) and decides who acts.
  virtual OperatorDecision Decide(Env& env, const Action& policy_action) = 0;
};

}  // namespace hilserl
