#include "core/bfloat16.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace hilserl {
namespace {

TEST(Bfloat16Test, RoundsToNearestEvenAndKeepsSpecialValues) {
  for (float v : {0.0f, 1.0f, -2.5f, 0.15625f, 3.0e38f, -1.0e-30f}) {
    const float back = Bfloat16ToFloat(FloatToBfloat16(v));
    EXPECT_NEAR(back, v, std::abs(v) * (1.0f / 256.0f)) << v;
  }
  // Spacing near 1 is 2^-7: halfway values round to the even neighbour.
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.0f + 1.0f / 256.0f)), 1.0f);
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(1.0f + 3.0f / 256.0f)), 1.0f + 4.0f / 256.0f);
  EXPECT_EQ(Bfloat16ToFloat(FloatToBfloat16(std::numeric_limits<float>::infinity())),
            std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(Bfloat16ToFloat(FloatToBfloat16(std::nanf("")))));
}

}  // namespace
}  // namespace hilserl
