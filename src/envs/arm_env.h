// ArmSimEnv: the shared half of every single-arm MuJoCo task.
//
// It owns the model, the arm, the impedance controller, the safety box and the cameras,
// and implements the action and proprio conventions; a task (pick_cube.cc, ...) adds its
// objects' randomisation, reward and success.
//
// Action (base env space, physical units, world = robot base frame):
//   [x, y, z]        tcp translation delta (m), |.| <= max_step_translation
//   [rx, ry, rz]     (only if enable_rotation) rotation-vector delta (rad)
//   [gripper]        <= -0.5 close, >= 0.5 open, otherwise keep the current command
// Each step the target pose = measured tcp pose + delta (orientation held at the home
// orientation when rotation is disabled), clipped to the safety box, then tracked for
// control_dt by the impedance controller at the physics rate.
//
// Proprio: tcp_pose [x y z qw qx qy qz] (quaternion sign chosen in the hemisphere of the
// home orientation so it is continuous), tcp_vel [vx vy vz wx wy wz] (world frame),
// gripper_pos [opening 0 = closed .. 1 = open]. Images: named cameras, H x W x 3 uint8.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "core/geometry.h"
#include "core/rng.h"
#include "envs/env.h"
#include "sim/arm.h"
#include "sim/controller.h"
#include "sim/model.h"
#include "sim/renderer.h"

namespace hilserl {

struct ArmEnvOptions {
  std::string model;                    // MJCF path (relative to the project root)
  std::string obs_mode = "state";       // "state" or "pixels"
  int image_size = 128;                 // square images (pixels mode)
  std::vector<std::string> cameras = {"front", "wrist"};
  // Observation images without shadows, reflections and antialiasing (~6x faster on a
  // CPU rasteriser); videos from RenderCamera keep full quality.
  bool fast_render = true;
  double control_hz = 10.0;
  double max_step_translation = 0.025;  // m per step
  bool enable_rotation = false;
  double max_step_rotation = 0.1;       // rad per step
  double start_xy_noise = 0.0;          // m, uniform start offset of the tcp in x and y
  std::vector<double> safety_low = {0.2, -0.3, 0.0};
  std::vector<double> safety_high = {0.6, 0.3, 0.5};
  double safety_max_rotation = 0.5;     // rad about each axis from the home orientation
  // Time (s) for a full open <-> close stroke of the gripper (0 = as fast as the finger
  // servos go). Real parallel grippers need ~0.5 s (the Franka hand ~0.6 s), which is what
  // makes closing at the wrong moment costly.
  double gripper_stroke_time = 0.5;
  sim::ImpedanceOptions controller;

  bool pixels() const { return obs_mode == "pixels"; }
  void Validate() const;
  // Reads the common keys (task options read theirs from the same node first).
  void Load(ConfigNode& node);
};

class ArmSimEnv : public Env {
 public:
  ~ArmSimEnv() override;

  const ObservationSpec& observation_spec() const override { return obs_spec_; }
  const VectorSpace& action_space() const override { return action_space_; }
  double control_dt() const override { return 1.0 / options_.control_hz; }
  Observation Reset(uint64_t seed) override;
  StepResult Step(const Action& action) override;
  std::vector<std::string> camera_names() const override;
  Image RenderCamera(const std::string& camera, int width, int height) override;
  StateMap privileged_state() const override;

  // For tests and tools.
  const mjModel* model() const { return model_.get(); }
  mjData* data() { return data_.get(); }
  const mjData* data() const { return data_.get(); }
  const sim::Arm& arm() const { return *arm_; }
  const SafetyBox& safety_box() const { return safety_box_; }
  const Pose& target() const { return target_; }
  const Pose& home_pose() const { return home_pose_; }
  int physics_steps_per_control() const { return substeps_; }
  // Advances physics by n steps tracking `target` (clipped to the safety box).
  void StepPhysics(const Pose& target, int n);

 protected:
  explicit ArmSimEnv(const ArmEnvOptions& options);

  struct Outcome {
    double reward = 0.0;
    bool success = false;
  };
  // Randomises the task's objects; the arm is already at its start pose.
  virtual void ResetTask(Rng& rng) = 0;
  // Adds task proprio entries (e.g. object pose in state mode) to the observation; a task
  // declares them in its constructor through mutable_observation_spec().
  virtual void AddTaskObservation(Observation* obs) const { (void)obs; }
  virtual void AddTaskState(StateMap* state) const { (void)state; }
  // Reward and success after a step.
  virtual Outcome Evaluate() = 0;

  const ArmEnvOptions& options() const { return options_; }
  ObservationSpec& mutable_observation_spec() { return obs_spec_; }

 private:
  Observation MakeObservation();

  ArmEnvOptions options_;
  sim::ModelPtr model_;
  sim::DataPtr data_;
  std::unique_ptr<sim::Arm> arm_;
  std::unique_ptr<sim::ImpedanceController> controller_;
  SafetyBox safety_box_;
  Pose home_pose_;
  Pose target_;
  double gripper_command_ = 1.0;   // opening fraction commanded (1 open, 0 closed)
  double gripper_setpoint_ = 1.0;  // finger servo setpoint, moving toward the command
  int substeps_ = 50;
  int rot_offset_ = -1;    // index of rx in the action, or -1
  int gripper_index_ = 3;  // index of the gripper in the action
  ObservationSpec obs_spec_;
  VectorSpace action_space_;
  std::vector<int> camera_ids_;
  std::unique_ptr<sim::OffscreenRenderer> obs_renderer_;
  std::map<std::pair<int, int>, std::unique_ptr<sim::OffscreenRenderer>> video_renderers_;
  Rng rng_;
  int bad_qacc_warnings_ = 0;
};

}  // namespace hilserl
