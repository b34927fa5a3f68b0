#include "core/rng.h"

#include <gtest/gtest.h>

namespace hilserl {
namespace {

TEST(RngTest, SameSeedSameSequence) {
  Rng a(7), b(7), c(8);
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    differs |= (x != c.NextU64());
  }
  EXPECT_TRUE(differs);
}

TEST(RngTest, UniformAndNormalMoments) {
  Rng rng(1);
  double sum = 0, sum_n = 0, sum_n2 = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const double u = rng.Uniform(2.0, 4.0);
    ASSERT_GE(u, 2.0);
    ASSERT_LT(u, 4.0);
    sum += u;
    const double z = rng.Normal();
    sum_n += z;
    sum_n2 += z * z;
  }
  EXPECT_NEAR(sum / n, 3.0, 0.02);
  EXPECT_NEAR(sum_n / n, 0.0, 0.03);
  EXPECT_NEAR(sum_n2 / n, 1.0, 0.05);
}

TEST(RngTest, UniformIntCoversRange) {
  Rng rng(3);
  int counts[5] = {};
  for (int i = 0; i < 5000; ++i) counts[rng.UniformInt(5)]++;
  for (int c : counts) EXPECT_GT(c, 850);
}

}  // namespace
}  // namespace hilserl
