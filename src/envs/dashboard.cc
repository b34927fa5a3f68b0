// dashboard: two arms lift one workpiece together, turn it and seat it on several pins at
// once (stands for the paper's car dashboard assembly).
//
// Scene (assets/dashboard.xml): two Panda-class arms side by side ("left", "right"), a
// 40 cm panel with a handle at each end and three holes, lying on the table at a random
// place (+-`panel_xy_range`) and turned by a random yaw (+-`panel_yaw_range`), and a
// fixture with three pins. Each arm must grasp its handle; together they lift the panel,
// turn it square to the fixture, carry it over the pins and lower it until it sits on the
// fixture with every pin through its hole. Action: per arm x, y, z and yaw, then the two
// grippers (9-way grasp critic). Success (terminates) = the panel's bottom within
// `seat_tolerance` of the fixture's top, yaw within 0.03 rad and centre within 5 mm of the
// seated pose. A panel knocked off the table ends the episode as a failure.
//
// State observations add "panel_pos" [x y z] (centre of the bottom face), "panel_yaw"
// [rad], "panel_to_seat" (seated pose minus panel position, m) and per arm the offset of
// its handle from its tcp ("left_handle_offset", "right_handle_offset", m).
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "envs/arm_env.h"
#include "envs/task_util.h"
#include "envs/tasks.h"
#include "sim/model.h"

namespace hilserl {
namespace {

struct DashboardOptions {
  ArmEnvOptions arm;
  std::vector<double> panel_xy = {0.33, 0.0};  // m, nominal start of the panel centre
  double panel_xy_range = 0.02;                // m, +-
  double panel_yaw_range = 0.25;               // rad, +- (the panel must be turned to 0)
  double seat_tolerance = 0.004;               // m

  DashboardOptions() {
    arm.model = "assets/dashboard.xml";
    arm.arms = {"left", "right"};
    arm.cameras = {"front", "left_wrist", "right_wrist"};
    arm.enable_rotation = true;
    arm.rotation_axes = "z";
  }
  void Load(ConfigNode& node) {
    node.GetFixed("panel_xy", 2, &panel_xy);
    node.Get("panel_xy_range", &panel_xy_range);
    node.Get("panel_yaw_range", &panel_yaw_range);
    node.Get("seat_tolerance", &seat_tolerance);
    arm.Load(node);
    if (arm.arms != std::vector<std::string>{"left", "right"}) {
      throw InvalidArgument("dashboard: 'arms' must be [left, right] (the scene's arm prefixes)");
    }
    if (!(panel_xy_range >= 0) || !(panel_yaw_range >= 0) || !(seat_tolerance > 0)) {
      throw InvalidArgument("dashboard: ranges must be >= 0 and 'seat_tolerance' > 0");
    }
  }
};

class Dashboard final : public ArmSimEnv {
 public:
  explicit Dashboard(const DashboardOptions& o) : ArmSimEnv(o.arm), task_(o) {
    const mjModel* m = model();
    panel_ = FreeBody(m, "panel_joint", "panel");
    const int handle = sim::GeomId(m, "panel_handle_left");
    handle_ = Eigen::Vector3d(m->geom_pos[3 * handle], m->geom_pos[3 * handle + 1], m->geom_pos[3 * handle + 2]);
    const int fixture = sim::BodyId(m, "fixture");
    seat_ = Eigen::Vector3d(m->body_pos[3 * fixture], m->body_pos[3 * fixture + 1], m->body_pos[3 * fixture + 2]);
    if (!options().pixels()) {
      auto& spec = mutable_observation_spec();
      spec.proprio.push_back(UnboundedProprio("panel_pos", {"x", "y", "z"}));
      spec.proprio.push_back(UnboundedProprio("panel_yaw", {"yaw"}));
      spec.proprio.push_back(UnboundedProprio("panel_to_seat", {"dx", "dy", "dz"}));
      spec.proprio.push_back(UnboundedProprio("left_handle_offset", {"dx", "dy", "dz"}));
      spec.proprio.push_back(UnboundedProprio("right_handle_offset", {"dx", "dy", "dz"}));
    }
  }
  std::string name() const override { return "dashboard"; }

 private:
  void ResetTask(Rng& rng) override {
    const double r = task_.panel_xy_range, yr = task_.panel_yaw_range;
    const double x = task_.panel_xy[0] + (r > 0 ? rng.Uniform(-r, r) : 0.0);
    const double y = task_.panel_xy[1] + (r > 0 ? rng.Uniform(-r, r) : 0.0);
    const double yaw = yr > 0 ? rng.Uniform(-yr, yr) : 0.0;
    panel_.SetPose(data(), Pose(Eigen::Vector3d(x, y, 1e-4), YawRotation(yaw)));
  }

