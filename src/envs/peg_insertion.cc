// peg_insertion: precise insertion of a pregrasped part (stands for the paper's RAM
// insertion).
//
// Scene (assets/peg_insertion.xml): a 5 x 2 x 6 cm rectangular peg held between the
// fingertip pads, and a fixture with a 5.3 x 2.3 cm slot, 3 cm deep (1.5 mm clearance per
// side) at `slot_pos`. Each episode starts with the peg already grasped a few centimetres
// above the slot, the gripper pose randomised over `start_xy_noise` (uniform in x and y)
// and `start_yaw_noise` (about z). The gripper stays closed (no gripper action); the
// policy moves the gripper in x, y, z and yaw. The peg is held by friction only: pushing
// it hard against the slot's rim rotates it in the grasp, and a part tilted more than
// `tilt_limit` (or dropped) ends the episode as a failure, like a real part that needs a
// reset. Success (terminates) = the peg's bottom within `insert_tolerance` of the slot
// floor, i.e. fully inserted.
//
// State observations add "peg_offset" [dx dy dz] (peg bottom centre minus the slot's top
// centre, m) and "peg_yaw" [yaw of the peg relative to the slot, rad]; pixel observations
// see the wrist and side cameras instead.
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "envs/arm_env.h"
#include "envs/task_util.h"
#include "envs/tasks.h"
#include "sim/model.h"

namespace hilserl {
namespace {

struct PegInsertionOptions {
  ArmEnvOptions arm;
  std::vector<double> slot_pos = {0.45, 0.0};  // m, centre of the slot (world x, y)
  double insert_tolerance = 0.004;             // m
  double tilt_limit = 0.3;                     // rad between peg and gripper axes
  std::string reward = "sparse";               // sparse or dense

  PegInsertionOptions() {
    arm.model = "assets/peg_insertion.xml";
    arm.enable_rotation = true;
    arm.rotation_axes = "z";
    arm.max_step_translation = 0.01;
    arm.max_step_rotation = 0.05;
    arm.start_xy_noise = 0.02;
    arm.start_yaw_noise = 0.05;
    arm.arm.gripper = false;
    arm.arm.gripper_hold = 0.0;
    arm.arm.safety_low = {0.35, -0.1, 0.035};
    arm.arm.safety_high = {0.55, 0.1, 0.2};
    arm.arm.start_offset = {0.14, 0.0, -0.38};
  }
  void Load(ConfigNode& node) {
    node.GetFixed("slot_pos", 2, &slot_pos);
    node.Get("insert_tolerance", &insert_tolerance);
    node.Get("tilt_limit", &tilt_limit);
    node.Get("reward", &reward);
    arm.Load(node);
    if (!(insert_tolerance > 0) || !(tilt_limit > 0)) {
      throw InvalidArgument("peg_insertion: 'insert_tolerance' and 'tilt_limit' must be > 0");
    }
    if (reward != "sparse" && reward != "dense") {
      throw InvalidArgument(fmt::format("peg_insertion: 'reward' must be 'sparse' or 'dense', got '{}'", reward));
    }
    if (arm.arm.gripper) throw InvalidArgument("peg_insertion: the part starts pregrasped; set 'gripper: false'");
  }
};

class PegInsertion final : public ArmSimEnv {
 public:
  explicit PegInsertion(const PegInsertionOptions& o) : ArmSimEnv(o.arm), task_(o) {
    const mjModel* m = model();
    peg_ = FreeBody(m, "peg_joint", "peg");
    const int geom = sim::GeomId(m, "peg_geom");
    peg_half_height_ = m->geom_size[3 * geom + 2];
    peg_half_width_ = m->geom_size[3 * geom + 1];
    const int wall = sim::GeomId(m, "slot_wall_px");
    slot_top_ = m->geom_size[3 * wall + 2] * 2.0;  // walls stand on the table (z = 0)
    if (!options().pixels()) {
      mutable_observation_spec().proprio.push_back(UnboundedProprio("peg_offset", {"dx", "dy", "dz"}));
      mutable_observation_spec().proprio.push_back(UnboundedProprio("peg_yaw", {"yaw"}));
    }
  }
  std::string name() const override { return "peg_insertion"; }

