// Contracts of each wrapper, checked against a small kinematic env (PointEnv) whose
// behaviour is known exactly, plus the full stack built from configs/tasks/pick_cube.yaml.
#include <cmath>
#include <limits>
#include <numbers>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/geometry.h"
#include "wrappers/action_scale.h"
#include "wrappers/gripper_penalty.h"
#include "wrappers/image_crop_resize.h"
#include "wrappers/make_env.h"
#include "wrappers/relative_frame.h"
#include "wrappers/reward_classifier.h"
#include "wrappers/safety_box.h"
#include "wrappers/time_limit.h"

namespace hilserl {
namespace {

// A tcp that moves exactly by the commanded base-frame delta: position += [x y z],
// rotation = exp([rx ry rz]) * rotation. Observes tcp_pose, tcp_vel and an 8x6 image
// whose pixel (r, c) has value 10 r + c in every channel. Records the last action.
class PointEnv final : public Env {
 public:
  explicit PointEnv(Pose start = Pose()) : start_(start) {
    space_ = {"action", {"x", "y", "z", "rx", "ry", "rz", "gripper"},
              {-0.1f, -0.1f, -0.1f, -0.2f, -0.2f, -0.2f, -1.f}, {0.1f, 0.1f, 0.1f, 0.2f, 0.2f, 0.2f, 1.f}};
    spec_.images.push_back({"cam", 8, 6, 3});
    spec_.proprio.push_back({"tcp_pose", {}, std::vector<float>(7, -9), std::vector<float>(7, 9)});
    spec_.proprio.push_back({"tcp_vel", {}, std::vector<float>(6, -9), std::vector<float>(6, 9)});
  }
  std::string name() const override { return "point"; }
  const ObservationSpec& observation_spec() const override { return spec_; }
  const VectorSpace& action_space() const override { return space_; }
  double control_dt() const override { return 0.1; }
  Observation Reset(uint64_t) override {
    pose_ = start_;
    vel_.setZero();
    return Obs();
  }
  StepResult Step(const Action& a) override {
    space_.CheckFinite(a, "point");
    last_action = a;
    pose_.translation += Eigen::Vector3d(a[0], a[1], a[2]);
    pose_.rotation = ExpRotation(Eigen::Vector3d(a[3], a[4], a[5])) * pose_.rotation;
    vel_ << a[0] / 0.1, a[1] / 0.1, a[2] / 0.1, a[3] / 0.1, a[4] / 0.1, a[5] / 0.1;
    StepResult r;
    r.observation = Obs();
    return r;
  }
  std::vector<std::string> camera_names() const override { return {"cam"}; }
  Image RenderCamera(const std::string&, int w, int h) override { return Image(h, w); }
  StateMap privileged_state() const override { return {}; }

  Action last_action;
  Pose pose_;

