#include "envs/pick_cube.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/geometry.h"
#include "core/rng.h"
#include "envs/task_util.h"
#include "sim/model.h"

namespace hilserl {

// ---- options ----

void PickCubeOptions::Validate() const {
  arm.Validate();
  if (cube_x_range.size() != 2 || cube_y_range.size() != 2 || cube_x_range[0] > cube_x_range[1] ||
      cube_y_range[0] > cube_y_range[1]) {
    throw InvalidArgument("pick_cube: 'cube_x_range' and 'cube_y_range' must be [low, high] (m)");
  }
  if (!(lift_height > 0)) throw InvalidArgument("pick_cube: 'lift_height' must be > 0");
  if (reward != "sparse" && reward != "dense") {
    throw InvalidArgument(fmt::format("pick_cube: 'reward' must be 'sparse' or 'dense', got '{}'", reward));
  }
}

void PickCubeOptions::Load(ConfigNode& node) {
  node.GetFixed("cube_x_range", 2, &cube_x_range);
  node.GetFixed("cube_y_range", 2, &cube_y_range);
  node.Get("cube_yaw_range", &cube_yaw_range);
  node.Get("lift_height", &lift_height);
  node.Get("reward", &reward);
  arm.Load(node);  // reads the common keys and rejects unknown ones
  Validate();
}

// ---- env ----

PickCube::PickCube(const PickCubeOptions& task_options)
    : ArmSimEnv(task_options.arm), task_(task_options) {
  task_.Validate();
  const mjModel* m = model();
  const int joint = sim::JointId(m, "cube_joint");
  if (m->jnt_type[joint] != mjJNT_FREE) {
    throw InvalidArgument("pick_cube: joint 'cube_joint' must be a free joint");
  }
  cube_qpos_ = m->jnt_qposadr[joint];
  cube_dof_ = m->jnt_dofadr[joint];
  cube_body_ = sim::BodyId(m, "cube");
  const int geom = sim::GeomId(m, "cube_geom");
  rest_height_ = m->geom_size[3 * geom + 2];
  if (!options().pixels()) {
    mutable_observation_spec().proprio.push_back(
        {"cube_pos", {"x", "y", "z"}, {-1e6f, -1e6f, -1e6f}, {1e6f, 1e6f, 1e6f}});
    // The cube relative to the gripper: what a wrist camera shows, and what the policy needs
    // at centimetre precision; learning from absolute positions alone generalised poorly
    // across cube positions (see docs/ARCHITECTURE.md, learning notes).
    mutable_observation_spec().proprio.push_back(
        {"cube_offset", {"dx", "dy", "dz"}, {-1e6f, -1e6f, -1e6f}, {1e6f, 1e6f, 1e6f}});
  }
}

void PickCube::ResetTask(Rng& rng) {
  mjData* d = data();
  const double x = rng.Uniform(task_.cube_x_range[0], task_.cube_x_range[1]);
  const double y = rng.Uniform(task_.cube_y_range[0], task_.cube_y_range[1]);
  const double yaw = task_.cube_yaw_range > 0 ? rng.Uniform(-task_.cube_yaw_range, task_.cube_yaw_range) : 0.0;
  d->qpos[cube_qpos_ + 0] = x;
  d->qpos[cube_qpos_ + 1] = y;
  d->qpos[cube_qpos_ + 2] = rest_height_;
  d->qpos[cube_qpos_ + 3] = std::cos(yaw / 2);
  d->qpos[cube_qpos_ + 4] = 0.0;
  d->qpos[cube_qpos_ + 5] = 0.0;
  d->qpos[cube_qpos_ + 6] = std::sin(yaw / 2);
  for (int i = 0; i < 6; ++i) d->qvel[cube_dof_ + i] = 0.0;
}

bool PickCube::MoveTaskObject(Rng& rng) {
  // A person moves the cube elsewhere on the table, unless the robot already holds it.
  const Eigen::Vector3d c = CubePosition();
  if (c.z() > rest_height_ + 0.01) return false;
  ResetTask(rng);
  return true;
}

Eigen::Vector3d PickCube::CubePosition() const {
  const mjtNum* p = data()->xpos + 3 * cube_body_;
  return Eigen::Vector3d(p[0], p[1], p[2]);
}

void PickCube::AddTaskObservation(Observation* obs) const {
  if (!options().pixels()) {
    const Eigen::Vector3d c = CubePosition();
    obs->proprio["cube_pos"] = {static_cast<float>(c.x()), static_cast<float>(c.y()),
                                static_cast<float>(c.z())};
    const Eigen::Vector3d d = c - arm().TcpPose(data()).translation;
    obs->proprio["cube_offset"] = {static_cast<float>(d.x()), static_cast<float>(d.y()), static_cast<float>(d.z())};
  }
}

void PickCube::AddTaskState(StateMap* state) const {
  const Eigen::Vector3d c = CubePosition();
  (*state)["cube_pos"] = {c.x(), c.y(), c.z()};
  const mjtNum* q = data()->xquat + 4 * cube_body_;
  (*state)["cube_quat"] = {q[0], q[1], q[2], q[3]};
  (*state)["cube_rest_height"] = {rest_height_};
}

PickCube::Outcome PickCube::Evaluate() {
  const Eigen::Vector3d cube = CubePosition();
  const double lift = cube.z() - rest_height_;
  Outcome out;
  out.success = lift > task_.lift_height;
  if (task_.reward == "sparse") {
    out.reward = out.success ? 1.0 : 0.0;
  } else {
    const double dist = (arm().TcpPose(data()).translation - cube).norm();
    out.reward = 0.3 * std::exp(-20.0 * dist) + 0.7 * std::clamp(lift / task_.lift_height, 0.0, 1.0);
  }
  return out;
}

std::unique_ptr<Env> MakePickCube(ConfigNode& env_config) {
  PickCubeOptions options;
  options.Load(env_config);
  return std::make_unique<PickCube>(options);
}

// ---- scripted expert ----

void PickCubeExpertOptions::Load(ConfigNode& node) {
  node.Get("gain", &gain);
  node.Get("hover_height", &hover_height);
  node.Get("grasp_tolerance", &grasp_tolerance);
  node.Get("action_noise", &action_noise);
  node.CheckNoUnknownKeys();
  if (!(gain > 0 && gain <= 1)) throw InvalidArgument("pick_cube expert: 'gain' must be in (0, 1]");
  if (!(action_noise >= 0)) throw InvalidArgument("pick_cube expert: 'action_noise' must be >= 0");
}

namespace {

class PickCubeExpert final : public ScriptedExpert {
 public:
  explicit PickCubeExpert(const PickCubeExpertOptions& o) : o_(o) {}

