#include "envs/arm_env.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/paths.h"

namespace hilserl {

void ArmEnvOptions::Validate() const {
  if (model.empty()) throw InvalidArgument("env: 'model' (path of the MJCF scene) is required");
  if (obs_mode != "state" && obs_mode != "pixels") {
    throw InvalidArgument(fmt::format("env: 'obs_mode' must be 'state' or 'pixels', got '{}'", obs_mode));
  }
  if (image_size < 8 || image_size > 1024) {
    throw InvalidArgument(fmt::format("env: 'image_size' must be in [8, 1024], got {}", image_size));
  }
  if (pixels() && cameras.empty()) throw InvalidArgument("env: pixels mode needs at least one camera");
  if (!(control_hz > 0 && control_hz <= 500)) {
    throw InvalidArgument(fmt::format("env: 'control_hz' must be in (0, 500], got {}", control_hz));
  }
  if (!(max_step_translation > 0) || !(max_step_rotation > 0)) {
    throw InvalidArgument("env: 'max_step_translation' and 'max_step_rotation' must be > 0");
  }
  if (!(gripper_stroke_time >= 0)) throw InvalidArgument("env: 'gripper_stroke_time' must be >= 0 (s)");
  if (!(start_xy_noise >= 0)) throw InvalidArgument("env: 'start_xy_noise' must be >= 0");
  if (safety_low.size() != 3 || safety_high.size() != 3) {
    throw InvalidArgument("env: 'safety_low' and 'safety_high' need 3 values (x, y, z in m)");
  }
  controller.Validate();
}

void ArmEnvOptions::Load(ConfigNode& node) {
  node.Get("model", &model);
  node.Get("obs_mode", &obs_mode);
  node.Get("image_size", &image_size);
  node.Get("cameras", &cameras);
  node.Get("fast_render", &fast_render);
  node.Get("control_hz", &control_hz);
  node.Get("max_step_translation", &max_step_translation);
  node.Get("enable_rotation", &enable_rotation);
  node.Get("max_step_rotation", &max_step_rotation);
  node.Get("start_xy_noise", &start_xy_noise);
  node.GetFixed("safety_low", 3, &safety_low);
  node.GetFixed("safety_high", 3, &safety_high);
  node.Get("safety_max_rotation", &safety_max_rotation);
  node.Get("gripper_stroke_time", &gripper_stroke_time);
  ConfigNode ctrl = node.Child("controller");
  controller.Load(ctrl);
  node.CheckNoUnknownKeys();
  Validate();
}

ArmSimEnv::ArmSimEnv(const ArmEnvOptions& options) : options_(options) {
  options_.Validate();
  const int render = options_.pixels() ? options_.image_size : 0;
  model_ = sim::LoadModel(ResolvePath(options_.model), render, render);
  data_ = sim::MakeData(model_.get());
  arm_ = std::make_unique<sim::Arm>(model_.get());
  controller_ = std::make_unique<sim::ImpedanceController>(model_.get(), arm_.get(), options_.controller);

  const double dt = model_->opt.timestep;
  substeps_ = std::max(1, static_cast<int>(std::lround(1.0 / (options_.control_hz * dt))));

  // Home pose: forward kinematics of the home joint configuration.
  mj_resetData(model_.get(), data_.get());
  sim::Arm::JointVector home;
  for (int i = 0; i < sim::Arm::kDof; ++i) home[i] = options_.controller.home_joints[i];
  arm_->SetJointPositions(data_.get(), home);
  mj_forward(model_.get(), data_.get());
  home_pose_ = arm_->TcpPose(data_.get());

  safety_box_.low = Eigen::Vector3d(options_.safety_low[0], options_.safety_low[1], options_.safety_low[2]);
  safety_box_.high = Eigen::Vector3d(options_.safety_high[0], options_.safety_high[1], options_.safety_high[2]);
  safety_box_.nominal_orientation = home_pose_.rotation;
  safety_box_.max_rotation = options_.safety_max_rotation;
  safety_box_.Validate();

  // Action space.
  const float t = static_cast<float>(options_.max_step_translation);
  const float r = static_cast<float>(options_.max_step_rotation);
  action_space_.name = "action";
  action_space_.labels = {"x", "y", "z"};
  action_space_.low = {-t, -t, -t};
  action_space_.high = {t, t, t};
  if (options_.enable_rotation) {
    rot_offset_ = 3;
    for (const char* l : {"rx", "ry", "rz"}) {
      action_space_.labels.emplace_back(l);
      action_space_.low.push_back(-r);
      action_space_.high.push_back(r);
    }
  }
  gripper_index_ = action_space_.size();
  action_space_.labels.emplace_back("gripper");
  action_space_.low.push_back(-1.0f);
  action_space_.high.push_back(1.0f);
  action_space_.Validate();

  // Observation spec.
  const float inf = 1e6f;
  obs_spec_.proprio.push_back({"tcp_pose", {"x", "y", "z", "qw", "qx", "qy", "qz"},
                               std::vector<float>(7, -inf), std::vector<float>(7, inf)});
  obs_spec_.proprio.push_back({"tcp_vel", {"vx", "vy", "vz", "wx", "wy", "wz"},
                               std::vector<float>(6, -inf), std::vector<float>(6, inf)});
  obs_spec_.proprio.push_back({"gripper_pos", {"opening"}, {0.0f}, {1.0f}});
  for (const auto& cam : options_.cameras) camera_ids_.push_back(sim::CameraId(model_.get(), cam));
  if (options_.pixels()) {
    for (const auto& cam : options_.cameras) {
      obs_spec_.images.push_back({cam, options_.image_size, options_.image_size, 3});
    }
  }
}

ArmSimEnv::~ArmSimEnv() = default;

std::vector<std::string> ArmSimEnv::camera_names() const {
  std::vector<std::string> names;
  for (int i = 0; i < model_->ncam; ++i) names.emplace_back(mj_id2name(model_.get(), mjOBJ_CAMERA, i));
  return names;
}

Observation ArmSimEnv::Reset(uint64_t seed) {
  rng_.Seed(seed);
  mjModel* m = model_.get();
  mjData* d = data_.get();
  mj_resetData(m, d);
  sim::Arm::JointVector home;
  for (int i = 0; i < sim::Arm::kDof; ++i) home[i] = options_.controller.home_joints[i];
  arm_->SetJointPositions(d, home);
  arm_->SetGripperOpening(d, 1.0);
  gripper_command_ = 1.0;
  gripper_setpoint_ = 1.0;
  mj_forward(m, d);
  ResetTask(rng_);
  mj_forward(m, d);

  // Start pose: home, optionally shifted in x/y; settle there for 0.3 s.
  Pose start = home_pose_;
  if (options_.start_xy_noise > 0) {
    start.translation.x() += rng_.Uniform(-options_.start_xy_noise, options_.start_xy_noise);
    start.translation.y() += rng_.Uniform(-options_.start_xy_noise, options_.start_xy_noise);
  }
  StepPhysics(start, static_cast<int>(0.3 / m->opt.timestep));
  return MakeObservation();
}

void ArmSimEnv::StepPhysics(const Pose& target, int n) {
  mjModel* m = model_.get();
  mjData* d = data_.get();
  target_ = safety_box_.Clip(target);
  const double max_change = options_.gripper_stroke_time > 0 ? m->opt.timestep / options_.gripper_stroke_time : 1.0;
  for (int i = 0; i < n; ++i) {
    gripper_setpoint_ += std::clamp(gripper_command_ - gripper_setpoint_, -max_change, max_change);
    arm_->SetGripperTarget(d, gripper_setpoint_);
    mj_step1(m, d);
    controller_->Apply(m, d, target_);
    mj_step2(m, d);
  }
  // MuJoCo resets the state itself when accelerations blow up; never let that pass silently.
  const int bad = d->warning[mjWARN_BADQACC].number;
  if (bad != bad_qacc_warnings_) {
    bad_qacc_warnings_ = bad;
    throw InternalError(fmt::format("{}: the physics simulation diverged (bad accelerations at "
                                    "t = {:.3f} s); the episode must be reset",
                                    name(), d->time));
  }
}

StepResult ArmSimEnv::Step(const Action& action) {
  action_space_.CheckFinite(action, name() + " step action");
  const Action a = action_space_.Clip(action);

  // Target = measured pose + delta (base frame), as on the real robot.
  const Pose measured = arm_->TcpPose(data_.get());
  Pose target;
  target.translation = measured.translation + Eigen::Vector3d(a[0], a[1], a[2]);
  if (rot_offset_ >= 0) {
    const Eigen::Vector3d w(a[rot_offset_], a[rot_offset_ + 1], a[rot_offset_ + 2]);
    target.rotation = (ExpRotation(w) * measured.rotation).normalized();
  } else {
    target.rotation = home_pose_.rotation;
  }
  const float g = a[gripper_index_];
  if (g <= -0.5f) gripper_command_ = 0.0;
  if (g >= 0.5f) gripper_command_ = 1.0;

  StepPhysics(target, substeps_);

  StepResult result;
  const Outcome outcome = Evaluate();
  result.reward = outcome.reward;
  result.terminated = outcome.success;
  result.info["success"] = outcome.success ? 1.0 : 0.0;
  result.observation = MakeObservation();
  return result;
}

Observation ArmSimEnv::MakeObservation() {
  Observation obs;
  const mjData* d = data_.get();
  Pose tcp = arm_->TcpPose(d);
  if (tcp.rotation.dot(home_pose_.rotation) < 0) tcp.rotation.coeffs() *= -1.0;
  const Eigen::Quaterniond& q = tcp.rotation;
  obs.proprio["tcp_pose"] = {static_cast<float>(tcp.translation.x()),
                             static_cast<float>(tcp.translation.y()),
                             static_cast<float>(tcp.translation.z()),
                             static_cast<float>(q.w()),
                             static_cast<float>(q.x()),
                             static_cast<float>(q.y()),
                             static_cast<float>(q.z())};
  const auto v = arm_->TcpVelocity(model_.get(), d);
  obs.proprio["tcp_vel"] = std::vector<float>(v.data(), v.data() + 6);
  obs.proprio["gripper_pos"] = {static_cast<float>(arm_->GripperOpening(d))};
  AddTaskObservation(&obs);
  if (options_.pixels()) {
    if (!obs_renderer_) {
      obs_renderer_ = std::make_unique<sim::OffscreenRenderer>(
          model_.get(), options_.image_size, options_.image_size,
          options_.fast_render ? sim::RenderOptions::Fast() : sim::RenderOptions());
    }
    for (size_t i = 0; i < camera_ids_.size(); ++i) {
      obs_renderer_->Render(data_.get(), camera_ids_[i], &obs.images[options_.cameras[i]]);
    }
  }
  return obs;
}

Image ArmSimEnv::RenderCamera(const std::string& camera, int width, int height) {
  const int id = sim::CameraId(model_.get(), camera);
  auto key = std::make_pair(width, height);
  auto it = video_renderers_.find(key);
  if (it == video_renderers_.end()) {
    if (model_->vis.global.offwidth < width || model_->vis.global.offheight < height) {
      // Growing the offscreen buffer only affects renderers created afterwards.
      model_->vis.global.offwidth = std::max(model_->vis.global.offwidth, width);
      model_->vis.global.offheight = std::max(model_->vis.global.offheight, height);
    }
    // At the observation's size, render as observations are rendered (what a reward
    // classifier trained on observation frames must see); other sizes are for videos.
    const bool as_observation = width == options_.image_size && height == options_.image_size;
    const sim::RenderOptions ro =
        as_observation && options_.fast_render ? sim::RenderOptions::Fast() : sim::RenderOptions();
    it = video_renderers_.emplace(key, std::make_unique<sim::OffscreenRenderer>(model_.get(), width, height, ro)).first;
  }
  return it->second->Render(data_.get(), id);
}

StateMap ArmSimEnv::privileged_state() const {
  StateMap s;
  const Pose tcp = arm_->TcpPose(data_.get());
  s["tcp_pos"] = {tcp.translation.x(), tcp.translation.y(), tcp.translation.z()};
  s["tcp_quat"] = {tcp.rotation.w(), tcp.rotation.x(), tcp.rotation.y(), tcp.rotation.z()};
  s["home_quat"] = {home_pose_.rotation.w(), home_pose_.rotation.x(), home_pose_.rotation.y(),
                   home_pose_.rotation.z()};
  s["gripper_opening"] = {arm_->GripperOpening(data_.get())};
  s["gripper_command"] = {gripper_command_};
  s["time"] = {data_->time};
  AddTaskState(&s);
  return s;
}

}  // namespace hilserl
