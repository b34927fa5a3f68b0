// HumanOperator: a person with a teleop device supervises the policy. Whenever the device
// is active (moved out of its dead zone, or a gripper button pressed) its command replaces
// the policy's action and the step is marked intervened; otherwise the policy acts. The
// twist maps onto the action components labelled x y z rx ry rz (scaled to the action
// bounds), the gripper button onto "gripper" (-1 close, +1 open, 0 leave); components the
// device does not drive stay 0. A silent or unplugged device is never active, so it cannot
// move the robot (a warning is logged once when it disconnects).
#pragma once

#include <memory>

#include "teleop/device.h"
#include "teleop/operator.h"

namespace hilserl {

class HumanOperator final : public Operator {
 public:
  explicit HumanOperator(std::unique_ptr<TeleopDevice> device);
  void StartEpisode(uint64_t seed, double recent_success_rate) override;
  OperatorDecision Decide(Env& env, const Action& policy_action) override;
  // The device's command as an action of `env` (what Decide applies when active).
  static Action CommandToAction(const VectorSpace& space, const TeleopCommand& command);
  // The last command read (e.g. its success flag, for labelling).
  const TeleopCommand& last_command() const { return last_; }
  TeleopDevice& device() { return *device_; }

 private:
  std::unique_ptr<TeleopDevice> device_;
  TeleopCommand last_;
  bool warned_ = false;
};

}  // namespace hilserl
