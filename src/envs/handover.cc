// handover: two arms hand an object over (stands for the paper's object handover).
//
// Scene (assets/handover.xml): two Panda-class arms side by side, "left" at y = +0.35 and
// "right" at y = -0.35 (assets/panda/panda_left.xml, panda_right.xml), a bin in front of
// each, and a 16 x 3 x 3 cm bar lying along x in the left bin at a random place
// (+-`object_xy_range`) and yaw (+-`object_yaw_range`). The left arm must pick it up and
// hold it out between the bins; the right arm grasps its other end, the left lets go, and
// the right arm places it in the right bin. Action: [left_x left_y left_z right_x right_y
// right_z left_gripper right_gripper]; the grasp critic chooses among the 3 x 3 = 9
// joint gripper actions. Success (terminates) = the bar lies inside the right bin, below
// its rim, held by neither gripper. A bar on the table outside both bins (or on the floor)
// ends the episode as a failure.
//
// State observations add "bar_pos" [x y z], "bar_yaw" [rad] and, per arm, the bar's grasp
// point relative to its tcp ("left_bar_offset", "right_bar_offset": the +x end for the
// left arm, the -x end for the right arm, m).
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "envs/arm_env.h"
#include "envs/task_util.h"
#include "envs/tasks.h"
#include "sim/model.h"

namespace hilserl {
namespace {

constexpr double kGraspOffset = 0.045;  // m from the bar's centre to each arm's grasp point

struct HandoverOptions {
  ArmEnvOptions arm;
  std::vector<double> object_xy = {0.45, 0.25};  // m, nominal bar centre (left bin)
  double object_xy_range = 0.02;                 // m, +-
  double object_yaw_range = 0.1;                 // rad, +-

  HandoverOptions() {
    arm.model = "assets/handover.xml";
    arm.arms = {"left", "right"};
    arm.cameras = {"front", "left_wrist", "right_wrist"};
  }
  void Load(ConfigNode& node) {
    node.GetFixed("object_xy", 2, &object_xy);
    node.Get("object_xy_range", &object_xy_range);
    node.Get("object_yaw_range", &object_yaw_range);
    arm.Load(node);
    if (arm.arms != std::vector<std::string>{"left", "right"}) {
      throw InvalidArgument("handover: 'arms' must be [left, right] (the scene's arm prefixes)");
    }
    if (!(object_xy_range >= 0) || !(object_yaw_range >= 0)) {
      throw InvalidArgument("handover: 'object_xy_range' and 'object_yaw_range' must be >= 0");
    }
  }
};

class Handover final : public ArmSimEnv {
 public:
  explicit Handover(const HandoverOptions& o) : ArmSimEnv(o.arm), task_(o) {
    const mjModel* m = model();
    bar_ = FreeBody(m, "bar_joint", "bar");
    const int geom = sim::GeomId(m, "bar_geom");
    bar_half_ = Eigen::Vector3d(m->geom_size[3 * geom], m->geom_size[3 * geom + 1], m->geom_size[3 * geom + 2]);
    for (const char* b : {"bin_left", "bin_right"}) {
      const int id = sim::BodyId(m, b);
      bins_.emplace_back(m->body_pos[3 * id], m->body_pos[3 * id + 1], m->body_pos[3 * id + 2]);
    }
    const int floor = sim::GeomId(m, "bin_right_floor");
    const int wall = sim::GeomId(m, "bin_right_wall_px");
    bin_half_inner_ = Eigen::Vector2d(m->geom_size[3 * floor], m->geom_size[3 * floor + 1]);
    bin_rim_ = 2.0 * m->geom_size[3 * wall + 2];
    if (!options().pixels()) {
      auto& spec = mutable_observation_spec();
      spec.proprio.push_back(UnboundedProprio("bar_pos", {"x", "y", "z"}));
      spec.proprio.push_back(UnboundedProprio("bar_yaw", {"yaw"}));
      spec.proprio.push_back(UnboundedProprio("left_bar_offset", {"dx", "dy", "dz"}));
      spec.proprio.push_back(UnboundedProprio("right_bar_offset", {"dx", "dy", "dz"}));
    }
  }
  std::string name() const override { return "handover"; }