  bool MoveTaskObject(Rng& rng) override {
    if (Panel().translation.z() > 0.005) return false;  // lifted: leave it
    ResetTask(rng);
    return true;
  }

  Pose Panel() const { return panel_.GetPose(data()); }
  Eigen::Vector3d Handle(int arm_index) const {
    return Panel() * Eigen::Vector3d(handle_.x(), arm_index == 0 ? handle_.y() : -handle_.y(), handle_.z());
  }
  double PanelYaw() const { return Yaw(Panel().rotation); }

  void AddTaskObservation(Observation* obs) const override {
    if (options().pixels()) return;
    const Pose p = Panel();
    obs->proprio["panel_pos"] = ToFloat(p.translation);
    obs->proprio["panel_yaw"] = {static_cast<float>(PanelYaw())};
    obs->proprio["panel_to_seat"] = ToFloat(seat_ - p.translation);
    obs->proprio["left_handle_offset"] = ToFloat(Handle(0) - arm(0).TcpPose(data()).translation);
    obs->proprio["right_handle_offset"] = ToFloat(Handle(1) - arm(1).TcpPose(data()).translation);
  }

  void AddTaskState(StateMap* s) const override {
    const Pose p = Panel();
    (*s)["panel_pos"] = ToStd(p.translation);
    (*s)["panel_yaw"] = {PanelYaw()};
    (*s)["panel_handle"] = ToStd(handle_);
    (*s)["left_handle"] = ToStd(Handle(0));
    (*s)["right_handle"] = ToStd(Handle(1));
    (*s)["seat"] = ToStd(seat_);
  }

  Outcome Evaluate() override {
    const Pose p = Panel();
    Outcome out;
    const Eigen::Vector3d e = p.translation - seat_;
    out.success = e.z() < task_.seat_tolerance && e.head<2>().norm() < 0.005 && std::abs(PanelYaw()) < 0.03;
    out.failed = !out.success && p.translation.z() < -0.05;  // knocked off the table
    out.reward = out.success ? 1.0 : 0.0;
    return out;
  }

  DashboardOptions task_;
  FreeBody panel_;
  Eigen::Vector3d handle_ = Eigen::Vector3d(0, 0.17, 0.025);  // left handle, panel frame
  Eigen::Vector3d seat_ = Eigen::Vector3d(0.5, 0, 0.02);
};

// ---- scripted expert: grasp both handles, then move the panel along a planned pose path
// (lift, turn and carry over the pins, lower); each arm tracks its handle's place on it.
struct DashboardExpertOptions {
  double gain = 0.6;
  double hover = 0.05;         // m above the handles before descending
  double carry_height = 0.08;  // m above the seat while carrying
  double max_step = 0.02;      // m of panel motion per step
  double max_turn = 0.06;      // rad of panel turn per step
  double lower_step = 0.006;   // m per step onto the pins
  double action_noise = 0.0;

  void Load(ConfigNode& node) {
    node.Get("gain", &gain);
    node.Get("hover", &hover);
    node.Get("carry_height", &carry_height);
    node.Get("max_step", &max_step);
    node.Get("max_turn", &max_turn);
    node.Get("lower_step", &lower_step);
    node.Get("action_noise", &action_noise);
    node.CheckNoUnknownKeys();
    if (!(gain > 0 && gain <= 1)) throw InvalidArgument("dashboard expert: 'gain' must be in (0, 1]");
  }
};

// A state-feedback controller: what the arms do is decided by which handles are held and
// where the panel is now, so it can take over at any point. Each free arm reaches for its
// handle (turned with the panel); an arm holding a lifted panel alone lowers it back onto
// the table; with both handles held the panel is lifted, carried over the pins, turned
// square and lowered, backing up to realign when it drifts before the pins engage.
class DashboardExpert final : public ScriptedExpert {
 public:
  explicit DashboardExpert(const DashboardExpertOptions& o) : o_(o) {}
  void Reset(uint64_t seed) override { rng_.Seed(seed ^ 0xda5b0a4dULL); }

