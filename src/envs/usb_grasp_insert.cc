// usb_grasp_insert: grasp a small connector lying free on the table and insert its plug
// into a port (stands for the paper's USB grasp-insertion).
//
// Scene (assets/usb_grasp_insert.xml): a connector (3 x 1.6 x 1.2 cm housing with a
// 1.2 x 1.2 x 0.45 cm plug sticking out along its +x axis) and a wall whose port opening
// (1.4 x 0.65 cm, 1 mm clearance) faces the robot. Each episode the connector lies at a
// random place in a `connector_xy_range` square (2 x 2 cm by default) with a random yaw
// (+-`connector_yaw_range`, 10 deg range). The policy moves the gripper in x, y, z and yaw
// and opens/closes it (grasp critic, gripper penalty); it must grasp the housing, carry
// the plug to the port, line it up and push it in, and let go and grasp again when the
// grasp is poor. Success (terminates) = the plug at least `insert_depth` into the port.
// A connector knocked off the table ends the episode as a failure.
//
// State observations add "usb_pos" [x y z] (housing centre), "usb_yaw" [rad],
// "usb_offset" (housing centre minus tcp, m) and "plug_to_port" (port entry minus plug
// tip, m).
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "envs/arm_env.h"
#include "envs/task_util.h"
#include "envs/tasks.h"
#include "sim/model.h"

namespace hilserl {
namespace {

struct UsbOptions {
  ArmEnvOptions arm;
  std::vector<double> connector_xy = {0.40, 0.0};  // m, nominal housing centre
  double connector_xy_range = 0.01;                // m, +- around it (2 x 2 cm)
  double connector_yaw_range = 0.087;              // rad, +- (10 deg range)
  double insert_depth = 0.009;                     // m of plug inside the port for success
  std::string reward = "sparse";

  UsbOptions() {
    arm.model = "assets/usb_grasp_insert.xml";
    arm.enable_rotation = true;
    arm.rotation_axes = "z";
    arm.max_step_translation = 0.02;
    arm.max_step_rotation = 0.1;
    arm.arm.safety_low = {0.33, -0.12, 0.0115};
    arm.arm.safety_high = {0.505, 0.12, 0.15};
    arm.arm.start_offset = {0.09, 0.0, -0.38};
  }
  void Load(ConfigNode& node) {
    node.GetFixed("connector_xy", 2, &connector_xy);
    node.Get("connector_xy_range", &connector_xy_range);
    node.Get("connector_yaw_range", &connector_yaw_range);
    node.Get("insert_depth", &insert_depth);
    node.Get("reward", &reward);
    arm.Load(node);
    if (!(connector_xy_range >= 0) || !(connector_yaw_range >= 0) || !(insert_depth > 0)) {
      throw InvalidArgument("usb_grasp_insert: ranges must be >= 0 and 'insert_depth' > 0");
    }
    if (reward != "sparse" && reward != "dense") {
      throw InvalidArgument(fmt::format("usb_grasp_insert: 'reward' must be 'sparse' or 'dense', got '{}'", reward));
    }
  }
};

class UsbGraspInsert final : public ArmSimEnv {
 public:
  explicit UsbGraspInsert(const UsbOptions& o) : ArmSimEnv(o.arm), task_(o) {
    const mjModel* m = model();
    usb_ = FreeBody(m, "usb_joint", "usb");
    const int housing = sim::GeomId(m, "usb_housing");
    const int plug = sim::GeomId(m, "usb_plug");
    housing_half_height_ = m->geom_size[3 * housing + 2];
    plug_tip_ = m->geom_pos[3 * plug] + m->geom_size[3 * plug];  // along the body's x axis
    const int port = sim::SiteId(m, "port");
    mj_forward(m, data());  // the wall is static: its site's world position never changes
    port_ = Eigen::Vector3d(data()->site_xpos[3 * port], data()->site_xpos[3 * port + 1], data()->site_xpos[3 * port + 2]);
    if (!options().pixels()) {
      auto& spec = mutable_observation_spec();
      spec.proprio.push_back(UnboundedProprio("usb_pos", {"x", "y", "z"}));
      spec.proprio.push_back(UnboundedProprio("usb_yaw", {"yaw"}));
      spec.proprio.push_back(UnboundedProprio("usb_offset", {"dx", "dy", "dz"}));
      spec.proprio.push_back(UnboundedProprio("plug_to_port", {"dx", "dy", "dz"}));
    }
  }
  std::string name() const override { return "usb_grasp_insert"; }

 private:
  void ResetTask(Rng& rng) override {
    const double r = task_.connector_xy_range, yr = task_.connector_yaw_range;
    const double x = task_.connector_xy[0] + (r > 0 ? rng.Uniform(-r, r) : 0.0);
    const double y = task_.connector_xy[1] + (r > 0 ? rng.Uniform(-r, r) : 0.0);
    const double yaw = yr > 0 ? rng.Uniform(-yr, yr) : 0.0;
    usb_.SetPose(data(), Pose(Eigen::Vector3d(x, y, housing_half_height_ + 1e-4), YawRotation(yaw)));
  }

