// The task suite: every task builds from its shipped config, its scripted
// expert solves it, and the multi-arm, yaw-only and wrench conventions of ArmSimEnv hold.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/config.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/rng.h"
#include "envs/arm_env.h"
#include "envs/registry.h"

namespace hilserl {
namespace {

struct Task {
  std::unique_ptr<Env> env;
  std::unique_ptr<ScriptedExpert> expert;
};

// The base env and expert of configs/tasks/<name>.yaml (no wrappers: physical units).
Task Load(const std::string& name, const std::vector<std::string>& env_overrides = {}) {
  ConfigNode root = ConfigNode::FromFile(ProjectRoot() + "/configs/tasks/" + name + ".yaml");
  for (const auto& o : env_overrides) root.SetFromAssignment("env." + o);
  ConfigNode env = root.Child("env");
  ConfigNode expert = root.Child("expert");
  return {MakeBaseEnv(name, env), MakeScriptedExpert(name, expert)};
}

// Runs the expert for an episode of at most `limit` steps; returns the steps to success or -1.
int RunExpert(Task& t, uint64_t seed, int limit) {
  t.env->Reset(seed);
  t.expert->Reset(seed);
  for (int step = 1; step <= limit; ++step) {
    const StepResult r = t.env->Step(t.expert->Act(t.env->privileged_state(), t.env->action_space()));
    if (r.terminated) return r.info.count("success") && r.info.at("success") > 0.5 ? step : -1;
  }
  return -1;
}

class TaskSuiteTest : public ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(TaskSuiteTest, ShippedConfigBuildsAndTheScriptedExpertSolvesIt) {
  const auto [name, limit] = GetParam();
  Task t = Load(name);
  EXPECT_EQ(t.env->name(), name);
  const Observation obs = t.env->Reset(0);
  EXPECT_NO_THROW(t.env->observation_spec().CheckMatches(obs));
  for (uint64_t seed : {11u, 12u, 13u}) {
    EXPECT_GT(RunExpert(t, seed, limit), 0) << name << " seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Tasks, TaskSuiteTest,
                         ::testing::Values(std::make_pair("peg_insertion", 100), std::make_pair("usb_grasp_insert", 120),
                                           std::make_pair("handover", 200), std::make_pair("dashboard", 150),
                                           std::make_pair("pan_flip", 40)),
                         [](const auto& p) { return std::string(p.param.first); });

// The experts are state-feedback controllers, as a person correcting a robot is: the
// action depends on the current state only. A fresh expert must therefore agree with one
// that has run the whole episode, at every step.
class ExpertFeedbackTest : public ::testing::TestWithParam<std::pair<const char*, int>> {};

TEST_P(ExpertFeedbackTest, ActionDependsOnTheCurrentStateOnly) {
  const auto [name, limit] = GetParam();
  Task t = Load(name);
  ConfigNode root = ConfigNode::FromFile(ProjectRoot() + "/configs/tasks/" + name + ".yaml");
  ConfigNode expert_config = root.Child("expert");
  std::unique_ptr<ScriptedExpert> fresh = MakeScriptedExpert(name, expert_config);
  t.env->Reset(21);
  t.expert->Reset(21);
  for (int step = 0; step < limit; ++step) {
    const StateMap s = t.env->privileged_state();
    const Action a = t.expert->Act(s, t.env->action_space());
    fresh->Reset(1000 + step);
    EXPECT_EQ(fresh->Act(s, t.env->action_space()), a) << name << " step " << step;
    if (t.env->Step(a).terminated) break;
  }
}

// ... and so it takes over from wherever another policy left the robot: after 20 steps
// of random actions it still completes the task.
TEST_P(ExpertFeedbackTest, TakesOverAfterRandomActions) {
  const auto [name, limit] = GetParam();
  Task t = Load(name);
  const VectorSpace& space = t.env->action_space();
  for (uint64_t seed : {31u, 32u}) {
    t.env->Reset(seed);
    t.expert->Reset(seed);
    Rng rng(seed);
    bool ended = false;
    for (int step = 0; step < 20 && !ended; ++step) {
      Action a(space.size());
      for (int i = 0; i < space.size(); ++i) a[i] = static_cast<float>(rng.Uniform(space.low[i], space.high[i]));
      ended = t.env->Step(a).terminated;
    }
    if (ended) continue;  // e.g. the object was knocked off the table: nothing to recover
    int result = -1;
    for (int step = 1; step <= limit && result < 0; ++step) {
      const StepResult r = t.env->Step(t.expert->Act(t.env->privileged_state(), space));
      if (r.terminated) result = r.info.count("success") && r.info.at("success") > 0.5 ? step : 0;
    }
    EXPECT_GT(result, 0) << name << " seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Tasks, ExpertFeedbackTest,
                         ::testing::Values(std::make_pair("pick_cube", 100), std::make_pair("peg_insertion", 100),
                                           std::make_pair("usb_grasp_insert", 120), std::make_pair("handover", 200),
                                           std::make_pair("dashboard", 150), std::make_pair("pan_flip", 40)),
                         [](const auto& p) { return std::string(p.param.first); });

TEST(TaskSuiteTest, TwoArmTasksLabelEachArmAndPutTheGrippersLast) {
  Task t = Load("handover");
  EXPECT_EQ(t.env->action_space().labels,
            (std::vector<std::string>{"left_x", "left_y", "left_z", "right_x", "right_y", "right_z", "left_gripper",
                                      "right_gripper"}));
  const ObservationSpec& s = t.env->observation_spec();
  for (const char* p : {"left_", "right_"}) {
    for (const char* k : {"tcp_pose", "tcp_vel", "gripper_pos"}) {
      EXPECT_NE(s.FindProprio(std::string(p) + k), nullptr) << p << k;
    }
  }
  // The arms move independently: only the left arm is commanded.
  auto* env = dynamic_cast<ArmSimEnv*>(t.env.get());
  ASSERT_NE(env, nullptr);
  env->Reset(0);
  const Eigen::Vector3d left0 = env->arm(0).TcpPose(env->data()).translation;
  const Eigen::Vector3d right0 = env->arm(1).TcpPose(env->data()).translation;
  for (int i = 0; i < 5; ++i) env->Step({0.02f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});
  EXPECT_GT(env->arm(0).TcpPose(env->data()).translation.x() - left0.x(), 0.06);
  EXPECT_LT((env->arm(1).TcpPose(env->data()).translation - right0).norm(), 0.005);
  // Each arm keeps to its own safety box.
  for (int i = 0; i < 30; ++i) env->Step({0.f, -0.03f, 0.f, 0.f, 0.03f, 0.f, 0.f, 0.f});
  EXPECT_TRUE(env->safety_box(0).Contains(env->target(0)));
  EXPECT_TRUE(env->safety_box(1).Contains(env->target(1)));
  EXPECT_GE(env->arm(0).TcpPose(env->data()).translation.y(), env->safety_box(0).low.y() - 0.01);
  EXPECT_LE(env->arm(1).TcpPose(env->data()).translation.y(), env->safety_box(1).high.y() + 0.01);
}

TEST(TaskSuiteTest, ResetsStartAtTheRandomisedStartPoseAtOnce) {
  Task t = Load("peg_insertion");
  auto* env = dynamic_cast<ArmSimEnv*>(t.env.get());
  ASSERT_NE(env, nullptr);
  double max_dx = 0, max_yaw = 0;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    env->Reset(seed);
    const Pose tcp = env->arm().TcpPose(env->data());
    const Eigen::Vector3d nominal = env->home_pose().translation + Eigen::Vector3d(0.14, 0.0, -0.38);
    EXPECT_NEAR(tcp.translation.z(), nominal.z(), 0.005) << seed;  // the IK put it there, not a slow approach
    max_dx = std::max(max_dx, std::abs(tcp.translation.x() - nominal.x()));
    EXPECT_LE(std::abs(tcp.translation.x() - nominal.x()), 0.021) << seed;
    EXPECT_LE(std::abs(tcp.translation.y() - nominal.y()), 0.021) << seed;
    const double yaw = tcp.rotation.angularDistance(env->home_pose().rotation);
    max_yaw = std::max(max_yaw, yaw);
    EXPECT_LE(yaw, 0.052 + 0.01) << seed;
  }
  EXPECT_GT(max_dx, 0.005) << "start positions are not randomised";
  EXPECT_GT(max_yaw, 0.01) << "start yaw is not randomised";
}

TEST(TaskSuiteTest, YawOnlyRotationTurnsAboutZAndKeepsTheGripperVertical) {
  Task t = Load("peg_insertion", {"start_xy_noise=0", "start_yaw_noise=0"});
  auto* env = dynamic_cast<ArmSimEnv*>(t.env.get());
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->action_space().labels, (std::vector<std::string>{"x", "y", "z", "rz"}));
  env->Reset(0);
  for (int i = 0; i < 4; ++i) env->Step({0.f, 0.f, 0.01f, 0.05f});
  const Pose tcp = env->arm().TcpPose(env->data());
  const Eigen::Vector3d z = tcp.rotation * Eigen::Vector3d::UnitZ();
  EXPECT_LT(std::acos(std::clamp(-z.z(), -1.0, 1.0)), 0.01) << "the gripper tilted";
  const Eigen::Quaterniond rel = tcp.rotation * env->home_pose().rotation.conjugate();
  // 4 steps of +0.05 rad about z; each step starts from the measured pose, so the
  // impedance controller covers part of each step: turned the right way, by 0.08-0.2 rad.
  const double yaw = 2.0 * std::atan2(rel.z(), rel.w());
  EXPECT_GT(yaw, 0.08);
  EXPECT_LT(yaw, 0.21);
}

TEST(TaskSuiteTest, WrenchControlPushesAlongTheCommandedForceAndHoldsWithoutIt) {
  Task t = Load("pan_flip");
  auto* env = dynamic_cast<ArmSimEnv*>(t.env.get());
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env->action_space().labels, (std::vector<std::string>{"fx", "fy", "fz", "tx", "ty", "tz"}));
  env->Reset(0);
  const Pose start = env->arm().TcpPose(env->data());
  env->Step({0.f, 0.f, 0.f, 0.f, 0.f, 0.f});
  EXPECT_LT((env->arm().TcpPose(env->data()).translation - start.translation).norm(), 0.005);
  // +fy in the tcp frame moves the tcp along its y axis.
  env->Step({0.f, 30.f, 0.f, 0.f, 0.f, 0.f});
  const Eigen::Vector3d moved = env->arm().TcpPose(env->data()).translation - start.translation;
  const Eigen::Vector3d y = start.rotation * Eigen::Vector3d::UnitY();
  EXPECT_GT(moved.dot(y), 0.01);
  EXPECT_LT((moved - moved.dot(y) * y).norm(), 0.5 * moved.dot(y));
}

TEST(TaskSuiteTest, ForceSensingFeelsThePartPressingOnTheFixture) {
  Task t = Load("peg_insertion", {"start_xy_noise=0", "start_yaw_noise=0", "observe_wrench=true"});
  Observation obs = t.env->Reset(0);
  const auto& rest = obs.Proprio("tcp_wrench");
  for (float v : rest) EXPECT_NEAR(v, 0.0f, 0.5f) << "tared at reset";
  // Off the slot by 1 cm: going down presses the peg onto the fixture's wall.
  t.env->Step({0.01f, 0.f, 0.f, 0.f});
  double pressed = 0;
  for (int i = 0; i < 12; ++i) {
    obs = t.env->Step({0.f, 0.f, -0.01f, 0.f}).observation;
    pressed = std::max(pressed, std::abs(static_cast<double>(obs.Proprio("tcp_wrench")[2])));
  }
  EXPECT_GT(pressed, 2.0) << "no contact force along the gripper axis";
}

TEST(TaskSuiteTest, BadTaskOptionsNameTheProblem) {
  ConfigNode root = ConfigNode::FromFile(ProjectRoot() + "/configs/tasks/handover.yaml");
  root.SetFromAssignment("env.arms=[left]");
  ConfigNode env = root.Child("env");
  try {
    MakeBaseEnv("handover", env);
    FAIL() << "a one-arm handover was accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("arms"), std::string::npos) << e.what();
  }
  ConfigNode peg = ConfigNode::FromFile(ProjectRoot() + "/configs/tasks/peg_insertion.yaml");
  peg.SetFromAssignment("env.rotation_axes=xy");
  ConfigNode peg_env = peg.Child("env");
  EXPECT_THROW(MakeBaseEnv("peg_insertion", peg_env), InvalidArgument);
}

}  // namespace
}  // namespace hilserl