 private:
  void ResetTask(Rng&) override {
    // The fixture is static; the peg is placed in the gripper once the arm has settled.
    peg_.SetPose(data(), Pose(Eigen::Vector3d(0.0, 0.6, peg_half_height_), Eigen::Quaterniond::Identity()));
  }

  void AfterArmsSettled(Rng&) override {
    // Pregrasp: the peg's top 1 cm above the pad centres (the tcp), aligned with the
    // gripper; fingers set to its width, then closed on it.
    // The fingers close along the tcp's y axis, across the peg's 2 cm width (its y axis).
    const Pose tcp = arm().TcpPose(data());
    const Eigen::Vector3d finger_axis = tcp.rotation * Eigen::Vector3d::UnitY();
    const double yaw = std::atan2(finger_axis.y(), finger_axis.x()) - M_PI / 2;
    Pose p(tcp.translation - Eigen::Vector3d(0, 0, peg_half_height_ - 0.01), YawRotation(yaw));
    peg_.SetPose(data(), p);
    SetGripperNow(0, std::min(1.0, (2 * peg_half_width_ - 0.003) / 0.08 + 0.02));
    CommandGripper(0, 0.0);
    mj_forward(model(), data());
    Settle(0.3);
  }

  Eigen::Vector3d PegBottom() const {
    const Pose p = peg_.GetPose(data());
    return p * Eigen::Vector3d(0, 0, -peg_half_height_);
  }
  Eigen::Vector3d SlotTop() const { return Eigen::Vector3d(task_.slot_pos[0], task_.slot_pos[1], slot_top_); }
  // The peg's yaw relative to the slot (long axes along world x), in (-pi/2, pi/2]: the
  // peg is symmetric under a half turn.
  double PegYaw() const { return 0.5 * AngleDiff(2.0 * Yaw(peg_.GetPose(data()).rotation), 0.0); }
  // Angle between the peg's long axis and the gripper's approach axis (0 when held straight).
  double Tilt() const {
    const Eigen::Vector3d peg_z = peg_.GetPose(data()).rotation * Eigen::Vector3d::UnitZ();
    const Eigen::Vector3d tcp_z = arm().TcpPose(data()).rotation * Eigen::Vector3d::UnitZ();
    return std::acos(std::clamp(-peg_z.dot(tcp_z), -1.0, 1.0));
  }

  void AddTaskObservation(Observation* obs) const override {
    if (options().pixels()) return;
    obs->proprio["peg_offset"] = ToFloat(PegBottom() - SlotTop());
    obs->proprio["peg_yaw"] = {static_cast<float>(PegYaw())};
  }

  void AddTaskState(StateMap* s) const override {
    (*s)["peg_bottom"] = ToStd(PegBottom());
    (*s)["peg_yaw"] = {PegYaw()};
    (*s)["slot_top"] = ToStd(SlotTop());
    (*s)["peg_tilt"] = {Tilt()};
  }

  Outcome Evaluate() override {
    const Eigen::Vector3d bottom = PegBottom();
    Outcome out;
    out.success = bottom.z() < task_.insert_tolerance &&
                  (bottom.head<2>() - SlotTop().head<2>()).norm() < 0.01;
    const double held = (peg_.GetPose(data()).translation - arm().TcpPose(data()).translation).norm();
    out.failed = !out.success && (Tilt() > task_.tilt_limit || held > 0.06);
    if (task_.reward == "sparse") {
      out.reward = out.success ? 1.0 : 0.0;
    } else {
      const double d = (bottom - Eigen::Vector3d(SlotTop().x(), SlotTop().y(), 0.0)).norm();
      out.reward = out.success ? 1.0 : 0.5 * std::exp(-30.0 * d);
    }
    return out;
  }