  Action Act(const StateMap& s, const VectorSpace& space) override {
    const char* who = "dashboard expert";
    const Pose tcp[2] = {TcpPoseFromState(s, "left_"), TcpPoseFromState(s, "right_")};
    const Eigen::Quaterniond home[2] = {HomeRotationFromState(s, "left_"), HomeRotationFromState(s, "right_")};
    const Eigen::Vector3d handle[2] = {Vec3(StateValue(s, "left_handle", who)), Vec3(StateValue(s, "right_handle", who))};
    const Eigen::Vector3d panel = Vec3(StateValue(s, "panel_pos", who));
    const double yaw = StateValue(s, "panel_yaw", who)[0];
    const Eigen::Vector3d local = Vec3(StateValue(s, "panel_handle", who));
    const Eigen::Vector3d seat = Vec3(StateValue(s, "seat", who));
    const char* prefix[2] = {"left_", "right_"};
    double grip_yaw[2];
    bool centred[2], holds[2];
    GripState state[2];
    for (int i = 0; i < 2; ++i) {
      grip_yaw[i] = AngleDiff(Yaw(tcp[i].rotation), Yaw(home[i]));
      centred[i] = (tcp[i].translation - handle[i]).norm() < 0.015;
      state[i] = ReadGrip(s, prefix[i], centred[i]);
      holds[i] = state[i] == GripState::kHolding;
    }

    Eigen::Vector3d goal[2] = {tcp[0].translation, tcp[1].translation};
    double yaw_goal[2] = {grip_yaw[0], grip_yaw[1]};
    float grip[2] = {-1.0f, -1.0f};
    // Where the arms' handles go when the panel moves to (target, target_yaw): the arms
    // hold on, so each tcp keeps its offset to its handle.
    auto track = [&](const Eigen::Vector3d& target, double target_yaw) {
      const Pose next(target, YawRotation(target_yaw));
      for (int i = 0; i < 2; ++i) {
        const Eigen::Vector3d h = next * Eigen::Vector3d(local.x(), i == 0 ? local.y() : -local.y(), local.z());
        goal[i] = tcp[i].translation + (h - handle[i]);
        yaw_goal[i] = grip_yaw[i] + AngleDiff(target_yaw, yaw);
      }
    };
    // One bounded step of the panel toward (target, target_yaw).
    auto toward = [&](const Eigen::Vector3d& target, double target_yaw) {
      Eigen::Vector3d d = target - panel;
      if (d.norm() > o_.max_step) d *= o_.max_step / d.norm();
      const double dy = std::clamp(AngleDiff(target_yaw, yaw), -o_.max_turn, o_.max_turn);
      track(panel + d / o_.gain, yaw + dy / o_.gain);
    };

    if (holds[0] && holds[1]) {
      const Eigen::Vector3d above(seat.x(), seat.y(), seat.z() + o_.carry_height);
      const double xy_err = (panel - seat).head<2>().norm();
      const bool engaged = xy_err < 0.004 && panel.z() < seat.z() + 0.028;  // the pins are in the holes
      Eigen::Vector3d down = seat;
      down.z() = std::max(seat.z() - 0.01, panel.z() - o_.lower_step);
      if (engaged || (xy_err < 0.002 && std::abs(yaw) < 0.008 && panel.z() < above.z() + 0.01)) {
        toward(down, 0.0);  // lower onto the pins
      } else if (xy_err < 0.005 && std::abs(yaw) < 0.03) {
        toward(Eigen::Vector3d(seat.x(), seat.y(), panel.z()), 0.0);  // over the pins: line up where it is
      } else if (panel.z() < above.z() - 0.01 && xy_err > 0.01) {
        toward(Eigen::Vector3d(panel.x(), panel.y(), above.z()), yaw);  // lift first
      } else {
        toward(above, 0.0);
      }
    } else {
      const bool lifted = panel.z() > 0.01 && (panel - seat).head<2>().norm() > 0.02;
      for (int i = 0; i < 2; ++i) {
        if (holds[i]) {
          // Holding alone: put a lifted panel back down, else hold still for the other arm.
          if (lifted) goal[i] = tcp[i].translation - Eigen::Vector3d(0, 0, std::min(panel.z(), o_.max_step));
          continue;
        }
        const bool aligned = std::abs(AngleDiff(yaw, grip_yaw[i])) < 0.03;
        const GraspCommand c = ReachAndGrasp(tcp[i].translation, handle[i], state[i], centred[i], o_.hover, 0.004,
                                             0.004, aligned);
        goal[i] = c.goal;
        grip[i] = c.gripper;
        yaw_goal[i] = state[i] == GripState::kClosing ? grip_yaw[i] : yaw;
      }
    }
    Action a(space.size(), 0.0f);
    for (int i = 0; i < 2; ++i) {
      Eigen::Vector3d d = o_.gain * (goal[i] - tcp[i].translation);
      if (o_.action_noise > 0) {
        for (int k = 0; k < 3; ++k) d[k] += o_.action_noise * rng_.Normal();
      }
      SetArmAction(space, prefix[i], d, Eigen::Vector3d(0, 0, o_.gain * AngleDiff(yaw_goal[i], grip_yaw[i])), grip[i],
                   &a);
    }
    return space.Clip(a);
  }

 private:
  DashboardExpertOptions o_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<Env> MakeDashboard(ConfigNode& env_config) {
  DashboardOptions o;
  o.Load(env_config);
  return std::make_unique<Dashboard>(o);
}

std::unique_ptr<ScriptedExpert> MakeDashboardExpert(ConfigNode& expert_config) {
  DashboardExpertOptions o;
  o.Load(expert_config);
  return std::make_unique<DashboardExpert>(o);
}

}  // namespace hilserl
