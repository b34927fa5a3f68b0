// pan_flip: flip an object over in a pan held by the end effector (stands for the
// paper's object flipping, a dynamic task).
//
// Scene (assets/pan_flip.xml): one Panda-class arm whose hand carries an 18 cm square pan
// on a handle (assets/panda/panda_pan.xml, generated with scripts/prefix_arm.py from
// panda.xml and assets/panda/pan_tool.xml), and a two-coloured flat block (the "disc":
// 6 x 6 x 1.2 cm, 50 g) lying in the pan at a random offset from its centre
// (+-`object_xy_range` in the pan's plane). The policy commands feedforward wrenches in the end-effector frame at 10 Hz
// (control: wrench, envs/arm_env.h): the impedance controller softly holds the start
// pose and the policy's force and torque are added on top, as the paper does for dynamic
// tasks. It must toss the disc so that it turns over and lands back in the pan.
// Success (terminates) = the disc upside down (its axis within 35 deg of straight down),
// resting in the pan (1 cm inside the rim, within 2.5 cm of the pan's surface, speed below
// 0.15 m/s). A disc that leaves the pan and falls below it ends the episode as a failure.
//
// State observations add "disc_pos" (disc centre relative to the pan centre, pan frame,
// m), "disc_up" (the disc's axis in the pan frame: +z = right side up) and "disc_vel"
// (linear velocity relative to the pan, world frame, m/s).
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "envs/arm_env.h"
#include "envs/task_util.h"
#include "envs/tasks.h"
#include "sim/model.h"

namespace hilserl {
namespace {

struct PanFlipOptions {
  ArmEnvOptions arm;
  std::vector<double> object_xy = {0.0, 0.0};  // m, nominal start in the pan frame
  double object_xy_range = 0.015;  // m, +- in the pan's plane

  PanFlipOptions() {
    arm.model = "assets/pan_flip.xml";
    arm.control = "wrench";
    arm.cameras = {"front", "side"};
    arm.arm.gripper = false;
    arm.arm.gripper_hold = 1.0;
  }
  void Load(ConfigNode& node) {
    node.GetFixed("object_xy", 2, &object_xy);
    node.Get("object_xy_range", &object_xy_range);
    arm.Load(node);
    if (!arm.wrench()) throw InvalidArgument("pan_flip: 'control' must be 'wrench' (a dynamic task)");
    if (!(object_xy_range >= 0)) throw InvalidArgument("pan_flip: 'object_xy_range' must be >= 0");
    if (arm.arm.gripper) throw InvalidArgument("pan_flip: the pan is fixed to the hand; set 'gripper: false'");
  }
};

class PanFlip final : public ArmSimEnv {
 public:
  explicit PanFlip(const PanFlipOptions& o) : ArmSimEnv(o.arm), task_(o) {
    const mjModel* m = model();
    disc_ = FreeBody(m, "disc_joint", "disc");
    pan_site_ = sim::SiteId(m, "pan_center");
    const int disc = sim::GeomId(m, "disc_geom");
    disc_half_height_ = m->geom_size[3 * disc + 2];
    const int pan = sim::GeomId(m, "pan_geom");
    pan_half_ = m->geom_size[3 * pan];
    if (!options().pixels()) {
      auto& spec = mutable_observation_spec();
      spec.proprio.push_back(UnboundedProprio("disc_pos", {"x", "y", "z"}));
      spec.proprio.push_back(UnboundedProprio("disc_up", {"x", "y", "z"}));
      spec.proprio.push_back(UnboundedProprio("disc_vel", {"vx", "vy", "vz"}));
    }
  }
  std::string name() const override { return "pan_flip"; }

 private:
  // The pan frame: origin at the centre of its cooking surface, z = the surface normal
  // (up when the pan is level).
  Pose PanFrame() const {
    const mjtNum* p = data()->site_xpos + 3 * pan_site_;
    const mjtNum* r = data()->site_xmat + 9 * pan_site_;
    Eigen::Matrix3d rot;
    rot << r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8];
    return Pose(Eigen::Vector3d(p[0], p[1], p[2]), Eigen::Quaterniond(rot).normalized());
  }

  void ResetTask(Rng& rng) override {
    rng_offset_ = Eigen::Vector2d(task_.object_xy[0], task_.object_xy[1]);
    const double r = task_.object_xy_range;
    if (r > 0) rng_offset_ += Eigen::Vector2d(rng.Uniform(-r, r), rng.Uniform(-r, r));
    disc_.SetPose(data(), Pose(Eigen::Vector3d(0.0, 0.8, disc_half_height_), Eigen::Quaterniond::Identity()));
  }

  void AfterArmsSettled(Rng&) override {
    // Put the disc in the pan (right side up) once the pan is where the episode starts.
    const Pose pan = PanFrame();
    const Eigen::Vector3d local(rng_offset_.x(), rng_offset_.y(), disc_half_height_ + 0.001);
    disc_.SetPose(data(), Pose(pan * local, pan.rotation));
    mj_forward(model(), data());
    Settle(0.3);
  }

