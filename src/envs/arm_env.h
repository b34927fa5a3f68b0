// ArmSimEnv: the shared half of every MuJoCo arm task, with one or several arms.
//
// It owns the model, the arms (each with its impedance controller, safety box, gripper and
// start-pose randomisation) and the cameras, and implements the action and proprio
// conventions; a task (pick_cube.cc, peg_insertion.cc, ...) adds its objects'
// randomisation, reward and success.
//
// Arms. A single-arm scene has one unnamed arm (MJCF names joint1, tcp, ...). A scene with
// several arms names them (`arms: [left, right]`): every MJCF name of arm "left" starts
// with "left_" (assets/panda/panda_left.xml, written by scripts/prefix_arm.py), and so do
// its action labels, proprio entries and privileged state keys ("left_x",
// "left_tcp_pose", "left_tcp_pos"). Below, p = "" or "<arm>_".
// All poses are in the scene's world frame (for a single arm: its base frame).
//
// Action (base env space, physical units), arm by arm, then the grippers last:
//   control "pose" (default):
//     [p x, p y, p z]        tcp translation delta (m), |.| <= max_step_translation
//     [p rx, p ry, p rz]     rotation-vector delta (rad) for the axes in rotation_axes
//   control "wrench" (dynamic tasks):
//     [p fx, p fy, p fz]     feedforward force on the tcp in the tcp frame (N), <= max_force
//     [p tx, p ty, p tz]     feedforward torque in the tcp frame (N m), <= max_torque
//   [p gripper]              for arms with a gripper action: <= -0.5 close, >= 0.5 open,
//                            otherwise keep the current command
// Pose control: each step the target = measured tcp pose + delta (orientation held at the
// home orientation about the axes not in rotation_axes), clipped to the arm's safety box,
// then tracked for control_dt by the impedance controller at the physics rate. Wrench
// control: the impedance controller holds the arm's start pose (use soft gains) and the
// feedforward wrench is added on top, every physics step of the control period; when the
// tcp leaves the safety box the wrench is dropped and the controller pulls it back.
//
// Proprio per arm: p tcp_pose [x y z qw qx qy qz] (quaternion sign in the hemisphere of
// the home orientation, so it is continuous), p tcp_vel [vx vy vz wx wy wz] (world
// frame), p gripper_pos [opening 0 = closed .. 1 = open], and with observe_wrench
// p tcp_wrench [fx fy fz tx ty tz]: the force/torque the hand feels from the world, in
// the tcp frame, tared at the end of the reset (like a real F/T sensor).
// Images: named cameras, H x W x 3 uint8.
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

// Options of one arm. For a single-arm scene they are read from the env section itself;
// with `arms: [a, b]`, from the sections env.a and env.b.
struct ArmOptions {
  static constexpr double kMaxSafetyCoordinate = 3.0;  // m: no box corner further from the world origin
  static constexpr double kMinSafetyExtent = 0.01;     // m: the smallest box side
  std::vector<double> safety_low = {0.2, -0.3, 0.0};   // m, world frame
  std::vector<double> safety_high = {0.6, 0.3, 0.5};
  std::vector<double> home_joints;  // 7 values; empty = controller.home_joints
  // false: no gripper action; the fingers hold `gripper_hold` (0 closed .. 1 open), e.g.
  // for a part that starts pregrasped or a tool fixed to the hand.
  bool gripper = true;
  double gripper_hold = 1.0;
  // Start pose relative to home (m, world frame), before the random offsets.
  std::vector<double> start_offset = {0.0, 0.0, 0.0};

  void Validate(const std::string& where) const;
  void Load(ConfigNode& node);  // reads the keys above (not CheckNoUnknownKeys)
};

