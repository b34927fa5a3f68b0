#include "envs/expert.h"

#include <fmt/format.h>

#include "core/error.h"

namespace hilserl {

Action ExpertActionFor(const Env& env, ScriptedExpert& expert) {
  return env.FromBaseAction(expert.Act(env.privileged_state(), env.base_action_space()));
}

Action MakeArmAction(const VectorSpace& space, const Eigen::Vector3d& translation,
                     const Eigen::Vector3d& rotation, float gripper) {
  Action a(space.size(), 0.0f);
  static const char* kTrans[] = {"x", "y", "z"};
  static const char* kRot[] = {"rx", "ry", "rz"};
  for (int i = 0; i < 3; ++i) {
    const int t = space.IndexOf(kTrans[i]);
    if (t < 0) throw NotFound(fmt::format("action space '{}' has no component '{}'", space.name, kTrans[i]));
    a[t] = static_cast<float>(translation[i]);
    const int r = space.IndexOf(kRot[i]);
    if (r >= 0) a[r] = static_cast<float>(rotation[i]);
  }
  const int g = space.IndexOf("gripper");
  if (g >= 0) a[g] = gripper;
  return space.Clip(a);
}

}  // namespace hilserl