  struct DiscState {
    Eigen::Vector3d pos;  // pan frame
    Eigen::Vector3d up;   // disc axis in the pan frame
    Eigen::Vector3d rel_vel;  // world frame, relative to the pan site
  };
  DiscState Disc() const {
    const Pose pan = PanFrame();
    const Pose d = disc_.GetPose(data());
    DiscState s;
    s.pos = pan.Inverse() * d.translation;
    s.up = pan.rotation.conjugate() * (d.rotation * Eigen::Vector3d::UnitZ());
    mjtNum v[6];
    mj_objectVelocity(model(), data(), mjOBJ_SITE, pan_site_, v, 0);
    s.rel_vel = disc_.Velocity(model(), data()).head<3>() - Eigen::Vector3d(v[3], v[4], v[5]);
    return s;
  }

  void AddTaskObservation(Observation* obs) const override {
    if (options().pixels()) return;
    const DiscState s = Disc();
    obs->proprio["disc_pos"] = ToFloat(s.pos);
    obs->proprio["disc_up"] = ToFloat(s.up);
    obs->proprio["disc_vel"] = ToFloat(s.rel_vel);
  }

  void AddTaskState(StateMap* st) const override {
    const DiscState s = Disc();
    (*st)["disc_pos"] = ToStd(s.pos);
    (*st)["disc_up"] = ToStd(s.up);
    (*st)["disc_vel"] = ToStd(s.rel_vel);
    (*st)["pan_half_width"] = {pan_half_};
    const Pose pan = PanFrame();
    (*st)["disc_world_pos"] = ToStd(disc_.GetPose(data()).translation);
    (*st)["disc_world_vel"] = ToStd(disc_.Velocity(model(), data()).head<3>());
    (*st)["pan_pos"] = ToStd(pan.translation);
    (*st)["pan_quat"] = {pan.rotation.w(), pan.rotation.x(), pan.rotation.y(), pan.rotation.z()};
  }

  Outcome Evaluate() override {
    const DiscState s = Disc();
    const bool in_pan = std::abs(s.pos.x()) < pan_half_ - 0.01 && std::abs(s.pos.y()) < pan_half_ - 0.01 &&
                        s.pos.z() < 0.025 && s.pos.z() > -0.01;
    Outcome out;
    out.success = in_pan && s.up.z() < -std::cos(0.61) && s.rel_vel.norm() < 0.15;
    out.failed = !out.success && s.pos.z() < -0.05;  // fell out of the pan
    out.reward = out.success ? 1.0 : 0.0;
    return out;
  }

  PanFlipOptions task_;
  FreeBody disc_;
  int pan_site_ = -1;
  double disc_half_height_ = 0.006, pan_half_ = 0.09;
  Eigen::Vector2d rng_offset_ = Eigen::Vector2d::Zero();
};

// ---- scripted expert: one hard toss (up and pitching the far edge up) when the block
// rests right side up in a still, level pan back at the arm's hold; a pan that is not
// yet there is levelled and damped while the hold brings it back; otherwise a catch: level the pan again (PD
// on its tilt) and move it under the block's predicted landing point at the height the
// arm holds (the arm's soft impedance hold does most of the levelling). Both are
// functions of the current state, so a block that lands right side up again is simply
// tossed again, and the expert can take over at any moment. The toss itself is open
// loop, as the paper's policies for dynamic tasks end up.
struct PanFlipExpertOptions {
  double toss_force = 80.0;    // N, up
  double toss_force_x = 0.0;   // N along the handle (world x at the start), away from the hand
  double toss_torque = 12.0;   // N m, pitching the pan's far edge up
  double level_kp = 40.0;      // N m per rad of pan tilt while catching
  double level_kd = 3.0;       // N m s / rad
  double catch_kp = 300.0;     // N per m between the pan centre and the landing point
  double catch_kd = 30.0;      // N s / m
  double catch_height = 0.0;   // m, pan height while catching, relative to the held height
  double action_noise = 0.0;   // N (std), on the forces

