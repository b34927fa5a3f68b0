#include "teleop/scripted_operator.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "wrappers/make_env.h"

namespace hilserl {
namespace {

struct OperatorRig {
  TaskConfig config = TaskConfig::Load("pick_cube");
  std::unique_ptr<Env> env = MakeEnv(config);
  std::unique_ptr<ScriptedOperator> op;
  explicit OperatorRig(ScriptedOperatorOptions o = {}) { op = std::make_unique<ScriptedOperator>(MakeExpert(config), o); }
};

// A policy that always pushes up and away with the gripper closed: strays at once.
Action BadPolicy() { return {0.f, 0.f, 1.f, -1.f}; }
// The same, leaving the gripper as it is.
Action StrayingPolicy() { return {0.f, 0.f, 1.f, 0.f}; }

TEST(ScriptedOperatorTest, TakesOverShortlyWhenThePolicyStrays) {
  ScriptedOperatorOptions o;
  o.noise = 0.0;
  OperatorRig s(o);
  s.env->Reset(0);
  s.op->StartEpisode(0, 0.0);
  std::vector<bool> intervened;
  for (int t = 0; t < 40; ++t) {
    const OperatorDecision d = s.op->Decide(*s.env, StrayingPolicy());
    intervened.push_back(d.intervened);
    if (d.intervened) {
      EXPECT_NE(d.action, StrayingPolicy());
    }
    if (s.env->Step(d.action).terminated) break;
  }
  // Patience 2: the first step is the policy's; then corrections of takeover_steps each.
  EXPECT_FALSE(intervened[0]);
  EXPECT_TRUE(intervened[1]);
  EXPECT_EQ(s.op->takeovers(), o.max_takeovers_per_episode);
  EXPECT_LE(s.op->takeovers(), o.max_takeovers_per_episode);
  int total = 0;
  for (bool b : intervened) total += b;
  EXPECT_EQ(total, s.op->takeovers() * o.takeover_steps);
}

// Closing the gripper where the expert keeps it open (or opening it on a held object) is
// caught before it happens: no patience for that.
TEST(ScriptedOperatorTest, CatchesAnOppositeGripperCommandAtOnce) {
  ScriptedOperatorOptions o;
  o.noise = 0.0;
  OperatorRig s(o);
  s.env->Reset(0);
  s.op->StartEpisode(0, 0.0);
  const OperatorDecision d = s.op->Decide(*s.env, BadPolicy());
  EXPECT_TRUE(d.intervened);
  EXPECT_GE(d.action[3], 0.5f);  // the expert keeps the gripper open on the way to the cube
}

TEST(ScriptedOperatorTest, LeavesAGoodPolicyAloneAndBacksOffWithSuccess) {
  OperatorRig s;
  auto expert = MakeExpert(s.config);
  s.env->Reset(3);
  expert->Reset(3);
  s.op->StartEpisode(3, 0.0);
  for (int t = 0; t < 30; ++t) {
    const Action good = ExpertActionFor(*s.env, *expert);
    const OperatorDecision d = s.op->Decide(*s.env, good);
    EXPECT_FALSE(d.intervened) << t;
    if (s.env->Step(d.action).terminated) break;
  }
  // A fully successful policy is never corrected, however bad this action.
  s.env->Reset(4);
  s.op->StartEpisode(4, 1.0);
  for (int t = 0; t < 20; ++t) EXPECT_FALSE(s.op->Decide(*s.env, BadPolicy()).intervened);
}

// The expert's action scaled down: the right direction, a third of the strength.
Action Timid(const Action& expert) {
  Action a = expert;
  for (size_t i = 0; i + 1 < a.size(); ++i) a[i] *= 0.3f;  // the last component is the gripper
  return a;
}

TEST(ScriptedOperatorTest, MaxRelativeErrorAlsoCorrectsTheStrengthOfAnAction) {
  for (const double tolerance : {0.0, 0.2}) {
    ScriptedOperatorOptions o;
    o.noise = 0.0;
    o.patience = 1;
    o.max_relative_error = tolerance;
    OperatorRig s(o);
    auto expert = MakeExpert(s.config);
    s.env->Reset(5);
    expert->Reset(5);
    s.op->StartEpisode(5, 0.0);
    // At the start the expert moves at full speed towards the cube: a timid copy points the
    // same way (cosine 1) but is 70% off in size.
    const Action timid = Timid(ExpertActionFor(*s.env, *expert));
    const OperatorDecision d = s.op->Decide(*s.env, timid);
    EXPECT_EQ(d.intervened, tolerance > 0) << "max_relative_error " << tolerance;
  }
  ScriptedOperatorOptions bad;
  bad.max_relative_error = -1;
  EXPECT_THROW(bad.Validate(), InvalidArgument);
}

TEST(ScriptedOperatorTest, OptionsAreValidated) {
  ScriptedOperatorOptions o;
  o.takeover_steps = 0;
  EXPECT_THROW(o.Validate(), InvalidArgument);
  ConfigNode bad = ConfigNode::FromString("patience: 2\ntakover_steps: 3\n", "op.yaml");
  EXPECT_THROW(ScriptedOperatorOptions().Load(bad), InvalidArgument);
  for (double share : {-0.1, 1.5, std::nan("")}) {
    ScriptedOperatorOptions t;
    t.trust_max_corrected = share;
    EXPECT_THROW(t.Validate(), InvalidArgument) << share;
  }
  ConfigNode ok = ConfigNode::FromString("trust_max_corrected: 1.0\n", "op.yaml");
  ScriptedOperatorOptions loaded;
  loaded.Load(ok);
  EXPECT_EQ(loaded.trust_max_corrected, 1.0);
}

}  // namespace
}  // namespace hilserl