  bool MoveTaskObject(Rng& rng) override {
    if (Usb().translation.z() > housing_half_height_ + 0.005) return false;  // held: leave it
    ResetTask(rng);
    return true;
  }

  Pose Usb() const { return usb_.GetPose(data()); }
  Eigen::Vector3d PlugTip() const { return Usb() * Eigen::Vector3d(plug_tip_, 0, 0); }
  double UsbYaw() const { return Yaw(Usb().rotation); }

  void AddTaskObservation(Observation* obs) const override {
    if (options().pixels()) return;
    const Pose u = Usb();
    obs->proprio["usb_pos"] = ToFloat(u.translation);
    obs->proprio["usb_yaw"] = {static_cast<float>(UsbYaw())};
    obs->proprio["usb_offset"] = ToFloat(u.translation - arm().TcpPose(data()).translation);
    obs->proprio["plug_to_port"] = ToFloat(port_ - PlugTip());
  }

  void AddTaskState(StateMap* s) const override {
    const Pose u = Usb();
    (*s)["usb_pos"] = ToStd(u.translation);
    (*s)["usb_yaw"] = {UsbYaw()};
    (*s)["plug_tip"] = ToStd(PlugTip());
    (*s)["port"] = ToStd(port_);
    (*s)["usb_rest_height"] = {housing_half_height_};
  }

  Outcome Evaluate() override {
    const Eigen::Vector3d tip = PlugTip();
    const Eigen::Vector3d e = tip - port_;
    Outcome out;
    out.success = e.x() > task_.insert_depth && std::abs(e.y()) < 0.004 && std::abs(e.z()) < 0.004;
    out.failed = !out.success && Usb().translation.z() < -0.01;  // fell off the table
    if (task_.reward == "sparse") {
      out.reward = out.success ? 1.0 : 0.0;
    } else {
      const double reach = (Usb().translation - arm().TcpPose(data()).translation).norm();
      out.reward = out.success ? 1.0 : 0.2 * std::exp(-20.0 * reach) + 0.3 * std::exp(-20.0 * (port_ - tip).norm());
    }
    return out;
  }

  UsbOptions task_;
  FreeBody usb_;
  double housing_half_height_ = 0.006, plug_tip_ = 0.027;
  Eigen::Vector3d port_ = Eigen::Vector3d::Zero();  // port entry centre (wall face), world
};

// ---- scripted expert ----
struct UsbExpertOptions {
  double gain = 0.7;
  double hover = 0.04;              // m above the housing before descending
  double grasp_height = 0.0125;     // tcp height when grasping (pads just clear the table)
  double align_tolerance = 0.0008;  // m, plug tip vs port before pushing
  double yaw_tolerance = 0.01;      // rad
  double insert_step = 0.004;       // m per step while pushing
  double standoff = 0.012;          // m in front of the port before pushing
  double action_noise = 0.0;

  void Load(ConfigNode& node) {
    node.Get("gain", &gain);
    node.Get("hover", &hover);
    node.Get("grasp_height", &grasp_height);
    node.Get("align_tolerance", &align_tolerance);
    node.Get("yaw_tolerance", &yaw_tolerance);
    node.Get("insert_step", &insert_step);
    node.Get("standoff", &standoff);
    node.Get("action_noise", &action_noise);
    node.CheckNoUnknownKeys();
    if (!(gain > 0 && gain <= 1)) throw InvalidArgument("usb_grasp_insert expert: 'gain' must be in (0, 1]");
  }
};

// A state-feedback controller: the action is a function of the current state only
// (gripper, connector and plug poses, whether the connector is held), so it can take
// over from wherever a policy left the robot: a poor grasp is let go and redone, a plug
// that drifted off the port's axis is backed out and lined up again.
class UsbExpert final : public ScriptedExpert {
 public:
  explicit UsbExpert(const UsbExpertOptions& o) : o_(o) {}
  void Reset(uint64_t seed) override { rng_.Seed(seed ^ 0x05b05b05ULL); }