namespace hilserl {
namespace {

// Shoves the peg down onto the slot's rim (1.2 cm off) for 25 steps; returns whether the
// episode ended as a failure and the largest tilt of the peg in the grasp.
std::pair<bool, double> ShoveOntoTheRim(const std::vector<std::string>& overrides) {
  std::vector<std::string> o = {"start_xy_noise=0", "start_yaw_noise=0"};
  o.insert(o.end(), overrides.begin(), overrides.end());
  Task t = Load("peg_insertion", o);
  t.env->Reset(0);
  t.env->Step({0.012f, 0.f, 0.f, 0.f});
  double tilt = 0;
  for (int i = 0; i < 25; ++i) {
    const StepResult r = t.env->Step({0.f, 0.f, -0.01f, 0.f});
    tilt = std::max(tilt, t.env->privileged_state().at("peg_tilt")[0]);
    if (r.terminated) return {r.info.count("failure") > 0, tilt};
  }
  return {false, tilt};
}

// The safety box is a guarantee, not a hint: gains that would let the tool overshoot it and
// boxes that cannot be enforced are refused with the key named; the most aggressive gains
// allowed keep the tool within the stop distance under saturated actions; a tool that is
// pushed out anyway stops the episode, holding.
TEST(TaskSuiteTest, SafetyBoxIsAGuarantee) {
  auto refused = [](const std::string& task, const std::vector<std::string>& o, const std::string& word) {
    try {
      Load(task, o);
      ADD_FAILURE() << task << ": accepted " << o.back();
    } catch (const InvalidArgument& e) {
      EXPECT_NE(std::string(e.what()).find(word), std::string::npos) << e.what();
    }
  };
  refused("pick_cube", {"controller.kp_translation=1e12"}, "kp_translation");
  refused("pick_cube", {"controller.kp_rotation=.inf"}, "kp_rotation");
  refused("pick_cube", {"controller.damping_ratio=0.01"}, "damping_ratio");
  refused("pick_cube", {"controller.max_translation_error=5"}, "max_translation_error");
  refused("pick_cube", {"safety_low=[0.4, 0, 0.1]", "safety_high=[0.4, 0.1, 0.2]"}, "wide");
  refused("pick_cube", {"safety_high=[.inf, 0.3, 0.5]"}, "finite");
  refused("pick_cube", {"safety_low=[0.28, -0.3, -0.5]", "safety_high=[0.6, 0.3, -0.1]"}, "start pose");
  refused("handover", {"left.safety_low=[0.61, -0.03, 0.0]"}, "env.left");
  refused("pick_cube", {"start_xy_noise=1e9"}, "start_xy_noise");
  refused("pick_cube", {"safety_stop_distance=0"}, "safety_stop_distance");

  // Stiffest, least damped loop allowed: the tool stays within the stop distance.
  Task t = Load("pick_cube", {"controller.kp_translation=5000", "controller.damping_ratio=0.3",
                              "controller.max_translation_error=0.1"});
  auto* env = dynamic_cast<ArmSimEnv*>(t.env.get());
  ASSERT_NE(env, nullptr);
  const SafetyBox& box = env->safety_box();
  double worst = 0;
  for (int corner = 0; corner < 8; ++corner) {
    env->Reset(corner);
    const float sx = (corner & 1) ? 1.f : -1.f, sy = (corner & 2) ? 1.f : -1.f, sz = (corner & 4) ? 1.f : -1.f;
    for (int step = 0; step < 40; ++step) {
      const StepResult r = env->Step({sx, sy, sz, (step % 2) ? 1.f : -1.f});
      EXPECT_EQ(r.info.count("safety_stop"), 0u) << "corner " << corner << " step " << step;
      const Pose tcp = env->arm().TcpPose(env->data());
      for (int i = 0; i < 3; ++i) {
        worst = std::max({worst, box.low[i] - tcp.translation[i], tcp.translation[i] - box.high[i]});
      }
      if (r.terminated) break;
    }
  }
  EXPECT_LT(worst, 0.05) << "m outside the box at the stiffest allowed gains (the stop distance is 0.05 m)";
  EXPECT_EQ(env->safety_stops(), 0);

  // Pushed out (here: the base joint turned by hand): the next step stops the episode.
  env->Reset(0);
  sim::Arm::JointVector q = env->arm().JointPositions(env->data());
  q[0] += 2.0;
  env->arm().SetJointPositions(env->data(), q);
  mj_forward(env->model(), env->data());
  const StepResult r = env->Step({0.f, 0.f, 0.f, 0.f});
  EXPECT_TRUE(r.terminated);
  ASSERT_EQ(r.info.count("safety_stop"), 1u);
  EXPECT_GT(r.info.at("safety_stop"), 0.05);
  EXPECT_EQ(r.info.at("success"), 0.0);
  EXPECT_EQ(env->safety_stops(), 1);
  EXPECT_TRUE(box.Contains(env->target(), 1e-9)) << "it holds at a pose inside the box";
}

TEST(TaskSuiteTest, ForceLimitedPressingKeepsThePegStraightButHardShovingTiltsIt) {
  const auto [soft_failed, soft_tilt] = ShoveOntoTheRim({});
  EXPECT_FALSE(soft_failed) << "reference-limited pressing tilted the peg by " << soft_tilt;
  const auto [hard_failed, hard_tilt] =
      ShoveOntoTheRim({"controller.max_translation_error=0.04", "controller.kp_translation=2000"});
  EXPECT_TRUE(hard_failed) << "shoving without reference limiting did not tilt the peg (max tilt " << hard_tilt << ")";
  EXPECT_GT(hard_tilt, soft_tilt);
}

// Env::Perturb (the robustness test of eval --perturb): a person moves the object while it
// lies on the table, never out of the grasp; the gripper can be forced open; tasks without
// the object or gripper say so instead of pretending.
TEST(TaskSuiteTest, PerturbationsMoveTheObjectOnTheTableAndOpenTheGripper) {
  Task t = Load("pick_cube");
  t.env->Reset(3);
  const std::vector<double> before = t.env->privileged_state().at("cube_pos");
  ASSERT_TRUE(t.env->Perturb("move_object", 7));
  const std::vector<double> after = t.env->privileged_state().at("cube_pos");
  EXPECT_GT(std::hypot(after[0] - before[0], after[1] - before[1]), 1e-3) << "the cube moved";
  EXPECT_NEAR(after[2], before[2], 1e-3) << "on the table";
  EXPECT_FALSE(t.env->Perturb("no_such_perturbation", 7));

  // Once the expert holds the cube in the air, it cannot be moved, but the gripper opens.
  t.expert->Reset(3);
  t.env->Reset(3);
  bool lifted = false;
  for (int step = 0; step < 100 && !lifted; ++step) {
    const StepResult r = t.env->Step(t.expert->Act(t.env->privileged_state(), t.env->action_space()));
    lifted = t.env->privileged_state().at("cube_pos")[2] > before[2] + 0.03;
    if (r.terminated) break;
  }
  ASSERT_TRUE(lifted);
  EXPECT_FALSE(t.env->Perturb("move_object", 7));
  const std::vector<double> tcp = t.env->privileged_state().at("tcp_pos");
  ASSERT_TRUE(t.env->Perturb("open_gripper", 7));
  const StateMap s = t.env->privileged_state();
  EXPECT_EQ(s.at("gripper_command")[0], 1.0);
  EXPECT_GT(s.at("gripper_opening")[0], 0.9) << "the fingers opened at once";
  EXPECT_LT(s.at("cube_pos")[2], before[2] + 0.01) << "the cube fell";
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(s.at("tcp_pos")[k], tcp[k], 0.01) << "the arm held its pose";

  // The pregrasped peg has neither a free object nor a gripper action.
  Task peg = Load("peg_insertion");
  peg.env->Reset(0);
  EXPECT_FALSE(peg.env->Perturb("move_object", 1));
  EXPECT_FALSE(peg.env->Perturb("open_gripper", 1));
}

}  // namespace
}  // namespace hilserl
