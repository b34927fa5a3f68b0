#include "core/spaces.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "core/error.h"

namespace hilserl {
namespace {

VectorSpace ActionSpace() {
  return VectorSpace{"action", {"x", "y", "gripper"}, {-1, -1, -1}, {1, 1, 1}};
}

TEST(VectorSpaceTest, CheckFiniteNamesComponent) {
  const VectorSpace s = ActionSpace();
  EXPECT_NO_THROW(s.CheckFinite({0, 0.5f, 1}, "policy"));
  try {
    s.CheckFinite({0, std::numeric_limits<float>::quiet_NaN(), 1}, "policy");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("component 1 ('y')"), std::string::npos) << e.what();
  }
  try {
    s.CheckFinite({0, 0}, "policy");
    FAIL();
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("expected 3 values"), std::string::npos) << e.what();
  }
}

TEST(VectorSpaceTest, ClipAndIndex) {
  const VectorSpace s = ActionSpace();
  EXPECT_EQ(s.Clip({2, -3, 0.5f}), (std::vector<float>{1, -1, 0.5f}));
  EXPECT_EQ(s.IndexOf("gripper"), 2);
  EXPECT_EQ(s.IndexOf("z"), -1);
}

TEST(VectorSpaceTest, ValidateRejectsInvertedBounds) {
  VectorSpace s = ActionSpace();
  s.low[0] = 2;
  EXPECT_THROW(s.Validate(), InvalidArgument);
}

TEST(ObservationSpecTest, CheckMatchesFindsWrongShapes) {
  ObservationSpec spec;
  spec.images.push_back({"front", 4, 4, 3});
  spec.proprio.push_back({"tcp", {}, {0, 0, 0}, {1, 1, 1}});
  Observation obs;
  obs.images["front"] = Image(4, 4);
  obs.proprio["tcp"] = {0, 0, 0};
  EXPECT_NO_THROW(spec.CheckMatches(obs));
  obs.images["front"] = Image(4, 5);
  EXPECT_THROW(spec.CheckMatches(obs), DataLoss);
  obs.images["front"] = Image(4, 4);
  obs.proprio["tcp"] = {0};
  EXPECT_THROW(spec.CheckMatches(obs), DataLoss);
  obs.proprio.erase("tcp");
  EXPECT_THROW(spec.CheckMatches(obs), NotFound);
}

}  // namespace
}  // namespace hilserl
