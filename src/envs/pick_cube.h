// PickCube: lift a 4 cm cube off the table (the SERL / gym_hil simulation).
//
// The cube's x/y is uniform in [cube_x_range] x [cube_y_range] (m, base frame), yaw in
// [-cube_yaw_range, cube_yaw_range]. Success (terminates) = cube centre lifted more than
// lift_height above its resting height. Reward: "sparse" = 1 on success else 0; "dense" =
// 0.3 exp(-20 d) + 0.7 min(lift / lift_height, 1), d = tcp-cube distance (m).
// State mode adds proprio "cube_pos" [x y z] and "cube_offset" (cube - tcp, base frame);
// pixels mode does not.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "envs/arm_env.h"
#include "envs/expert.h"

namespace hilserl {

struct PickCubeOptions {
  ArmEnvOptions arm;  // model defaults to assets/pick_cube.xml
  // gym_hil uses x in [0.25, 0.55]; our Panda model cannot bring a vertical gripper to
  // table height closer than ~0.28 m from its base (joint 4 at its limit), so x starts at 0.3.
  std::vector<double> cube_x_range = {0.30, 0.55};
  std::vector<double> cube_y_range = {-0.25, 0.25};
  double cube_yaw_range = 0.0;  // rad
  double lift_height = 0.1;     // m
  std::string reward = "sparse";

  PickCubeOptions() {
    arm.model = "assets/pick_cube.xml";
    // gym_hil's box starts at x = 0.2, but a vertical gripper cannot reach table
    // height closer than ~0.28 m from the base: the arm gets stuck there, and such stuck
    // states attracted the learning policy (seen in training runs). Keep the box reachable.
    arm.arm.safety_low = {0.28, -0.3, 0.0};
  }
  void Validate() const;
  void Load(ConfigNode& node);
};

class PickCube final : public ArmSimEnv {
 public:
  explicit PickCube(const PickCubeOptions& options);
  std::string name() const override { return "pick_cube"; }

 private:
  void ResetTask(Rng& rng) override;
  void AddTaskObservation(Observation* obs) const override;
  void AddTaskState(StateMap* state) const override;
  Outcome Evaluate() override;
  bool MoveTaskObject(Rng& rng) override;
  Eigen::Vector3d CubePosition() const;

  PickCubeOptions task_;
  int cube_qpos_ = -1;
  int cube_dof_ = -1;
  int cube_body_ = -1;
  double rest_height_ = 0.02;
};

// Scripted expert: hover over the cube, descend, close, lift. Options: gains and noise.
struct PickCubeExpertOptions {
  double gain = 0.8;            // fraction of the remaining distance moved per step
  double hover_height = 0.08;   // m above the cube before descending
  double grasp_tolerance = 0.01; // m, xy alignment needed before descending
  double action_noise = 0.0;    // std of Gaussian noise added to translation (m)

  void Load(ConfigNode& node);
};

std::unique_ptr<Env> MakePickCube(ConfigNode& env_config);
std::unique_ptr<ScriptedExpert> MakePickCubeExpert(ConfigNode& expert_config);

}  // namespace hilserl
