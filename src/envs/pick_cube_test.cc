#include "envs/pick_cube.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/rng.h"
#include "envs/registry.h"

namespace hilserl {
namespace {

PickCubeOptions StateOptions() { return PickCubeOptions(); }

PickCubeOptions PixelOptions() {
  PickCubeOptions o;
  o.arm.obs_mode = "pixels";
  o.arm.image_size = 64;
  return o;
}

std::unique_ptr<ScriptedExpert> Expert() {
  ConfigNode node = ConfigNode::Empty("test");
  return MakePickCubeExpert(node);
}

TEST(PickCubeTest, SpacesDescribeTheTask) {
  PickCube env(StateOptions());
  const VectorSpace& a = env.action_space();
  EXPECT_EQ(a.labels, (std::vector<std::string>{"x", "y", "z", "gripper"}));
  EXPECT_FLOAT_EQ(a.high[0], 0.025f);
  const ObservationSpec& s = env.observation_spec();
  EXPECT_TRUE(s.images.empty());
  ASSERT_NE(s.FindProprio("cube_pos"), nullptr);
  ASSERT_NE(s.FindProprio("tcp_pose"), nullptr);
  EXPECT_EQ(s.FindProprio("tcp_pose")->size(), 7);
  EXPECT_NO_THROW(s.CheckMatches(env.Reset(0)));
  EXPECT_NEAR(env.control_dt(), 0.1, 1e-12);
  EXPECT_EQ(env.physics_steps_per_control(), 50);
}

TEST(PickCubeTest, SameSeedSameTrajectoryOtherSeedDiffers) {
  auto run = [](uint64_t seed) {
    PickCube env(StateOptions());
    Rng rng(42);
    Observation obs = env.Reset(seed);
    for (int t = 0; t < 15; ++t) {
      Action a = {static_cast<float>(rng.Uniform(-0.025, 0.025)), static_cast<float>(rng.Uniform(-0.025, 0.025)),
                  static_cast<float>(rng.Uniform(-0.025, 0.025)), static_cast<float>(rng.Uniform(-1, 1))};
      obs = env.Step(a).observation;
    }
    return obs.proprio;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3).at("cube_pos"), run(4).at("cube_pos"));
}

TEST(PickCubeTest, CubeStartsInsideTheRandomisationBox) {
  PickCube env(StateOptions());
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const Observation obs = env.Reset(seed);
    const auto& c = obs.Proprio("cube_pos");
    EXPECT_GE(c[0], 0.30f - 1e-3f);
    EXPECT_LE(c[0], 0.55f + 1e-3f);
    EXPECT_GE(c[1], -0.25f - 1e-3f);
    EXPECT_LE(c[1], 0.25f + 1e-3f);
    EXPECT_NEAR(c[2], 0.02f, 2e-3f);
    const auto& tcp = obs.Proprio("tcp_pose");
    const auto& d = obs.Proprio("cube_offset");
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(d[i], c[i] - tcp[i], 1e-5f);
  }
}

TEST(PickCubeTest, SafetyBoxHoldsUnderAdversarialActions) {
  PickCube env(StateOptions());
  const SafetyBox& box = env.safety_box();
  // Push toward every corner of the box and beyond for 40 steps each.
  for (int corner = 0; corner < 8; ++corner) {
    env.Reset(corner);
    const float sx = (corner & 1) ? 1.f : -1.f, sy = (corner & 2) ? 1.f : -1.f, sz = (corner & 4) ? 1.f : -1.f;
    for (int t = 0; t < 40; ++t) {
      const auto obs = env.Step({sx, sy, sz, 0.f}).observation;  // clipped to 0.025 m per step
      EXPECT_TRUE(box.Contains(env.target(), 1e-9)) << "corner " << corner << " step " << t;
      const auto& p = obs.Proprio("tcp_pose");
      for (int i = 0; i < 3; ++i) {
        EXPECT_GE(p[i], box.low[i] - 0.01) << "axis " << i;  // measured pose: 1 cm tracking slack
        EXPECT_LE(p[i], box.high[i] + 0.01) << "axis " << i;
      }
    }
  }
}

