#include "core/geometry.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

#include "core/rng.h"

namespace hilserl {
namespace {

Pose RandomPose(Rng& rng) {
  Eigen::Vector3d t(rng.Uniform(-1, 1), rng.Uniform(-1, 1), rng.Uniform(-1, 1));
  Eigen::Vector3d w(rng.Uniform(-2, 2), rng.Uniform(-2, 2), rng.Uniform(-2, 2));
  return Pose(t, ExpRotation(w));
}

TEST(GeometryTest, InverseComposesToIdentity) {
  Rng rng(1);
  for (int i = 0; i < 20; ++i) {
    const Pose a = RandomPose(rng);
    const Pose id = a * a.Inverse();
    EXPECT_LT(id.translation.norm(), 1e-12);
    EXPECT_LT(LogRotation(id.rotation).norm(), 1e-9);
  }
}

TEST(GeometryTest, CompositionMatchesHomogeneousMatrices) {
  Rng rng(2);
  const Pose a = RandomPose(rng), b = RandomPose(rng);
  Eigen::Matrix4d ma = Eigen::Matrix4d::Identity(), mb = Eigen::Matrix4d::Identity();
  ma.topLeftCorner<3, 3>() = a.rotation.toRotationMatrix();
  ma.topRightCorner<3, 1>() = a.translation;
  mb.topLeftCorner<3, 3>() = b.rotation.toRotationMatrix();
  mb.topRightCorner<3, 1>() = b.translation;
  const Eigen::Matrix4d mab = ma * mb;
  const Pose ab = a * b;
  EXPECT_LT((ab.translation - mab.topRightCorner<3, 1>()).norm(), 1e-12);
  EXPECT_LT((ab.rotation.toRotationMatrix() - mab.topLeftCorner<3, 3>()).norm(), 1e-12);
}

TEST(GeometryTest, LogExpRoundTrip) {
  const Eigen::Vector3d w(0.3, -0.2, 1.1);
  EXPECT_LT((LogRotation(ExpRotation(w)) - w).norm(), 1e-12);
  const Eigen::Vector3d tiny(1e-14, 0, 0);
  EXPECT_LT((LogRotation(ExpRotation(tiny)) - tiny).norm(), 1e-15);
  // Angle pi about z.
  EXPECT_NEAR(LogRotation(ExpRotation(Eigen::Vector3d(0, 0, std::numbers::pi))).norm(),
              std::numbers::pi, 1e-9);
}

TEST(GeometryTest, Vector7RoundTripCanonicalisesSign) {
  Pose p(Eigen::Vector3d(0.1, 0.2, 0.3), Eigen::Quaterniond(-0.5, 0.5, -0.5, 0.5));
  const auto v = p.ToVector7();
  EXPECT_GE(v[3], 0.0f);
  const Pose q = Pose::FromVector7(v);
  EXPECT_LT((q.translation - p.translation).norm(), 1e-6);
  EXPECT_NEAR(std::abs(q.rotation.dot(p.rotation)), 1.0, 1e-6);
}

TEST(SafetyBoxTest, ClipKeepsEveryTargetInside) {
  SafetyBox box;
  box.nominal_orientation = ExpRotation(Eigen::Vector3d(std::numbers::pi, 0, 0));
  box.max_rotation = 0.3;
  Rng rng(3);
  for (int i = 0; i < 200; ++i) {
    Pose target(Eigen::Vector3d(rng.Uniform(-2, 2), rng.Uniform(-2, 2), rng.Uniform(-2, 2)),
                ExpRotation(Eigen::Vector3d(rng.Uniform(-3, 3), rng.Uniform(-3, 3), rng.Uniform(-3, 3))));
    const Pose clipped = box.Clip(target);
    EXPECT_TRUE(box.Contains(clipped, 1e-9)) << i;
  }
  // A target inside is unchanged.
  Pose inside(Eigen::Vector3d(0.4, 0.0, 0.2), box.nominal_orientation);
  const Pose same = box.Clip(inside);
  EXPECT_LT((same.translation - inside.translation).norm(), 1e-12);
  EXPECT_NEAR(std::abs(same.rotation.dot(inside.rotation)), 1.0, 1e-12);
}

TEST(SafetyBoxTest, ValidateRejectsEmptyBox) {
  SafetyBox box;
  box.low.x() = 1.0;
  box.high.x() = 0.0;
  EXPECT_THROW(box.Validate(), std::exception);
}

}  // namespace
}  // namespace hilserl