  Action Act(const StateMap& s, const VectorSpace& space) override {
    const char* who = "usb_grasp_insert expert";
    const Pose tcp = TcpPoseFromState(s);
    const Eigen::Quaterniond home = HomeRotationFromState(s);
    const Eigen::Vector3d usb = Vec3(StateValue(s, "usb_pos", who));
    const double usb_yaw = StateValue(s, "usb_yaw", who)[0];
    const Eigen::Vector3d tip = Vec3(StateValue(s, "plug_tip", who));
    const Eigen::Vector3d port = Vec3(StateValue(s, "port", who));
    const double rest = StateValue(s, "usb_rest_height", who)[0];
    // The gripper's yaw relative to home (fingers across the housing when equal to usb_yaw).
    const double grip_yaw = AngleDiff(Yaw(tcp.rotation), Yaw(home));
    const Eigen::Vector3d p = tcp.translation;
    Eigen::Vector3d goal = p;
    double yaw_goal = grip_yaw;
    float grip = 0.0f;
    const double yaw_off = std::abs(AngleDiff(usb_yaw, grip_yaw));
    // Grasp quality: housing centred between the pads and turned with them.
    const Eigen::Vector3d in_grip = tcp.rotation.conjugate() * (usb - p);
    const bool centred = std::abs(in_grip.x()) < 0.012 && std::abs(in_grip.y()) < 0.012 &&
                         std::abs(in_grip.z()) < 0.012 && yaw_off < 0.15;
    const double xy = (p - usb).head<2>().norm();
    const bool on_table = usb.z() < rest + 0.004;
    const Eigen::Vector3d hover(usb.x(), usb.y(), usb.z() + o_.hover);
    // At the grasp pose: above the housing, turned with it, pads just clear of the table.
    const bool at_grasp = xy < 0.002 && yaw_off < 0.03 && std::abs(p.z() - o_.grasp_height) < 0.003;

    switch (ReadGrip(s, "", centred)) {
      case GripState::kHolding:
        grip = -1.0f;
        Carry(p, tip, port, usb_yaw, grip_yaw, &goal, &yaw_goal);
        break;
      case GripState::kClosing:  // hold still while the pads close; a closing on nothing is undone
        grip = centred ? -1.0f : 1.0f;
        break;
      case GripState::kClosedEmpty:  // a poor grasp or a dropped connector: open and rise
        grip = 1.0f;
        goal = Eigen::Vector3d(p.x(), p.y(), std::max(p.z(), hover.z()));
        break;
      case GripState::kOpening:  // let the pads open before moving near the housing
        grip = 1.0f;
        if (!(xy < 0.02 && p.z() < usb.z() + 0.02)) goal = Eigen::Vector3d(p.x(), p.y(), std::max(p.z(), hover.z()));
        break;
      case GripState::kOpen:
        grip = 1.0f;
        yaw_goal = usb_yaw;
        if (!on_table) {
          // Not lying on the table (e.g. resting against the wall): wait above it.
          goal = Eigen::Vector3d(p.x(), p.y(), std::max(p.z(), hover.z()));
        } else if (xy < 0.005 && yaw_off < 0.06) {
          goal = Eigen::Vector3d(usb.x(), usb.y(), o_.grasp_height);  // aligned: descend
          if (at_grasp) grip = -1.0f;
        } else if (p.z() < usb.z() + 0.02) {
          goal = Eigen::Vector3d(p.x(), p.y(), hover.z());  // low and misaligned: rise first
          if (xy > 0.01) yaw_goal = grip_yaw;
        } else {
          goal = hover;
        }
        break;
    }
    Eigen::Vector3d delta = o_.gain * (goal - p);
    if (o_.action_noise > 0) {
      for (int i = 0; i < 3; ++i) delta[i] += o_.action_noise * rng_.Normal();
    }
    Action a(space.size(), 0.0f);
    SetArmAction(space, "", delta, Eigen::Vector3d(0, 0, o_.gain * AngleDiff(yaw_goal, grip_yaw)), grip, &a);
    return space.Clip(a);
  }

 private:
  // Connector held: bring the plug tip in front of the port at its height with the
  // connector straight, then push it in while keeping it on the port's axis.
  void Carry(const Eigen::Vector3d& p, const Eigen::Vector3d& tip, const Eigen::Vector3d& port, double usb_yaw,
             double grip_yaw, Eigen::Vector3d* goal, double* yaw_goal) const {
    *yaw_goal = grip_yaw - usb_yaw;  // turn the connector to yaw 0 (the port's axis)
    const Eigen::Vector3d err = port - tip;
    const double off_axis = std::max(std::abs(err.y()), std::abs(err.z()));
    const bool entered = tip.x() > port.x() + 0.001;
    const bool near_wall = tip.x() > port.x() - o_.standoff - 0.003;
    if (entered || (near_wall && off_axis < o_.align_tolerance && std::abs(usb_yaw) < 2 * o_.yaw_tolerance)) {
      *goal = p + Eigen::Vector3d(o_.insert_step / o_.gain, err.y(), err.z());  // push, staying on the axis
      return;
    }
    if (near_wall && off_axis < 0.003) {
      *goal = p + Eigen::Vector3d(0, err.y(), err.z());  // close: line up without moving in
      return;
    }
    const Eigen::Vector3d pre = port - Eigen::Vector3d(o_.standoff, 0, 0);
    *goal = p + (pre - tip);
    if (p.z() < 0.04 && (pre - tip).head<2>().norm() > 0.02) goal->head<2>() = p.head<2>();  // lift first
  }

  UsbExpertOptions o_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<Env> MakeUsbGraspInsert(ConfigNode& env_config) {
  UsbOptions o;
  o.Load(env_config);
  return std::make_unique<UsbGraspInsert>(o);
}

std::unique_ptr<ScriptedExpert> MakeUsbGraspInsertExpert(ConfigNode& expert_config) {
  UsbExpertOptions o;
  o.Load(expert_config);
  return std::make_unique<UsbExpert>(o);
}

}  // namespace hilserl