  PegInsertionOptions task_;
  FreeBody peg_;
  double peg_half_height_ = 0.03, peg_half_width_ = 0.01, slot_top_ = 0.03;
};

// ---- scripted expert: align over the slot (position and yaw), descend slowly with small
// corrections, back off and realign when stuck.
struct PegExpertOptions {
  double gain = 0.6;
  double hover = 0.012;            // m above the slot before descending
  double align_tolerance = 0.0012; // m
  double yaw_tolerance = 0.01;     // rad
  double descend_step = 0.006;     // m per step while inserting
  double action_noise = 0.0;       // m (std)

  void Load(ConfigNode& node) {
    node.Get("gain", &gain);
    node.Get("hover", &hover);
    node.Get("align_tolerance", &align_tolerance);
    node.Get("yaw_tolerance", &yaw_tolerance);
    node.Get("descend_step", &descend_step);
    node.Get("action_noise", &action_noise);
    node.CheckNoUnknownKeys();
    if (!(gain > 0 && gain <= 1)) throw InvalidArgument("peg_insertion expert: 'gain' must be in (0, 1]");
  }
};

// A state-feedback controller: the action is a function of the current peg and slot
// poses and the tcp's velocity only, so it can take over at any point of an insertion.
class PegExpert final : public ScriptedExpert {
 public:
  explicit PegExpert(const PegExpertOptions& o) : o_(o) {}
  void Reset(uint64_t seed) override { rng_.Seed(seed ^ 0x9e6e6e6eULL); }
  Action Act(const StateMap& s, const VectorSpace& space) override {
    const char* who = "peg_insertion expert";
    const Eigen::Vector3d bottom = Vec3(StateValue(s, "peg_bottom", who));
    const Eigen::Vector3d slot = Vec3(StateValue(s, "slot_top", who));
    const double yaw_err = -StateValue(s, "peg_yaw", who)[0];
    const double vz = StateValue(s, "tcp_vel", who)[2];
    const Eigen::Vector2d xy_err = slot.head<2>() - bottom.head<2>();
    const bool aligned = xy_err.norm() < o_.align_tolerance && std::abs(yaw_err) < o_.yaw_tolerance;
    const bool inside = bottom.z() < slot.z() - 0.003;  // the peg is in the slot: it guides itself
    const bool clear = bottom.z() > slot.z() + 0.003;   // above the rim: free to move sideways
    // Resting on the rim although lined up (tilted or caught): lift a little, then retry.
    const bool stuck = !inside && !clear && std::abs(vz) < 0.002 && !aligned;
    Eigen::Vector3d delta;
    delta.head<2>() = o_.gain * xy_err;
    if (inside || aligned) {
      delta.z() = -o_.descend_step;
    } else if (clear && xy_err.norm() < 4 * o_.align_tolerance) {
      delta.z() = 0.0;  // almost lined up above the rim: finish aligning where it is
    } else {
      delta.z() = o_.gain * (slot.z() + o_.hover - bottom.z());  // back to the hover height
      if (stuck) delta.z() = std::max(delta.z(), 0.004);
    }
    if (o_.action_noise > 0) {
      for (int i = 0; i < 3; ++i) delta[i] += o_.action_noise * rng_.Normal();
    }
    Action a(space.size(), 0.0f);
    SetArmAction(space, "", delta, Eigen::Vector3d(0, 0, o_.gain * yaw_err), 0.0f, &a);
    return space.Clip(a);
  }

 private:
  PegExpertOptions o_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<Env> MakePegInsertion(ConfigNode& env_config) {
  PegInsertionOptions o;
  o.Load(env_config);
  return std::make_unique<PegInsertion>(o);
}

std::unique_ptr<ScriptedExpert> MakePegInsertionExpert(ConfigNode& expert_config) {
  PegExpertOptions o;
  o.Load(expert_config);
  return std::make_unique<PegExpert>(o);
}

}  // namespace hilserl