 private:
  Observation Obs() const {
    Observation o;
    o.proprio["tcp_pose"] = pose_.ToVector7();
    o.proprio["tcp_vel"] = std::vector<float>(vel_.data(), vel_.data() + 6);
    Image img(8, 6);
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 6; ++c)
        for (int ch = 0; ch < 3; ++ch) img.at(r, c, ch) = static_cast<uint8_t>(10 * r + c);
    o.images["cam"] = img;
    return o;
  }
  Pose start_;
  Eigen::Matrix<double, 6, 1> vel_ = Eigen::Matrix<double, 6, 1>::Zero();
  VectorSpace space_;
  ObservationSpec spec_;
};

Action Zero() { return Action(7, 0.f); }

TEST(TimeLimitTest, TruncatesNotTerminatesAndResets) {
  TimeLimit env(std::make_unique<PointEnv>(), 3);
  env.Reset(0);
  EXPECT_FALSE(env.Step(Zero()).truncated);
  EXPECT_FALSE(env.Step(Zero()).truncated);
  const StepResult last = env.Step(Zero());
  EXPECT_TRUE(last.truncated);
  EXPECT_FALSE(last.terminated);
  EXPECT_EQ(last.info.at("episode_step"), 3);
  env.Reset(1);
  EXPECT_FALSE(env.Step(Zero()).truncated);
  EXPECT_THROW(TimeLimit(std::make_unique<PointEnv>(), 0), InvalidArgument);
}

TEST(ActionScaleTest, MapsUnitBoxOntoEnvBoundsAndBack) {
  auto point = std::make_unique<PointEnv>();
  PointEnv* raw = point.get();
  ActionScale env(std::move(point));
  EXPECT_EQ(env.action_space().low, std::vector<float>(7, -1.f));
  EXPECT_EQ(env.action_space().high, std::vector<float>(7, 1.f));
  env.Reset(0);
  env.Step({1.f, -1.f, 0.5f, 0.f, 0.f, 2.f /* clipped to 1 */, -1.f});
  EXPECT_FLOAT_EQ(raw->last_action[0], 0.1f);
  EXPECT_FLOAT_EQ(raw->last_action[1], -0.1f);
  EXPECT_FLOAT_EQ(raw->last_action[2], 0.05f);
  EXPECT_FLOAT_EQ(raw->last_action[5], 0.2f);
  EXPECT_FLOAT_EQ(raw->last_action[6], -1.f);
  const Action base = {0.05f, -0.02f, 0.f, 0.1f, 0.f, 0.f, 1.f};
  const Action outer = env.FromBaseAction(base);
  EXPECT_NEAR(outer[0], 0.5f, 1e-6);
  EXPECT_NEAR(outer[1], -0.2f, 1e-6);
  EXPECT_NEAR(outer[3], 0.5f, 1e-6);
  Action nan = Zero();
  nan[2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(env.Step(nan), InvalidArgument);
}

TEST(RelativeFrameTest, ObservationsAreRelativeToTheStartPose) {
  // Start rotated 90 deg about z and displaced.
  const Pose start(Eigen::Vector3d(0.4, 0.1, 0.3), ExpRotation(Eigen::Vector3d(0, 0, std::numbers::pi / 2)));
  RelativeFrame env(std::make_unique<PointEnv>(start));
  const Observation o0 = env.Reset(0);
  const Pose rel0 = Pose::FromVector7(o0.Proprio("tcp_pose"));
  EXPECT_LT(rel0.translation.norm(), 1e-6);
  EXPECT_LT(LogRotation(rel0.rotation).norm(), 1e-6);

  // +x in the tool frame is +y in the base frame (tool is yawed 90 deg).
  auto* point = static_cast<PointEnv*>(&env.inner());
  Action a = Zero();
  a[0] = 0.05f;
  const StepResult r = env.Step(a);
  EXPECT_NEAR(point->last_action[0], 0.0f, 1e-6);
  EXPECT_NEAR(point->last_action[1], 0.05f, 1e-6);
  const Pose rel = Pose::FromVector7(r.observation.Proprio("tcp_pose"));
  EXPECT_NEAR(rel.translation.x(), 0.05, 1e-6);  // moved along its own x
  EXPECT_NEAR(rel.translation.y(), 0.0, 1e-6);
  // Velocity reported in the tool frame.
  EXPECT_NEAR(r.observation.Proprio("tcp_vel")[0], 0.5f, 1e-5);
  EXPECT_NEAR(r.observation.Proprio("tcp_vel")[1], 0.0f, 1e-5);
}

TEST(RelativeFrameTest, MatchesHomogeneousTransformAfterRotation) {
  const Pose start(Eigen::Vector3d(0.4, -0.1, 0.2), ExpRotation(Eigen::Vector3d(0.3, -0.2, 1.0)));
  RelativeFrame env(std::make_unique<PointEnv>(start));
  env.Reset(0);
  auto* point = static_cast<PointEnv*>(&env.inner());
  Action a = {0.02f, -0.03f, 0.01f, 0.1f, 0.05f, -0.1f, 0.f};
  StepResult r = env.Step(a);
  r = env.Step(a);
  // Ground truth from 4x4 matrices: T_rel = T_start^-1 T_now.
  auto mat = [](const Pose& p) {
    Eigen::Matrix4d m = Eigen::Matrix4d::Identity();
    m.topLeftCorner<3, 3>() = p.rotation.toRotationMatrix();
    m.topRightCorner<3, 1>() = p.translation;
    return m;
  };
  const Eigen::Matrix4d expected = mat(start).inverse() * mat(point->pose_);
  const Pose rel = Pose::FromVector7(r.observation.Proprio("tcp_pose"));
  EXPECT_LT((mat(rel) - expected).norm(), 1e-5);
}

TEST(RelativeFrameTest, FromBaseActionInvertsTheRotation) {
  const Pose start(Eigen::Vector3d::Zero(), ExpRotation(Eigen::Vector3d(0.4, 0.1, -0.7)));
  RelativeFrame env(std::make_unique<PointEnv>(start));
  env.Reset(0);
  auto* point = static_cast<PointEnv*>(&env.inner());
  const Action base = {0.01f, 0.02f, -0.03f, 0.05f, -0.02f, 0.01f, 1.f};
  env.Step(env.FromBaseAction(base));
  for (int i = 0; i < 7; ++i) EXPECT_NEAR(point->last_action[i], base[i], 1e-6) << i;
}

TEST(SafetyBoxWrapperTest, TargetsStayInsideTheBox) {
  const Pose start(Eigen::Vector3d(0.4, 0.0, 0.2), Pose().rotation);
  SafetyBoxWrapper env(std::make_unique<PointEnv>(start), Eigen::Vector3d(0.3, -0.1, 0.1),
                       Eigen::Vector3d(0.5, 0.1, 0.3));
  env.Reset(0);
  auto* point = static_cast<PointEnv*>(&env.inner());
  for (int t = 0; t < 20; ++t) {
    env.Step({0.1f, -0.1f, 0.1f, 0.f, 0.f, 0.f, 0.f});
    EXPECT_LE(point->pose_.translation.x(), 0.5 + 1e-6);
    EXPECT_GE(point->pose_.translation.y(), -0.1 - 1e-6);
    EXPECT_LE(point->pose_.translation.z(), 0.3 + 1e-6);
  }
  EXPECT_NEAR(point->pose_.translation.x(), 0.5, 1e-6);
  // Moving back inside is not restricted.
  env.Step({-0.05f, 0.f, 0.f, 0.f, 0.f, 0.f, 0.f});
  EXPECT_NEAR(point->pose_.translation.x(), 0.45, 1e-6);
  EXPECT_THROW(SafetyBoxWrapper(std::make_unique<PointEnv>(), Eigen::Vector3d(1, 0, 0), Eigen::Vector3d(0, 1, 1)),
               InvalidArgument);
}

TEST(GripperPenaltyTest, PenalisesOnlyStateChanges) {
  GripperPenalty env(std::make_unique<PointEnv>(), -0.02);
  env.Reset(0);
  auto step = [&](float g) {
    Action a = Zero();
    a[6] = g;
    return env.Step(a).info.at("grasp_penalty");
  };
  EXPECT_EQ(step(1.f), 0.0);       // open while open
  EXPECT_EQ(step(-1.f), -0.02);    // close
  EXPECT_EQ(step(-1.f), 0.0);      // stay closed
  EXPECT_EQ(step(0.f), 0.0);       // neutral
  EXPECT_EQ(step(0.7f), -0.02);    // open
  EXPECT_EQ(step(-0.4f), 0.0);     // below threshold: no command
  env.Reset(1);
  EXPECT_EQ(step(1.f), 0.0);       // reset starts open
}

TEST(ImageCropResizeTest, CropsTheRegionAndResizes) {
  ImageCropResize env(std::make_unique<PointEnv>(), {{"cam", CropResize{2, 3, 2, 4, 2, 1}}});
  EXPECT_EQ(env.observation_spec().images[0].height, 2);
  EXPECT_EQ(env.observation_spec().images[0].width, 1);
  const Image img = env.Reset(0).GetImage("cam");
  ASSERT_EQ(img.height, 2);
  ASSERT_EQ(img.width, 1);
  // Region rows 3..6, cols 2..3 (values 10 r + c); area-averaged into 2x1:
  // top = mean(32,33,42,43) = 37.5, bottom = mean(52,53,62,63) = 57.5 (rounded).
  EXPECT_NEAR(img.at(0, 0, 0), 38, 1);
  EXPECT_NEAR(img.at(1, 0, 0), 58, 1);
  // Same size: an exact copy of the region.
  ImageCropResize same(std::make_unique<PointEnv>(), {{"cam", CropResize{1, 1, 3, 2, 2, 3}}});
  const Image copy = same.Reset(0).GetImage("cam");
  EXPECT_EQ(copy.at(0, 0, 0), 11);
  EXPECT_EQ(copy.at(1, 2, 1), 23);
  EXPECT_THROW(ImageCropResize(std::make_unique<PointEnv>(), {{"cam", CropResize{4, 0, 4, 4, 2, 2}}}),
               InvalidArgument);
  EXPECT_THROW(ImageCropResize(std::make_unique<PointEnv>(), {{"nocam", CropResize{}}}), InvalidArgument);
}

TEST(MakeEnvTest, BuildsThePickCubeStackFromItsConfig) {
  TaskConfig config = TaskConfig::Load("pick_cube", {"wrappers.gripper_penalty=-0.02"});
  auto env = MakeEnv(config);
  EXPECT_EQ(env->name(), "pick_cube");
  EXPECT_EQ(env->action_space().high, std::vector<float>(4, 1.f));  // normalised
  EXPECT_FLOAT_EQ(env->base_action_space().high[0], 0.025f);
  env->Reset(0);
  const StepResult r = env->Step({0.f, 0.f, 0.f, -1.f});
  EXPECT_EQ(r.info.at("grasp_penalty"), -0.02);
  // Base-frame expert action of 1 cm maps to 0.4 in the normalised space.
  EXPECT_NEAR(env->FromBaseAction({0.01f, 0.f, 0.f, 0.f})[0], 0.4f, 1e-6);
}

TEST(MakeEnvTest, RejectsUnknownKeysAndTasks) {
  TaskConfig config = TaskConfig::Load("pick_cube", {"wrappers.time_limt=5"});
  try {
    MakeEnv(config);
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown key 'time_limt'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(TaskConfig::Load("no_such_task"), NotFound);
  EXPECT_THROW(TaskConfig::Load("pick_cube", {"surprise=1"}), InvalidArgument);
}


// Two arms: the relative frame treats each arm in its own frame and the gripper penalty
// counts each gripper; the scripted expert still solves the task through the full stack.
TEST(MakeEnvTest, TwoArmStackWithRelativeFramesKeepsTheExpertWorking) {
  TaskConfig config = TaskConfig::Load("handover", {"wrappers.relative_frame=true"});
  auto env = MakeEnv(config);
  auto expert = MakeExpert(config);
  Observation obs = env->Reset(4);
  expert->Reset(4);
  for (const char* p : {"left_tcp_pose", "right_tcp_pose"}) {
    const auto& pose = obs.Proprio(p);
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(pose[i], 0.0f, 1e-5f) << p << " starts at the origin of its own frame";
  }
  bool success = false;
  double penalties = 0;
  for (int t = 0; t < 200 && !success; ++t) {
    const StepResult r = env->Step(ExpertActionFor(*env, *expert));
    penalties += r.info.at("grasp_penalty");
    success = r.info.count("success") && r.info.at("success") > 0.5;
    if (r.terminated || r.truncated) break;
  }
  EXPECT_TRUE(success);
  // Each arm closes once and opens once: four gripper changes.
  EXPECT_NEAR(penalties, 4 * -0.02, 1e-9);
}

TEST(RewardClassifierWrapperTest, ClassifierDecidesRewardAndTerminationAndIsScoredAgainstTruth) {
  TaskConfig config = TaskConfig::Load("pick_cube", {"env.obs_mode=state"});
  // The classifier's verdicts, in order; it must see a rendered 64x64 wrist frame.
  std::vector<double> verdicts = {0.2, 0.9, 0.9};
  size_t calls = 0;
  auto probability = [&](const Observation& o) {
    const Image& img = o.GetImage("wrist");
    EXPECT_EQ(img.height, 64);
    EXPECT_EQ(img.width, 64);
    return verdicts.at(calls++);
  };
  std::vector<StateCondition> conditions = {{"tcp_pose", 2, 0.0, 10.0}};
  RewardClassifierWrapper env(MakeEnv(config), probability, {"wrist"}, 64, 0.75, conditions);
  env.Reset(3);
  const Action hold(env.action_space().size(), 0.0f);
  StepResult r = env.Step(hold);
  EXPECT_EQ(r.reward, 0.0);
  EXPECT_FALSE(r.terminated);
  EXPECT_FALSE(r.observation.images.count("wrist"));  // the observation is unchanged
  EXPECT_DOUBLE_EQ(r.info.at("classifier_p"), 0.2);
  r = env.Step(hold);  // p = 0.9 although the cube is on the table: a false positive
  EXPECT_EQ(r.reward, 1.0);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.info.at("success"), 1.0);
  EXPECT_EQ(r.info.at("true_success"), 0.0);
  EXPECT_EQ(env.confusion().false_positive, 1);
  EXPECT_EQ(env.confusion().true_negative, 1);
  EXPECT_DOUBLE_EQ(env.confusion().false_positive_rate(), 0.5);
  // A state condition the observation fails vetoes the classifier.
  RewardClassifierWrapper strict(MakeEnv(config), [](const Observation&) { return 0.99; }, {"wrist"}, 64, 0.75,
                                 {{"tcp_pose", 2, 5.0, 10.0}});
  strict.Reset(3);
  EXPECT_FALSE(strict.Step(hold).terminated);
  // Bad configuration is refused with names.
  EXPECT_THROW(RewardClassifierWrapper(MakeEnv(config), probability, {"no_camera"}, 64, 0.75), InvalidArgument);
  EXPECT_THROW(RewardClassifierWrapper(MakeEnv(config), probability, {"wrist"}, 64, 1.5), InvalidArgument);
  EXPECT_THROW(RewardClassifierWrapper(MakeEnv(config), probability, {"wrist"}, 64, 0.75, {{"tcp_pose", 9}}),
               InvalidArgument);
}

}  // namespace
}  // namespace hilserl