 private:
  void ResetTask(Rng& rng) override {
    const double r = task_.object_xy_range, yr = task_.object_yaw_range;
    const double x = task_.object_xy[0] + (r > 0 ? rng.Uniform(-r, r) : 0.0);
    const double y = task_.object_xy[1] + (r > 0 ? rng.Uniform(-r, r) : 0.0);
    const double yaw = yr > 0 ? rng.Uniform(-yr, yr) : 0.0;
    bar_.SetPose(data(), Pose(Eigen::Vector3d(x, y, bar_half_.z() + 1e-4), YawRotation(yaw)));
  }

  bool MoveTaskObject(Rng& rng) override {
    if (Bar().translation.z() > bar_half_.z() + 0.005) return false;  // lifted: leave it
    ResetTask(rng);
    return true;
  }

  Pose Bar() const { return bar_.GetPose(data()); }
  Eigen::Vector3d GraspPoint(int arm_index) const {
    return Bar() * Eigen::Vector3d(arm_index == 0 ? kGraspOffset : -kGraspOffset, 0, 0);
  }
  bool InBin(const Eigen::Vector3d& p, int bin) const {
    const Eigen::Vector3d& c = bins_[bin];
    return std::abs(p.x() - c.x()) < bin_half_inner_.x() && std::abs(p.y() - c.y()) < bin_half_inner_.y();
  }

  void AddTaskObservation(Observation* obs) const override {
    if (options().pixels()) return;
    const Pose b = Bar();
    obs->proprio["bar_pos"] = ToFloat(b.translation);
    obs->proprio["bar_yaw"] = {static_cast<float>(0.5 * AngleDiff(2.0 * Yaw(b.rotation), 0.0))};
    obs->proprio["left_bar_offset"] = ToFloat(GraspPoint(0) - arm(0).TcpPose(data()).translation);
    obs->proprio["right_bar_offset"] = ToFloat(GraspPoint(1) - arm(1).TcpPose(data()).translation);
  }

  void AddTaskState(StateMap* s) const override {
    const Pose b = Bar();
    (*s)["bar_pos"] = ToStd(b.translation);
    (*s)["bar_yaw"] = {Yaw(b.rotation)};
    (*s)["left_grasp_point"] = ToStd(GraspPoint(0));
    (*s)["right_grasp_point"] = ToStd(GraspPoint(1));
    (*s)["bin_left"] = ToStd(bins_[0]);
    (*s)["bin_right"] = ToStd(bins_[1]);
    (*s)["bar_rest_height"] = {bar_half_.z()};
    (*s)["bin_half_inner"] = {bin_half_inner_.x(), bin_half_inner_.y()};
    (*s)["bin_rim"] = {bin_rim_};
  }

  Outcome Evaluate() override {
    const Pose b = Bar();
    const Eigen::Vector3d& c = b.translation;
    bool held = false;
    for (int i = 0; i < 2; ++i) {
      held |= (GraspPoint(i) - arm(i).TcpPose(data()).translation).norm() < 0.03 &&
              arm(i).GripperOpening(data()) < 0.5;
    }
    const double speed = bar_.Velocity(model(), data()).head<3>().norm();
    Outcome out;
    out.success = InBin(c, 1) && c.z() < bin_rim_ && !held && speed < 0.1;
    const bool on_table_outside = c.z() < bar_half_.z() + 0.01 && !InBin(c, 0) && !InBin(c, 1);
    out.failed = !out.success && (on_table_outside || c.z() < -0.05);
    out.reward = out.success ? 1.0 : 0.0;
    return out;
  }

