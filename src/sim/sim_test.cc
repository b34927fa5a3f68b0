#include <cmath>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/paths.h"
#include "sim/arm.h"
#include "sim/controller.h"
#include "sim/model.h"
#include "sim/renderer.h"

namespace hilserl::sim {
namespace {

const std::string kScene = "assets/pick_cube.xml";

struct Fixture {
  ModelPtr model = LoadModel(ResolvePath(kScene), 128, 128);
  DataPtr data = MakeData(model.get());
  Arm arm{model.get()};
  ImpedanceOptions options;

  Fixture() {
    mj_resetData(model.get(), data.get());
    Arm::JointVector q;
    for (int i = 0; i < Arm::kDof; ++i) q[i] = options.home_joints[i];
    arm.SetJointPositions(data.get(), q);
    arm.SetGripperOpening(data.get(), 1.0);
    mj_forward(model.get(), data.get());
  }

  void Track(ImpedanceController& c, const Pose& target, double seconds) {
    const int n = static_cast<int>(seconds / model->opt.timestep);
    for (int i = 0; i < n; ++i) {
      mj_step1(model.get(), data.get());
      c.Apply(model.get(), data.get(), target);
      mj_step2(model.get(), data.get());
    }
  }
};

TEST(ControllerTest, TracksTargetWithinTolerance) {
  Fixture f;
  ImpedanceController c(f.model.get(), &f.arm, f.options);
  const Pose home = f.arm.TcpPose(f.data.get());
  // A 5 cm / 5 cm / -10 cm move with a 0.2 rad twist about z.
  Pose target(home.translation + Eigen::Vector3d(0.05, -0.05, -0.10),
              ExpRotation(Eigen::Vector3d(0, 0, 0.2)) * home.rotation);
  f.Track(c, target, 1.5);
  const Pose now = f.arm.TcpPose(f.data.get());
  EXPECT_LT((now.translation - target.translation).norm(), 0.002);  // 2 mm
  EXPECT_LT(LogRotation(target.rotation * now.rotation.conjugate()).norm(), 0.01);  // 0.6 deg
  EXPECT_LT(f.arm.TcpVelocity(f.model.get(), f.data.get()).norm(), 0.01);
}

TEST(ControllerTest, ReferenceLimitingBoundsErrorAndTorques) {
  Fixture f;
  f.options.max_translation_error = 0.01;
  f.options.max_rotation_error = 0.05;
  ImpedanceController c(f.model.get(), &f.arm, f.options);
  const Pose home = f.arm.TcpPose(f.data.get());
  const Pose far(home.translation + Eigen::Vector3d(0.3, 0.3, -0.3),
                 ExpRotation(Eigen::Vector3d(0.5, 0, 1.0)) * home.rotation);
  double max_speed = 0;
  for (int i = 0; i < 200; ++i) {
    mj_step1(f.model.get(), f.data.get());
    c.Apply(f.model.get(), f.data.get(), far);
    EXPECT_LE(c.last_error().head<3>().cwiseAbs().maxCoeff(), 0.01 + 1e-12);
    EXPECT_LE(c.last_error().tail<3>().cwiseAbs().maxCoeff(), 0.05 + 1e-12);
    for (int j = 0; j < Arm::kDof; ++j) {
      EXPECT_LE(std::abs(f.data->ctrl[f.arm.actuators()[j]]), f.arm.torque_limit()[j] + 1e-9);
    }
    mj_step2(f.model.get(), f.data.get());
    max_speed = std::max(max_speed, f.arm.TcpVelocity(f.model.get(), f.data.get()).head<3>().norm());
  }
  // Steady-state speed under saturated error is kp * e_max / kd per axis, well below 1 m/s.
  EXPECT_LT(max_speed, 0.5);
}

TEST(ControllerTest, OptionsValidate) {
  ImpedanceOptions o;
  o.kp_translation = -1;
  EXPECT_THROW(o.Validate(), InvalidArgument);
  ImpedanceOptions p;
  p.home_joints = {0, 0};
  EXPECT_THROW(p.Validate(), InvalidArgument);
}

TEST(SimTest, SameInitialStateGivesSameTrajectory) {
  auto run = [] {
    Fixture f;
    ImpedanceController c(f.model.get(), &f.arm, f.options);
    const Pose home = f.arm.TcpPose(f.data.get());
    f.Track(c, Pose(home.translation + Eigen::Vector3d(0.05, 0.02, -0.2), home.rotation), 0.5);
    return std::vector<double>(f.data->qpos, f.data->qpos + f.model->nq);
  };
  EXPECT_EQ(run(), run());
}

double StdDev(const Image& img) {
  double sum = 0, sum2 = 0;
  for (uint8_t v : img.data) {
    sum += v;
    sum2 += static_cast<double>(v) * v;
  }
  const double n = static_cast<double>(img.data.size());
  return std::sqrt(std::max(0.0, sum2 / n - (sum / n) * (sum / n)));
}

TEST(RendererTest, BothCamerasRenderDifferentNonBlankImages) {
  Fixture f;
  OffscreenRenderer r(f.model.get(), 128, 128);
  const Image front = r.Render(f.data.get(), CameraId(f.model.get(), "front"));
  const Image wrist = r.Render(f.data.get(), CameraId(f.model.get(), "wrist"));
  ASSERT_EQ(front.height, 128);
  ASSERT_EQ(front.width, 128);
  ASSERT_EQ(front.data.size(), 128u * 128u * 3u);
  EXPECT_GT(StdDev(front), 10.0);
  EXPECT_GT(StdDev(wrist), 10.0);
  size_t differing = 0;
  for (size_t i = 0; i < front.data.size(); ++i) differing += front.data[i] != wrist.data[i];
  EXPECT_GT(differing, front.data.size() / 4);
  // Rendering is deterministic for the same state.
  EXPECT_EQ(front, r.Render(f.data.get(), CameraId(f.model.get(), "front")));
}

TEST(RendererTest, RejectsSizeLargerThanOffscreenBuffer) {
  Fixture f;
  const int w = f.model->vis.global.offwidth + 1;
  EXPECT_THROW(OffscreenRenderer(f.model.get(), w, 64), InvalidArgument);
}

TEST(ModelTest, MissingAndMalformedFilesGiveClearErrors) {
  EXPECT_THROW(LoadModel("/nonexistent/scene.xml"), NotFound);
  const auto path = std::filesystem::temp_directory_path() / "hilserl_bad_scene.xml";
  std::ofstream(path) << "<mujoco><worldbody><body><geom type='box'/></body></worldbody>";
  try {
    LoadModel(path.string());
    FAIL() << "expected an error";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  Fixture f;
  EXPECT_THROW(JointId(f.model.get(), "no_such_joint"), NotFound);
}

}  // namespace
}  // namespace hilserl::sim