TEST(PickCubeTest, NanAndWrongSizeActionsAreRejectedWithClearErrors) {
  PickCube env(StateOptions());
  env.Reset(0);
  try {
    env.Step({0.f, std::numeric_limits<float>::quiet_NaN(), 0.f, 0.f});
    FAIL() << "NaN accepted";
  } catch (const InvalidArgument& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("component 1 ('y')"), std::string::npos) << msg;
    EXPECT_NE(msg.find("nan"), std::string::npos) << msg;
  }
  try {
    env.Step({0.f, 0.f});
    FAIL() << "short action accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("expected 4 values"), std::string::npos) << e.what();
  }
  // The env is still usable afterwards and did not move.
  EXPECT_NO_THROW(env.Step({0.f, 0.f, 0.f, 0.f}));
}

TEST(PickCubeTest, ScriptedExpertSucceedsAndSuccessTerminates) {
  PickCube env(StateOptions());
  auto expert = Expert();
  int successes = 0;
  const int episodes = 10;
  for (int ep = 0; ep < episodes; ++ep) {
    env.Reset(100 + ep);
    expert->Reset(100 + ep);
    for (int t = 0; t < 100; ++t) {
      StepResult r = env.Step(expert->Act(env.privileged_state(), env.action_space()));
      if (r.terminated) {
        EXPECT_EQ(r.reward, 1.0);
        EXPECT_EQ(r.info.at("success"), 1.0);
        EXPECT_FALSE(r.truncated);
        ++successes;
        break;
      }
      EXPECT_EQ(r.reward, 0.0);
    }
  }
  EXPECT_GE(successes, 9) << "scripted expert must succeed on >= 90% of this small sample";
}

TEST(PickCubeTest, DenseRewardIsBoundedAndRisesWhenApproaching) {
  PickCubeOptions o = StateOptions();
  o.reward = "dense";
  PickCube env(o);
  auto expert = Expert();
  env.Reset(7);
  expert->Reset(7);
  double first = -1, best = 0;
  for (int t = 0; t < 30; ++t) {
    const StepResult r = env.Step(expert->Act(env.privileged_state(), env.action_space()));
    EXPECT_GE(r.reward, 0.0);
    EXPECT_LE(r.reward, 1.0);
    if (first < 0) first = r.reward;
    best = std::max(best, r.reward);
    if (r.terminated) break;
  }
  EXPECT_GT(best, first + 0.2);
}

TEST(PickCubeTest, PixelModeRendersBothCameras) {
  PickCube env(PixelOptions());
  const Observation obs = env.Reset(0);
  EXPECT_NO_THROW(env.observation_spec().CheckMatches(obs));
  EXPECT_EQ(obs.proprio.count("cube_pos"), 0u);  // privileged in pixel mode
  const Image& front = obs.GetImage("front");
  const Image& wrist = obs.GetImage("wrist");
  EXPECT_EQ(front.height, 64);
  EXPECT_NE(front, wrist);
  const StepResult r = env.Step({0.01f, 0.f, -0.01f, 0.f});
  EXPECT_NE(r.observation.GetImage("wrist"), wrist);  // the wrist camera moved with the hand
}

TEST(PickCubeTest, ConfigErrorsNameTheProblem) {
  ConfigNode bad = ConfigNode::FromString("obs_mode: state\ncube_sise: 0.04\n", "task.yaml");
  try {
    MakeBaseEnv("pick_cube", bad);
    FAIL() << "unknown key accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'cube_sise'"), std::string::npos) << e.what();
  }
  ConfigNode mode = ConfigNode::FromString("obs_mode: depth\n", "task.yaml");
  EXPECT_THROW(MakeBaseEnv("pick_cube", mode), InvalidArgument);
  ConfigNode model = ConfigNode::FromString("model: /nonexistent/scene.xml\n", "task.yaml");
  EXPECT_THROW(MakeBaseEnv("pick_cube", model), NotFound);
  ConfigNode empty = ConfigNode::Empty("x");
  try {
    MakeBaseEnv("pick_cylinder", empty);
    FAIL();
  } catch (const NotFound& e) {
    EXPECT_NE(std::string(e.what()).find("pick_cube"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hilserl
