#include "envs/expert.h"

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

Action ExpertActionFor(const Env& env, ScriptedExpert& expert) {
  return env.FromBaseAction(expert.Act(env.privileged_state(), env.base_action_space()));
}

void SetArmAction(const VectorSpace& space, const std::string& prefix, const Eigen::Vector3d& translation,
                  const Eigen::Vector3d& rotation, float gripper, Action* action) {
  static const char* kTrans[] = {"x", "y", "z"};
  static const char* kRot[] = {"rx", "ry", "rz"};
  for (int i = 0; i < 3; ++i) {
    const int t = space.IndexOf(prefix + kTrans[i]);
    if (t < 0) throw NotFound(fmt::format("action space '{}' has no component '{}{}'", space.name, prefix, kTrans[i]));
    (*action)[t] = static_cast<float>(translation[i]);
    const int r = space.IndexOf(prefix + kRot[i]);
    if (r >= 0) (*action)[r] = static_cast<float>(rotation[i]);
  }
  const int g = space.IndexOf(prefix + "gripper");
  if (g >= 0) (*action)[g] = gripper;
}

void SetWrenchAction(const VectorSpace& space, const std::string& prefix, const Eigen::Vector3d& force,
                     const Eigen::Vector3d& torque, Action* action) {
  static const char* kForce[] = {"fx", "fy", "fz"};
  static const char* kTorque[] = {"tx", "ty", "tz"};
  for (int i = 0; i < 3; ++i) {
    const int f = space.IndexOf(prefix + kForce[i]);
    const int t = space.IndexOf(prefix + kTorque[i]);
    if (f < 0 || t < 0) {
      throw NotFound(fmt::format("action space '{}' has no wrench components '{}{}'/'{}{}'", space.name, prefix,
                                 kForce[i], prefix, kTorque[i]));
    }
    (*action)[f] = static_cast<float>(force[i]);
    (*action)[t] = static_cast<float>(torque[i]);
  }
}

Action MakeArmAction(const VectorSpace& space, const Eigen::Vector3d& translation,
                     const Eigen::Vector3d& rotation, float gripper) {
  Action a(space.size(), 0.0f);
  SetArmAction(space, "", translation, rotation, gripper, &a);
  return space.Clip(a);
}

}  // namespace hilserl
