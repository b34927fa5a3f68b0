#include "envs/arm_env.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/paths.h"
#include "sim/ik.h"

namespace hilserl {

// ---- options ----

void ArmOptions::Validate(const std::string& where) const {
  if (safety_low.size() != 3 || safety_high.size() != 3) {
    throw InvalidArgument(fmt::format("{}: 'safety_low' and 'safety_high' need 3 values (x, y, z in m)", where));
  }
  for (int i = 0; i < 3; ++i) {
    const char axis = static_cast<char>('x' + i);
    const double lo = safety_low[i], hi = safety_high[i];
    if (!(std::abs(lo) <= kMaxSafetyCoordinate && std::abs(hi) <= kMaxSafetyCoordinate)) {
      throw InvalidArgument(fmt::format("{}: the safety box's {} limits must be finite and within +-{} m of the "
                                        "world origin (an arm reaches less than 1 m), got [{}, {}]",
                                        where, axis, kMaxSafetyCoordinate, lo, hi));
    }
    if (!(hi - lo >= kMinSafetyExtent)) {
      throw InvalidArgument(fmt::format("{}: the safety box must be at least {} m wide along {} "
                                        "(safety_low {} < safety_high {}), got {} m",
                                        where, kMinSafetyExtent, axis, lo, hi, hi - lo));
    }
  }
  for (double v : start_offset) {
    if (!(std::abs(v) <= kMaxSafetyCoordinate)) throw InvalidArgument(fmt::format("{}: 'start_offset' must be finite (m)", where));
  }
  if (!home_joints.empty() && home_joints.size() != sim::Arm::kDof) {
    throw InvalidArgument(fmt::format("{}: 'home_joints' needs {} values, got {}", where, sim::Arm::kDof,
                                      home_joints.size()));
  }
  if (!(gripper_hold >= 0 && gripper_hold <= 1)) {
    throw InvalidArgument(fmt::format("{}: 'gripper_hold' must be in [0, 1] (0 closed, 1 open)", where));
  }
  if (start_offset.size() != 3) throw InvalidArgument(fmt::format("{}: 'start_offset' needs 3 values (m)", where));
}

void ArmOptions::Load(ConfigNode& node) {
  node.GetFixed("safety_low", 3, &safety_low);
  node.GetFixed("safety_high", 3, &safety_high);
  if (node.Has("home_joints")) node.GetFixed("home_joints", sim::Arm::kDof, &home_joints);
  node.Get("gripper", &gripper);
  node.Get("gripper_hold", &gripper_hold);
  node.GetFixed("start_offset", 3, &start_offset);
}

void ArmEnvOptions::Validate() const {
  if (model.empty()) throw InvalidArgument("env: 'model' (path of the MJCF scene) is required");
  if (obs_mode != "state" && obs_mode != "pixels") {
    throw InvalidArgument(fmt::format("env: 'obs_mode' must be 'state' or 'pixels', got '{}'", obs_mode));
  }
  if (control != "pose" && control != "wrench") {
    throw InvalidArgument(fmt::format("env: 'control' must be 'pose' or 'wrench', got '{}'", control));
  }
  if (image_size < 8 || image_size > 1024) {
    throw InvalidArgument(fmt::format("env: 'image_size' must be in [8, 1024], got {}", image_size));
  }
  if (pixels() && cameras.empty()) throw InvalidArgument("env: pixels mode needs at least one camera");
  if (!(control_hz >= 1 && control_hz <= 500)) {
    throw InvalidArgument(fmt::format("env: 'control_hz' must be in [1, 500] Hz, got {}", control_hz));
  }
  if (!(max_step_translation > 0) || !(max_step_rotation > 0)) {
    throw InvalidArgument("env: 'max_step_translation' and 'max_step_rotation' must be > 0");
  }
  if (!(max_force > 0) || !(max_torque > 0)) throw InvalidArgument("env: 'max_force' and 'max_torque' must be > 0");
  if (rotation_axes != "xyz" && rotation_axes != "z") {
    throw InvalidArgument(fmt::format("env: 'rotation_axes' must be 'xyz' or 'z', got '{}'", rotation_axes));
  }
  if (!(gripper_stroke_time >= 0 && gripper_stroke_time <= 10)) {
    throw InvalidArgument(fmt::format("env: 'gripper_stroke_time' must be in [0, 10] s, got {}", gripper_stroke_time));
  }
  if (!(start_xy_noise >= 0 && start_xy_noise <= 0.5) || !(start_yaw_noise >= 0 && start_yaw_noise <= M_PI)) {
    throw InvalidArgument("env: 'start_xy_noise' must be in [0, 0.5] m and 'start_yaw_noise' in [0, pi] rad");
  }
  if (!(safety_max_rotation > 0 && safety_max_rotation <= M_PI)) {
    throw InvalidArgument(fmt::format("env: 'safety_max_rotation' must be in (0, pi] rad, got {}", safety_max_rotation));
  }
  if (!(safety_stop_distance > 0 && safety_stop_distance <= 0.2)) {
    throw InvalidArgument(fmt::format("env: 'safety_stop_distance' must be in (0, 0.2] m, got {}", safety_stop_distance));
  }
  controller.Validate();
  if (arms.empty()) {
    arm.Validate("env");
  } else {
    for (const auto& name : arms) {
      if (name.empty() || name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789") != std::string::npos) {
        throw InvalidArgument(fmt::format("env: arm name '{}' must be lower-case letters and digits", name));
      }
      auto it = arm_options.find(name);
      if (it == arm_options.end()) throw InvalidArgument(fmt::format("env: no options for arm '{}'", name));
      it->second.Validate("env." + name);
    }
  }
}

void ArmEnvOptions::Load(ConfigNode& node) {
  node.Get("model", &model);
  node.Get("obs_mode", &obs_mode);
  node.Get("image_size", &image_size);
  node.Get("cameras", &cameras);
  node.Get("fast_render", &fast_render);
  node.Get("control_hz", &control_hz);
  node.Get("control", &control);
  node.Get("max_step_translation", &max_step_translation);
  node.Get("enable_rotation", &enable_rotation);
  node.Get("rotation_axes", &rotation_axes);
  node.Get("max_step_rotation", &max_step_rotation);
  node.Get("max_force", &max_force);
  node.Get("max_torque", &max_torque);
  node.Get("start_xy_noise", &start_xy_noise);
  node.Get("start_yaw_noise", &start_yaw_noise);
  node.Get("safety_max_rotation", &safety_max_rotation);
  node.Get("safety_stop_distance", &safety_stop_distance);
  node.Get("observe_wrench", &observe_wrench);
  node.Get("gripper_stroke_time", &gripper_stroke_time);
  ConfigNode ctrl = node.Child("controller");
  controller.Load(ctrl);
  node.Get("arms", &arms);
  if (arms.empty()) {
    arm.Load(node);
  } else {
    for (const auto& name : arms) {
      ArmOptions a = arm;
      ConfigNode child = node.Child(name);
      a.Load(child);
      child.CheckNoUnknownKeys();
      arm_options[name] = a;
    }
  }
  node.CheckNoUnknownKeys();
  Validate();
}

// ---- env ----

ArmSimEnv::ArmSimEnv(const ArmEnvOptions& options) : options_(options) {
  options_.Validate();
  const int render = options_.pixels() ? options_.image_size : 0;
  model_ = sim::LoadModel(ResolvePath(options_.model), render, render);
  data_ = sim::MakeData(model_.get());

  const double dt = model_->opt.timestep;
  substeps_ = std::max(1, static_cast<int>(std::lround(1.0 / (options_.control_hz * dt))));

  // Arms, their controllers and their home configurations.
  const size_t n = std::max<size_t>(1, options_.arms.size());
  arms_.resize(n);
  mj_resetData(model_.get(), data_.get());
  for (size_t i = 0; i < n; ++i) {
    ArmState& a = arms_[i];
    const ArmOptions& ao = options_.arm_at(i);
    a.prefix = options_.arms.empty() ? "" : options_.arms[i] + "_";
    a.arm = std::make_unique<sim::Arm>(model_.get(), a.prefix);
    sim::ImpedanceOptions c = options_.controller;
    if (!ao.home_joints.empty()) c.home_joints = ao.home_joints;
    a.controller = std::make_unique<sim::ImpedanceController>(model_.get(), a.arm.get(), c);
    for (int j = 0; j < sim::Arm::kDof; ++j) a.home_joints[j] = c.home_joints[j];
    a.arm->SetJointPositions(data_.get(), a.home_joints);
    a.gripper_action = ao.gripper;
    if (options_.observe_wrench) {
      const int fs = mj_name2id(model_.get(), mjOBJ_SENSOR, (a.prefix + "ft_force").c_str());
      const int ts = mj_name2id(model_.get(), mjOBJ_SENSOR, (a.prefix + "ft_torque").c_str());
      if (fs < 0 || ts < 0) {
        throw NotFound(fmt::format("env: observe_wrench needs the sensors '{0}ft_force' and '{0}ft_torque' in {1}",
                                   a.prefix, options_.model));
      }
      a.force_sensor = model_->sensor_adr[fs];
      a.torque_sensor = model_->sensor_adr[ts];
    }
  }
  mj_forward(model_.get(), data_.get());
  for (size_t i = 0; i < n; ++i) {
    ArmState& a = arms_[i];
    const ArmOptions& ao = options_.arm_at(i);
    a.home_pose = a.arm->TcpPose(data_.get());
    a.target = a.home_pose;
    a.safety_box.low = Eigen::Vector3d(ao.safety_low[0], ao.safety_low[1], ao.safety_low[2]);
    a.safety_box.high = Eigen::Vector3d(ao.safety_high[0], ao.safety_high[1], ao.safety_high[2]);
    a.safety_box.nominal_orientation = a.home_pose.rotation;
    a.safety_box.max_rotation = options_.safety_max_rotation;
    a.safety_box.Validate();
    // Every start pose (home + offset + the random shift) must lie in the box: a box
    // below the table or beside the arm would otherwise be "enforced" by a first command
    // that drives the tool somewhere nobody checked.
    const Eigen::Vector3d start = a.home_pose.translation +
                                  Eigen::Vector3d(ao.start_offset[0], ao.start_offset[1], ao.start_offset[2]);
    const Eigen::Vector3d shift(options_.start_xy_noise, options_.start_xy_noise, 0.0);
    Pose corner_low = a.home_pose, corner_high = a.home_pose;
    corner_low.translation = start - shift;
    corner_high.translation = start + shift;
    if (!a.safety_box.Contains(corner_low, 1e-6) || !a.safety_box.Contains(corner_high, 1e-6)) {
      throw InvalidArgument(fmt::format(
          "env{}: the start pose ({:.3f}, {:.3f}, {:.3f}) m +- start_xy_noise {} m is not inside the safety box "
          "[{:.3f}, {:.3f}] x [{:.3f}, {:.3f}] x [{:.3f}, {:.3f}] m (check safety_low, safety_high and start_offset)",
          a.prefix.empty() ? "" : "." + a.prefix.substr(0, a.prefix.size() - 1), start.x(), start.y(), start.z(),
          options_.start_xy_noise, ao.safety_low[0], ao.safety_high[0], ao.safety_low[1], ao.safety_high[1],
          ao.safety_low[2], ao.safety_high[2]));
    }
  }

  // Action space: continuous components arm by arm, then the grippers.
  if (options_.wrench()) {
    continuous_per_arm_ = 6;
  } else if (options_.enable_rotation) {
    for (char c : options_.rotation_axes) rotation_axes_.push_back(c - 'x');
    continuous_per_arm_ = 3 + static_cast<int>(rotation_axes_.size());
  }
  action_space_.name = "action";
  auto add = [&](const std::string& label, double bound) {
    action_space_.labels.push_back(label);
    action_space_.low.push_back(static_cast<float>(-bound));
    action_space_.high.push_back(static_cast<float>(bound));
  };
  for (ArmState& a : arms_) {
    a.action_offset = action_space_.size();
    if (options_.wrench()) {
      for (const char* l : {"fx", "fy", "fz"}) add(a.prefix + l, options_.max_force);
      for (const char* l : {"tx", "ty", "tz"}) add(a.prefix + l, options_.max_torque);
    } else {
      for (const char* l : {"x", "y", "z"}) add(a.prefix + l, options_.max_step_translation);
      for (int axis : rotation_axes_) add(a.prefix + "r" + static_cast<char>('x' + axis), options_.max_step_rotation);
    }
  }
  for (ArmState& a : arms_) {
    if (!a.gripper_action) continue;
    a.gripper_index = action_space_.size();
    add(a.prefix + "gripper", 1.0);
  }
  action_space_.Validate();

  // Observation spec.
  const float inf = 1e6f;
  for (const ArmState& a : arms_) {
    obs_spec_.proprio.push_back({a.prefix + "tcp_pose", {"x", "y", "z", "qw", "qx", "qy", "qz"},
                                 std::vector<float>(7, -inf), std::vector<float>(7, inf)});
    obs_spec_.proprio.push_back({a.prefix + "tcp_vel", {"vx", "vy", "vz", "wx", "wy", "wz"},
                                 std::vector<float>(6, -inf), std::vector<float>(6, inf)});
    obs_spec_.proprio.push_back({a.prefix + "gripper_pos", {"opening"}, {0.0f}, {1.0f}});
    if (options_.observe_wrench) {
      obs_spec_.proprio.push_back({a.prefix + "tcp_wrench", {"fx", "fy", "fz", "tx", "ty", "tz"},
                                   std::vector<float>(6, -inf), std::vector<float>(6, inf)});
    }
  }
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

void ArmSimEnv::SetGripperNow(int i, double opening) {
  ArmState& a = arms_[i];
  a.arm->SetGripperOpening(data_.get(), opening);
  a.gripper_command = opening;
  a.gripper_setpoint = opening;
}

void ArmSimEnv::Settle(double seconds) {
  StepPhysics(std::max(1, static_cast<int>(seconds / model_->opt.timestep)));
}

Observation ArmSimEnv::Reset(uint64_t seed) {
  rng_.Seed(seed);
  mjModel* m = model_.get();
  mjData* d = data_.get();
  mj_resetData(m, d);
  for (size_t i = 0; i < arms_.size(); ++i) {
    ArmState& a = arms_[i];
    a.arm->SetJointPositions(d, a.home_joints);
    SetGripperNow(static_cast<int>(i), a.gripper_action ? 1.0 : options_.arm_at(i).gripper_hold);
    a.wrench.setZero();
  }
  mj_forward(m, d);
  ResetTask(rng_);
  mj_forward(m, d);

  // Start poses: home + offset, optionally shifted in x/y and turned about z; settle there
  // for 0.3 s.
  for (size_t i = 0; i < arms_.size(); ++i) {
    ArmState& a = arms_[i];
    const ArmOptions& ao = options_.arm_at(i);
    Pose start = a.home_pose;
    start.translation += Eigen::Vector3d(ao.start_offset[0], ao.start_offset[1], ao.start_offset[2]);
    if (options_.start_xy_noise > 0) {
      start.translation.x() += rng_.Uniform(-options_.start_xy_noise, options_.start_xy_noise);
      start.translation.y() += rng_.Uniform(-options_.start_xy_noise, options_.start_xy_noise);
    }
    if (options_.start_yaw_noise > 0) {
      const double yaw = rng_.Uniform(-options_.start_yaw_noise, options_.start_yaw_noise);
      start.rotation = (Eigen::Quaterniond(Eigen::AngleAxisd(yaw, Eigen::Vector3d::UnitZ())) * start.rotation).normalized();
    }
    a.target = start;
    // Move there at once (a real arm drives to its reset pose before the episode).
    const bool at_home = (start.translation - a.home_pose.translation).norm() < 1e-12 &&
                         start.rotation.angularDistance(a.home_pose.rotation) < 1e-12;
    if (!at_home) {
      const sim::IkResult ik = sim::SolveIk(m, d, *a.arm, start, a.home_joints);
      if (ik.position_error > 0.005 || ik.rotation_error > 0.02) {
        throw InvalidArgument(fmt::format("{}: the start pose of arm '{}' is out of reach (IK error {:.1f} mm, "
                                          "{:.3f} rad); check start_offset and the noise ranges",
                                          name(), a.prefix, 1e3 * ik.position_error, ik.rotation_error));
      }
    }
  }
  Settle(0.3);
  AfterArmsSettled(rng_);
  for (ArmState& a : arms_) {
    if (a.force_sensor >= 0) a.wrench_tare = SensedWrench(a);
  }
  return MakeObservation();
}

void ArmSimEnv::StepPhysics(int n) {
  mjModel* m = model_.get();
  mjData* d = data_.get();
  for (ArmState& a : arms_) a.target = a.safety_box.Clip(a.target);
  const double max_change = options_.gripper_stroke_time > 0 ? m->opt.timestep / options_.gripper_stroke_time : 1.0;
  for (int i = 0; i < n; ++i) {
    for (ArmState& a : arms_) {
      a.gripper_setpoint += std::clamp(a.gripper_command - a.gripper_setpoint, -max_change, max_change);
      a.arm->SetGripperTarget(d, a.gripper_setpoint);
    }
    mj_step1(m, d);
    for (ArmState& a : arms_) {
      if (options_.wrench() && a.wrench.squaredNorm() > 0) {
        // Drop the feedforward wrench once the tcp is outside the safety box: the
        // impedance controller alone then pulls it back toward the held pose.
        const bool inside = a.safety_box.Contains(a.arm->TcpPose(d), 1e-9);
        a.controller->Apply(m, d, a.target, inside ? &a.wrench : nullptr);
      } else {
        a.controller->Apply(m, d, a.target);
      }
    }
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

  for (ArmState& arm : arms_) {
    const Pose measured = arm.arm->TcpPose(data_.get());
    const int o = arm.action_offset;
    if (options_.wrench()) {
      // Feedforward wrench, tcp frame -> world frame; the held pose stays where it is.
      const Eigen::Vector3d f = measured.rotation * Eigen::Vector3d(a[o], a[o + 1], a[o + 2]);
      const Eigen::Vector3d t = measured.rotation * Eigen::Vector3d(a[o + 3], a[o + 4], a[o + 5]);
      arm.wrench << f, t;
    } else {
      // Target = measured pose + delta (world frame), as on the real robot.
      Pose target;
      target.translation = measured.translation + Eigen::Vector3d(a[o], a[o + 1], a[o + 2]);
      if (rotation_axes_.empty()) {
        target.rotation = arm.home_pose.rotation;
      } else {
        Eigen::Vector3d w = Eigen::Vector3d::Zero();
        for (size_t k = 0; k < rotation_axes_.size(); ++k) w[rotation_axes_[k]] = a[o + 3 + static_cast<int>(k)];
        target.rotation = (ExpRotation(w) * measured.rotation).normalized();
        if (rotation_axes_.size() == 1) {
          // Yaw only: keep the twist about world z of the change from home, drop any tilt.
          const Eigen::Quaterniond rel = target.rotation * arm.home_pose.rotation.conjugate();
          Eigen::Quaterniond twist(rel.w(), 0.0, 0.0, rel.z());
          if (twist.norm() < 1e-9) twist = Eigen::Quaterniond::Identity();
          target.rotation = (twist.normalized() * arm.home_pose.rotation).normalized();
        }
      }
      arm.target = target;
    }
    if (arm.gripper_index >= 0) {
      const float g = a[arm.gripper_index];
      if (g <= -0.5f) arm.gripper_command = 0.0;
      if (g >= 0.5f) arm.gripper_command = 1.0;
    }
  }

  StepPhysics(substeps_);

  StepResult result;
  const Outcome outcome = Evaluate();
  result.reward = outcome.reward;
  result.terminated = outcome.success || outcome.failed;
  result.info["success"] = outcome.success ? 1.0 : 0.0;
  if (outcome.failed && !outcome.success) result.info["failure"] = 1.0;
  // The safety monitor: a tool that got further than safety_stop_distance outside its box
  // (pushed, or overshooting) holds where it is and the episode ends as a failure.
  for (ArmState& arm : arms_) {
    const double out = OutsideBox(arm);
    if (out > options_.safety_stop_distance) {
      arm.target = arm.safety_box.Clip(arm.arm->TcpPose(data_.get()));
      arm.wrench.setZero();
      result.terminated = true;
      result.reward = 0.0;
      result.info["success"] = 0.0;
      result.info["failure"] = 1.0;
      result.info["safety_stop"] = out;
      ++safety_stops_;
    }
  }
  result.observation = MakeObservation();
  return result;
}

double ArmSimEnv::OutsideBox(const ArmState& a) const {
  const Pose tcp = a.arm->TcpPose(data_.get());
  const Eigen::Vector3d below = (a.safety_box.low - tcp.translation).cwiseMax(0.0);
  const Eigen::Vector3d above = (tcp.translation - a.safety_box.high).cwiseMax(0.0);
  return (below + above).norm();
}

Eigen::Matrix<double, 6, 1> ArmSimEnv::SensedWrench(const ArmState& a) const {
  // MuJoCo's force/torque sensors report what the child subtree (hand, fingers, anything
  // held) exerts... in the sensor site's frame, which has the tcp's orientation.
  Eigen::Matrix<double, 6, 1> w;
  const mjtNum* f = data_->sensordata + a.force_sensor;
  const mjtNum* t = data_->sensordata + a.torque_sensor;
  w << f[0], f[1], f[2], t[0], t[1], t[2];
  return w;
}

Observation ArmSimEnv::MakeObservation() {
  Observation obs;
  const mjData* d = data_.get();
  for (const ArmState& a : arms_) {
    Pose tcp = a.arm->TcpPose(d);
    if (tcp.rotation.dot(a.home_pose.rotation) < 0) tcp.rotation.coeffs() *= -1.0;
    const Eigen::Quaterniond& q = tcp.rotation;
    obs.proprio[a.prefix + "tcp_pose"] = {static_cast<float>(tcp.translation.x()),
                                          static_cast<float>(tcp.translation.y()),
                                          static_cast<float>(tcp.translation.z()),
                                          static_cast<float>(q.w()),
                                          static_cast<float>(q.x()),
                                          static_cast<float>(q.y()),
                                          static_cast<float>(q.z())};
    const auto v = a.arm->TcpVelocity(model_.get(), d);
    obs.proprio[a.prefix + "tcp_vel"] = std::vector<float>(v.data(), v.data() + 6);
    obs.proprio[a.prefix + "gripper_pos"] = {static_cast<float>(a.arm->GripperOpening(d))};
    if (a.force_sensor >= 0) {
      const Eigen::Matrix<double, 6, 1> w = SensedWrench(a) - a.wrench_tare;
      std::vector<float>& out = obs.proprio[a.prefix + "tcp_wrench"];
      for (int k = 0; k < 6; ++k) out.push_back(static_cast<float>(w[k]));
    }
  }
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
  for (const ArmState& a : arms_) {
    const Pose tcp = a.arm->TcpPose(data_.get());
    const std::string& p = a.prefix;
    s[p + "tcp_pos"] = {tcp.translation.x(), tcp.translation.y(), tcp.translation.z()};
    s[p + "tcp_quat"] = {tcp.rotation.w(), tcp.rotation.x(), tcp.rotation.y(), tcp.rotation.z()};
    const auto v = a.arm->TcpVelocity(model_.get(), data_.get());
    s[p + "tcp_vel"] = std::vector<double>(v.data(), v.data() + 6);
    s[p + "home_quat"] = {a.home_pose.rotation.w(), a.home_pose.rotation.x(), a.home_pose.rotation.y(),
                          a.home_pose.rotation.z()};
    s[p + "home_pos"] = {a.home_pose.translation.x(), a.home_pose.translation.y(), a.home_pose.translation.z()};
    s[p + "hold_pos"] = {a.target.translation.x(), a.target.translation.y(), a.target.translation.z()};
    s[p + "gripper_opening"] = {a.arm->GripperOpening(data_.get())};
    s[p + "gripper_command"] = {a.gripper_command};
    s[p + "gripper_setpoint"] = {a.gripper_setpoint};
  }
  s["time"] = {data_->time};
  AddTaskState(&s);
  return s;
}

bool ArmSimEnv::Perturb(const std::string& kind, uint64_t seed) {
  Rng rng(seed ^ 0x9e27b5ULL);
  if (kind == "open_gripper") {
    // A person pulls the fingers open while the arms hold still: the held object drops.
    // Setting the command alone would not do: the policy's next gripper action would
    // overwrite it before the fingers moved.
    bool any = false;
    for (ArmState& a : arms_) {
      if (!a.gripper_action) continue;
      a.gripper_command = 1.0;
      any = true;
    }
    if (!any) return false;
    for (ArmState& a : arms_) {
      a.target = a.arm->TcpPose(data_.get());
      a.wrench.setZero();
    }
    Settle(options_.gripper_stroke_time + 0.3);  // validated >= 0
    return true;
  }
  if (kind == "move_object") {
    if (!MoveTaskObject(rng)) return false;
    mj_forward(model_.get(), data_.get());
    return true;
  }
  return false;
}

// ---- helpers for experts ----

const std::vector<double>& StateValue(const StateMap& state, const std::string& key, const std::string& who) {
  auto it = state.find(key);
  if (it == state.end()) {
    throw NotFound(fmt::format("{} needs privileged state '{}' (is this the simulated task it was written for?)",
                               who, key));
  }
  return it->second;
}

Pose TcpPoseFromState(const StateMap& state, const std::string& prefix) {
  const auto& p = StateValue(state, prefix + "tcp_pos", "expert");
  const auto& q = StateValue(state, prefix + "tcp_quat", "expert");
  return Pose(Eigen::Vector3d(p[0], p[1], p[2]), Eigen::Quaterniond(q[0], q[1], q[2], q[3]).normalized());
}

GripState ReadGrip(const StateMap& state, const std::string& prefix, bool centred, double min_held_opening) {
  const double command = StateValue(state, prefix + "gripper_command", "expert")[0];
  const double setpoint = StateValue(state, prefix + "gripper_setpoint", "expert")[0];
  const double opening = StateValue(state, prefix + "gripper_opening", "expert")[0];
  if (command >= 0.5) return setpoint >= 0.99 && opening > 0.85 ? GripState::kOpen : GripState::kOpening;
  if (setpoint > 0.02) return GripState::kClosing;  // the stroke is still under way
  return centred && opening > min_held_opening ? GripState::kHolding : GripState::kClosedEmpty;
}

GraspCommand ReachAndGrasp(const Eigen::Vector3d& p, const Eigen::Vector3d& target, GripState grip, bool centred,
                           double hover, double xy_tolerance, double z_tolerance, bool aligned) {
  const double xy = (p - target).head<2>().norm();
  const bool low = p.z() < target.z() + 0.03;
  const Eigen::Vector3d above(target.x(), target.y(), target.z() + hover);
  const Eigen::Vector3d rise(p.x(), p.y(), std::max(p.z(), above.z()));
  switch (grip) {
    case GripState::kHolding:
      return {p, -1.0f};
    case GripState::kClosing:  // hold still while closing on the object; undo a closing on nothing
      return centred ? GraspCommand{p, -1.0f} : GraspCommand{rise, 1.0f};
    case GripState::kClosedEmpty:
      return {rise, 1.0f};
    case GripState::kOpening:  // the fingers must be open before going down onto the object
      return {xy < 0.03 && low ? p : rise, 1.0f};
    case GripState::kOpen:
      break;
  }
  if (xy < 2 * xy_tolerance && aligned) {
    const bool there = xy < xy_tolerance && std::abs(p.z() - target.z()) < z_tolerance;
    return {target, there ? -1.0f : 1.0f};
  }
  if (low && xy > 2 * xy_tolerance) return {Eigen::Vector3d(p.x(), p.y(), above.z()), 1.0f};  // rise first
  return {above, 1.0f};
}

Eigen::Quaterniond HomeRotationFromState(const StateMap& state, const std::string& prefix) {
  const auto& q = StateValue(state, prefix + "home_quat", "expert");
  return Eigen::Quaterniond(q[0], q[1], q[2], q[3]).normalized();
}

}  // namespace hilserl