  HandoverOptions task_;
  FreeBody bar_;
  Eigen::Vector3d bar_half_ = Eigen::Vector3d(0.08, 0.015, 0.015);
  std::vector<Eigen::Vector3d> bins_;
  Eigen::Vector2d bin_half_inner_ = Eigen::Vector2d(0.1, 0.06);
  double bin_rim_ = 0.05;
};

// ---- scripted expert: left picks and presents, right takes over and places ----
struct HandoverExpertOptions {
  double gain = 0.7;
  double hover = 0.06;              // m above a grasp point before descending
  double present_height = 0.22;     // m, bar centre height during the handover
  double wait_height = 0.30;        // m, where the right arm waits
  std::vector<double> present_xy = {0.45, 0.0};
  double place_height = 0.07;       // m, bar centre height when releasing over the bin
  double action_noise = 0.0;

  void Load(ConfigNode& node) {
    node.Get("gain", &gain);
    node.Get("hover", &hover);
    node.Get("present_height", &present_height);
    node.Get("wait_height", &wait_height);
    node.GetFixed("present_xy", 2, &present_xy);
    node.Get("place_height", &place_height);
    node.Get("action_noise", &action_noise);
    node.CheckNoUnknownKeys();
    if (!(gain > 0 && gain <= 1)) throw InvalidArgument("handover expert: 'gain' must be in (0, 1]");
  }
};

// A state-feedback controller: what each arm does is decided by who holds the bar and
// where it is now, so it can take over at any point: a bar on the left side is picked
// by the left arm and presented; a presented bar is taken by the right arm; once both
// hold it the left lets go; the right carries it to its bin and lowers and releases it.
// A bar dropped on the right side is picked up by the right arm directly.
class HandoverExpert final : public ScriptedExpert {
 public:
  explicit HandoverExpert(const HandoverExpertOptions& o) : o_(o) {}
  void Reset(uint64_t seed) override { rng_.Seed(seed ^ 0x4a4d0e4eULL); }