struct ArmEnvOptions {
  std::string model;                    // MJCF path (relative to the project root)
  std::string obs_mode = "state";       // "state" or "pixels"
  int image_size = 128;                 // square images (pixels mode)
  std::vector<std::string> cameras = {"front", "wrist"};
  // Observation images without shadows, reflections and antialiasing (~6x faster on a
  // CPU rasteriser); videos from RenderCamera keep full quality.
  bool fast_render = true;
  double control_hz = 10.0;
  std::string control = "pose";         // "pose" or "wrench"
  double max_step_translation = 0.025;  // m per step (pose control)
  bool enable_rotation = false;         // rotation actions (pose control)
  std::string rotation_axes = "xyz";    // with enable_rotation: which of rx, ry, rz exist
  double max_step_rotation = 0.1;       // rad per step
  double max_force = 20.0;              // N (wrench control)
  double max_torque = 2.0;              // N m (wrench control)
  double start_xy_noise = 0.0;          // m, uniform start offset of each tcp in x and y
  double start_yaw_noise = 0.0;         // rad, uniform start rotation of each tcp about z
  double safety_max_rotation = 0.5;     // rad about each axis from the home orientation
  // m: a tool further than this outside its safety box (pushed by contact, or overshooting)
  // stops the episode as a failure, holding where it is (info "safety_stop").
  double safety_stop_distance = 0.05;
  bool observe_wrench = false;          // proprio p tcp_wrench (needs the arm's F/T sensors)
  // Time (s) for a full open <-> close stroke of the gripper (0 = as fast as the finger
  // servos go). Real parallel grippers need ~0.5 s (the Franka hand ~0.6 s), which is what
  // makes closing at the wrong moment costly.
  double gripper_stroke_time = 0.5;
  sim::ImpedanceOptions controller;
  std::vector<std::string> arms;        // names of the arms; empty = one unnamed arm
  ArmOptions arm;                       // the single arm's options (arms empty)
  std::map<std::string, ArmOptions> arm_options;  // per named arm

  bool pixels() const { return obs_mode == "pixels"; }
  bool wrench() const { return control == "wrench"; }
  // The options of arm i (0 .. max(1, arms.size()) - 1).
  const ArmOptions& arm_at(size_t i) const { return arms.empty() ? arm : arm_options.at(arms[i]); }
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
  // "open_gripper": every gripper is pulled open while the arms hold their pose (the
  // stroke time + 0.3 s of simulated time pass, outside the episode's steps), so a held
  // object drops; "move_object": MoveTaskObject.
  bool Perturb(const std::string& kind, uint64_t seed) override;

  // For tests and tools. Arm i (0 = the only arm of a single-arm scene).
  int num_arms() const { return static_cast<int>(arms_.size()); }
  const mjModel* model() const { return model_.get(); }
  mjData* data() { return data_.get(); }
  const mjData* data() const { return data_.get(); }
  const sim::Arm& arm(int i = 0) const { return *arms_[i].arm; }
  const SafetyBox& safety_box(int i = 0) const { return arms_[i].safety_box; }
  const Pose& target(int i = 0) const { return arms_[i].target; }
  const Pose& home_pose(int i = 0) const { return arms_[i].home_pose; }
  // Episodes the safety monitor stopped (a tool more than safety_stop_distance outside its box).
  int64_t safety_stops() const { return safety_stops_; }
  // "" or "<arm>_": the prefix of arm i's names and labels.
  const std::string& arm_prefix(int i = 0) const { return arms_[i].prefix; }
  int physics_steps_per_control() const { return substeps_; }
  // Advances physics by n steps tracking the arms' targets (clipped to their safety
  // boxes); in wrench control each arm also applies its current feedforward wrench.
  void StepPhysics(int n);

 protected:
  explicit ArmSimEnv(const ArmEnvOptions& options);

  struct Outcome {
    double reward = 0.0;
    bool success = false;
    // The episode cannot succeed any more (object dropped out of reach, ...): it
    // terminates without success (info["failure"] = 1), so no time is spent on it.
    bool failed = false;
  };
  // Randomises the task's objects; the arms are already at their home configuration.
  virtual void ResetTask(Rng& rng) = 0;
  // Called after the arms have settled at their start poses (e.g. to place a part in a
  // gripper and close it on the part). Default: nothing.
  virtual void AfterArmsSettled(Rng& rng) { (void)rng; }
  // Adds task proprio entries (e.g. object pose in state mode) to the observation; a task
  // declares them in its constructor through mutable_observation_spec().
  virtual void AddTaskObservation(Observation* obs) const { (void)obs; }
  virtual void AddTaskState(StateMap* state) const { (void)state; }
  // Reward and success after a step.
  virtual Outcome Evaluate() = 0;
  // Displaces the task's object to a new random place of its start distribution if it is
  // not held (the "move_object" perturbation); returns false if the task has none.
  virtual bool MoveTaskObject(Rng& rng) {
    (void)rng;
    return false;
  }