  void Load(ConfigNode& node) {
    node.Get("toss_force", &toss_force);
    node.Get("toss_force_x", &toss_force_x);
    node.Get("toss_torque", &toss_torque);
    node.Get("level_kp", &level_kp);
    node.Get("level_kd", &level_kd);
    node.Get("catch_kp", &catch_kp);
    node.Get("catch_kd", &catch_kd);
    node.Get("catch_height", &catch_height);
    node.Get("action_noise", &action_noise);
    node.CheckNoUnknownKeys();
    for (double v : {toss_force, toss_force_x, toss_torque, level_kp, level_kd, catch_kp, catch_kd, catch_height,
                     action_noise}) {
      if (!std::isfinite(v)) throw InvalidArgument("pan_flip expert: every value must be finite");
    }
    if (!(action_noise >= 0)) throw InvalidArgument("pan_flip expert: 'action_noise' must be >= 0");
  }
};

class PanFlipExpert final : public ScriptedExpert {
 public:
  explicit PanFlipExpert(const PanFlipExpertOptions& o) : o_(o) {}
  void Reset(uint64_t seed) override { rng_.Seed(seed ^ 0xf11bf11bULL); }
  Action Act(const StateMap& s, const VectorSpace& space) override {
    const char* who = "pan_flip expert";
    const Pose tcp = TcpPoseFromState(s);
    const Eigen::Vector3d pan = Vec3(StateValue(s, "pan_pos", who));
    const auto& pq = StateValue(s, "pan_quat", who);
    const Eigen::Quaterniond pan_rot(pq[0], pq[1], pq[2], pq[3]);
    const auto& v = StateValue(s, "tcp_vel", who);  // [linear; angular], world
    const Eigen::Vector3d lin(v[0], v[1], v[2]), ang(v[3], v[4], v[5]);
    const Eigen::Vector3d disc = Vec3(StateValue(s, "disc_world_pos", who));
    const Eigen::Vector3d disc_vel = Vec3(StateValue(s, "disc_world_vel", who));
    const Eigen::Vector3d in_pan = Vec3(StateValue(s, "disc_pos", who));
    const Eigen::Vector3d up = Vec3(StateValue(s, "disc_up", who));
    const Eigen::Vector3d rel_vel = Vec3(StateValue(s, "disc_vel", who));
    const Eigen::Vector3d hold = Vec3(StateValue(s, "hold_pos", who));
    const double hold_z = hold.z();
    const Eigen::Vector3d n = pan_rot * Eigen::Vector3d::UnitZ();

    // What a person sees: is the block resting on the pan's surface (right side up), or in
    // the air / sliding? Is the pan still, level and back where the arm holds it?
    const bool resting = in_pan.z() < 0.015 && rel_vel.norm() < 0.1 && up.z() > 0.9;
    const bool settled = n.z() > 0.98 && lin.norm() < 0.1 && ang.norm() < 0.5 && (tcp.translation - hold).norm() < 0.02;
    Eigen::Vector3d force_w = Eigen::Vector3d::Zero(), torque_w = Eigen::Vector3d::Zero();
    const Eigen::Vector3d pan_x = pan_rot * Eigen::Vector3d::UnitX();
    if (resting && settled) {
      // Toss: up, and turn about the axis that lifts the pan's far edge (the handle runs
      // along the pan frame's x axis from the hand).
      force_w = Eigen::Vector3d(0, 0, o_.toss_force) + o_.toss_force_x * pan_x;
      torque_w = -o_.toss_torque * (pan_rot * Eigen::Vector3d::UnitY());
    } else if (resting) {
      // Let the pan settle: level it and let the arm's hold bring it back, damped.
      torque_w = o_.level_kp * n.cross(Eigen::Vector3d::UnitZ()) - o_.level_kd * ang;
      force_w = -o_.catch_kd * lin;
      force_w.z() = 0.0;
    } else {
      // Catch: level the pan (rotate its normal back to world up) and move it under the
      // point where the block comes down to the pan's height.
      torque_w = o_.level_kp * n.cross(Eigen::Vector3d::UnitZ()) - o_.level_kd * ang;
      const double dz = disc.z() - pan.z();
      const double vz = disc_vel.z();
      const double t_land = std::max(0.0, (vz + std::sqrt(std::max(0.0, vz * vz + 2 * 9.81 * std::max(0.0, dz)))) / 9.81);
      Eigen::Vector3d target = disc + disc_vel * t_land;
      target.z() = hold_z + o_.catch_height;
      force_w = o_.catch_kp * (target - pan) - o_.catch_kd * lin;
      force_w.z() = 0.0;  // the impedance hold keeps the height
    }
    if (o_.action_noise > 0) {
      for (int i = 0; i < 3; ++i) force_w[i] += o_.action_noise * rng_.Normal();
    }
    const Eigen::Quaterniond to_tcp = tcp.rotation.conjugate();
    Action a(space.size(), 0.0f);
    SetWrenchAction(space, "", to_tcp * force_w, to_tcp * torque_w, &a);
    return space.Clip(a);
  }

 private:
  PanFlipExpertOptions o_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<Env> MakePanFlip(ConfigNode& env_config) {
  PanFlipOptions o;
  o.Load(env_config);
  return std::make_unique<PanFlip>(o);
}

std::unique_ptr<ScriptedExpert> MakePanFlipExpert(ConfigNode& expert_config) {
  PanFlipExpertOptions o;
  o.Load(expert_config);
  return std::make_unique<PanFlipExpert>(o);
}

}  // namespace hilserl