  Action Act(const StateMap& s, const VectorSpace& space) override {
    const char* who = "handover expert";
    const Eigen::Vector3d lp = TcpPoseFromState(s, "left_").translation;
    const Eigen::Vector3d rp = TcpPoseFromState(s, "right_").translation;
    const Eigen::Vector3d lg = Vec3(StateValue(s, "left_grasp_point", who));
    const Eigen::Vector3d rg = Vec3(StateValue(s, "right_grasp_point", who));
    const Eigen::Vector3d bar = Vec3(StateValue(s, "bar_pos", who));
    const Eigen::Vector3d bin = Vec3(StateValue(s, "bin_right", who));
    const auto& bin_half = StateValue(s, "bin_half_inner", who);
    const double rim = StateValue(s, "bin_rim", who)[0];
    const double rest = StateValue(s, "bar_rest_height", who)[0];
    const Eigen::Vector3d present(o_.present_xy[0], o_.present_xy[1], o_.present_height);
    // The right arm waits above the handover point, clear of the left arm, until it is needed.
    const Eigen::Vector3d wait(present.x() - kGraspOffset, present.y() - 0.08, o_.wait_height);
    const bool lc = (lg - lp).norm() < 0.02, rc = (rg - rp).norm() < 0.02;
    const GripState lstate = ReadGrip(s, "left_", lc), rstate = ReadGrip(s, "right_", rc);
    const bool left_holds = lstate == GripState::kHolding, right_holds = rstate == GripState::kHolding;
    const bool in_right_bin = std::abs(bar.x() - bin.x()) < bin_half[0] && std::abs(bar.y() - bin.y()) < bin_half[1] &&
                              bar.z() < rim;
    const bool at_rest = bar.z() < rest + 0.01;

    auto grasp = [&](const Eigen::Vector3d& p, const Eigen::Vector3d& g, GripState st, bool c, double hover) {
      return ReachAndGrasp(p, g, st, c, hover, 0.006, 0.006);
    };
    GraspCommand l{lp, 0.0f}, r{rp, 0.0f};
    if (left_holds && right_holds) {
      l = {lp, 1.0f};  // the handover: the left lets go, the right holds still
      r = {rp, -1.0f};
    } else if (right_holds) {
      // The left gets out of the way first (up and back to its side), then the right
      // carries the bar over its bin, lowers it and lets go.
      const bool left_close = (lp - bar).norm() < 0.12 && lp.z() < bar.z() + 0.05;
      l = {left_close ? Eigen::Vector3d(lp.x(), lp.y() + 0.05, o_.wait_height) : Eigen::Vector3d(lp.x(), lp.y(), o_.wait_height),
           1.0f};
      if (lstate != GripState::kOpen) l.goal = lp;  // fingers first, or the bar comes along
      r = {rp, -1.0f};
      if (!left_close) {
        const Eigen::Vector3d above(bin.x(), bin.y(), o_.present_height);
        const Eigen::Vector3d low(bin.x(), bin.y(), o_.place_height);
        if ((bar - above).head<2>().norm() > 0.01) {
          r.goal = rp + (above - bar);
          if (bar.z() < o_.place_height) r.goal.head<2>() = rp.head<2>();  // lift clear first
        } else {
          r.goal = rp + (low - bar);
          if (bar.z() < o_.place_height + 0.006) r.gripper = 1.0f;  // low enough: release
        }
      }
    } else if (left_holds) {
      // The left lifts the bar and presents it at the handover point; once it is there the
      // right goes for its end.
      l = {lp + (present - bar), -1.0f};
      if (bar.z() < rest + 0.08) l.goal.head<2>() = lp.head<2>();  // lift first
      const bool presented = (bar - present).norm() < 0.015;
      r = presented ? grasp(rp, rg, rstate, rc, 0.5 * o_.hover) : GraspCommand{wait, 1.0f};
      if (!presented && rstate != GripState::kOpen) r.goal = rp;  // let go where it is first
    } else if (in_right_bin) {
      l = {Eigen::Vector3d(lp.x(), lp.y(), o_.wait_height), 1.0f};  // done: both clear away
      r = {Eigen::Vector3d(rp.x(), rp.y(), std::max(rp.z(), o_.present_height)), 1.0f};
    } else if (bar.y() > 0.0 || !at_rest) {
      // The bar lies on the left side (or is still falling): the left picks it up.
      l = grasp(lp, lg, lstate, lc, o_.hover);
      r = rstate == GripState::kOpen ? GraspCommand{wait, 1.0f} : GraspCommand{rp, 1.0f};
      if (!at_rest) l.goal = lp;  // wait for it to come to rest
    } else {
      // Dropped on the right side: the right picks it up and places it.
      r = grasp(rp, rg, rstate, rc, o_.hover);
      l = {Eigen::Vector3d(lp.x(), lp.y(), o_.wait_height), 1.0f};
    }
    Eigen::Vector3d ld = o_.gain * (l.goal - lp), rd = o_.gain * (r.goal - rp);
    if (o_.action_noise > 0) {
      for (int i = 0; i < 3; ++i) {
        ld[i] += o_.action_noise * rng_.Normal();
        rd[i] += o_.action_noise * rng_.Normal();
      }
    }
    Action a(space.size(), 0.0f);
    SetArmAction(space, "left_", ld, Eigen::Vector3d::Zero(), l.gripper, &a);
    SetArmAction(space, "right_", rd, Eigen::Vector3d::Zero(), r.gripper, &a);
    return space.Clip(a);
  }

 private:
  HandoverExpertOptions o_;
  Rng rng_;
};

}  // namespace

std::unique_ptr<Env> MakeHandover(ConfigNode& env_config) {
  HandoverOptions o;
  o.Load(env_config);
  return std::make_unique<Handover>(o);
}

std::unique_ptr<ScriptedExpert> MakeHandoverExpert(ConfigNode& expert_config) {
  HandoverExpertOptions o;
  o.Load(expert_config);
  return std::make_unique<HandoverExpert>(o);
}

}  // namespace hilserl