  const ArmEnvOptions& options() const { return options_; }
  ObservationSpec& mutable_observation_spec() { return obs_spec_; }
  // Sets arm i's gripper command and finger servos at once (for resets).
  void SetGripperNow(int i, double opening);
  // Commands arm i's gripper (the fingers move at the stroke rate), e.g. to close on a
  // part placed between them in AfterArmsSettled.
  void CommandGripper(int i, double opening) { arms_[i].gripper_command = opening; }
  // Lets physics run for `seconds` holding every arm's target.
  void Settle(double seconds);

 private:
  struct ArmState {
    std::string prefix;
    std::unique_ptr<sim::Arm> arm;
    std::unique_ptr<sim::ImpedanceController> controller;
    SafetyBox safety_box;
    Pose home_pose;
    Pose target;
    sim::Arm::JointVector home_joints;
    bool gripper_action = true;
    double gripper_command = 1.0;   // opening fraction commanded (1 open, 0 closed)
    double gripper_setpoint = 1.0;  // finger servo setpoint, moving toward the command
    int action_offset = 0;          // first continuous action component of this arm
    int gripper_index = -1;         // index of its gripper component, or -1
    Eigen::Matrix<double, 6, 1> wrench = Eigen::Matrix<double, 6, 1>::Zero();  // world frame
    int force_sensor = -1, torque_sensor = -1;  // sensor addresses in sensordata, or -1
    Eigen::Matrix<double, 6, 1> wrench_tare = Eigen::Matrix<double, 6, 1>::Zero();
  };

  Observation MakeObservation();
  Eigen::Matrix<double, 6, 1> SensedWrench(const ArmState& a) const;  // untared, tcp frame
  double OutsideBox(const ArmState& a) const;  // m from the tcp to its safety box (0 inside)

  ArmEnvOptions options_;
  sim::ModelPtr model_;
  sim::DataPtr data_;
  std::vector<ArmState> arms_;
  std::vector<int> rotation_axes_;  // 0 = x, 1 = y, 2 = z (pose control with rotation)
  int continuous_per_arm_ = 3;
  int substeps_ = 50;
  ObservationSpec obs_spec_;
  VectorSpace action_space_;
  std::vector<int> camera_ids_;
  std::unique_ptr<sim::OffscreenRenderer> obs_renderer_;
  std::map<std::pair<int, int>, std::unique_ptr<sim::OffscreenRenderer>> video_renderers_;
  Rng rng_;
  int bad_qacc_warnings_ = 0;
  int64_t safety_stops_ = 0;
};

// The privileged state of arm prefix p as a pose (keys p tcp_pos, p tcp_quat), and of its
// home orientation (p home_quat); for experts. Throw NotFound naming a missing key.
Pose TcpPoseFromState(const StateMap& state, const std::string& prefix = "");
Eigen::Quaterniond HomeRotationFromState(const StateMap& state, const std::string& prefix = "");
// A key of the privileged state; throws NotFound naming `who` and the key.
const std::vector<double>& StateValue(const StateMap& state, const std::string& key, const std::string& who);

// What arm p's parallel gripper is doing, read off the current state only (keys
// p gripper_command, p gripper_setpoint, p gripper_opening), as a person watching it would
// tell: open, opening, closing, closed on the object, or closed on nothing. `centred`: the
// object's grasp point lies between the pads (the caller's geometric test);
// `min_held_opening`: the opening fraction below which closed fingers hold nothing.
// Experts decide what to do next from this, never from what they did before.
enum class GripState { kOpen, kOpening, kClosing, kHolding, kClosedEmpty };
GripState ReadGrip(const StateMap& state, const std::string& prefix, bool centred, double min_held_opening = 0.05);

// One arm at tcp position `p` (m, world) going for the grasp point `target` from above,
// decided by the current state only: it rises when low and off to the side, moves over
// the target at `hover` above it, descends once within 2 x `xy_tolerance` and `aligned`
// (e.g. the yaw matches), closes at the target (within `xy_tolerance` and `z_tolerance`),
// holds still while the fingers close, and opens and rises after closing on nothing.
// `goal` is where the tcp should go next; `gripper` in [-1, 1] (-1 close, 1 open). For
// kHolding it returns {p, -1}: what to do with a held object is the caller's business.
struct GraspCommand {
  Eigen::Vector3d goal;
  float gripper = 0.0f;
};
GraspCommand ReachAndGrasp(const Eigen::Vector3d& p, const Eigen::Vector3d& target, GripState grip, bool centred,
                           double hover, double xy_tolerance, double z_tolerance, bool aligned = true);

}  // namespace hilserl