  void Reset(uint64_t seed) override { rng_.Seed(seed ^ 0x5eed5eedULL); }

  // A state-feedback controller: the action is a function of the current state (tcp,
  // cube, gripper), so it can take over from wherever a policy left the robot.
  Action Act(const StateMap& s, const VectorSpace& space) override {
    const char* who = "pick_cube expert";
    const Eigen::Vector3d p = Vec3(StateValue(s, "tcp_pos", who));
    const Eigen::Vector3d c = Vec3(StateValue(s, "cube_pos", who));
    const double rest = StateValue(s, "cube_rest_height", who)[0];
    const bool centred = (p - c).head<2>().norm() < 0.015 && std::abs(p.z() - c.z()) < 0.015;
    const GripState grip = ReadGrip(s, "", centred);
    GraspCommand cmd = ReachAndGrasp(p, c, grip, centred, o_.hover_height, o_.grasp_tolerance, 0.006);
    if (grip == GripState::kHolding) cmd.goal = Eigen::Vector3d(p.x(), p.y(), rest + 0.2);  // lift
    Eigen::Vector3d delta = o_.gain * (cmd.goal - p);
    if (o_.action_noise > 0) {
      for (int i = 0; i < 3; ++i) delta[i] += o_.action_noise * rng_.Normal();
    }
    // Hold the home orientation (matters only when rotation actions are enabled).
    const Eigen::Vector3d rot = o_.gain * LogRotation(HomeRotationFromState(s) * TcpPoseFromState(s).rotation.conjugate());
    return MakeArmAction(space, delta, rot, cmd.gripper);
  }

 private:
  PickCubeExpertOptions o_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<ScriptedExpert> MakePickCubeExpert(ConfigNode& expert_config) {
  PickCubeExpertOptions options;
  options.Load(expert_config);
  return std::make_unique<PickCubeExpert>(options);
}

}  // namespace hilserl
