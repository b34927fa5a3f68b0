// What a learner accepts as data: finite values within configured magnitudes. Checked at
// every door into the replay buffers (transitions from remote actors, demonstration
// files), so that an absurd but finite value (a reward of 3e38, an action of 1e30) never
// reaches the losses.
#pragma once

#include <string>
#include <vector>

#include "core/spaces.h"
#include "core/types.h"

namespace hilserl {

struct ValueLimits {
  // |reward| and |grasp penalty| at most this.
  double max_abs_reward = 1e4;
  // |proprio value| and |cached feature value| at most this.
  double max_abs_observation = 1e6;
  // Actions must lie in these bounds (a small tolerance for float rounding). Empty bounds
  // (no components) = any finite action of the right size.
  VectorSpace actions;

  // Each throws InvalidArgument naming `where`, the field and the offending value.
  void CheckReward(double value, const char* field, const std::string& where) const;
  void CheckAction(const Action& action, const std::string& where) const;
  void CheckObservation(const Observation& obs, const std::string& where) const;
  // Throws InvalidArgument unless both magnitudes are positive.
  void Validate() const;
};

}  // namespace hilserl
