// Deterministic, portable random numbers (xoshiro256** seeded through splitmix64).
//
// std:: distributions differ between standard libraries; these do not, so a seed gives
// the same episode everywhere. Not thread-safe: each thread/env owns its own Rng.
#pragma once

#include <cstdint>

namespace hilserl {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { Seed(seed); }

  void Seed(uint64_t seed);
  uint64_t NextU64();
  // Uniform in [0, 1).
  double Uniform01() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }
  // Uniform in [lo, hi).
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform01(); }
  // Standard normal (Box-Muller; one value per call, deterministic).
  double Normal();
  // Uniform integer in [0, n). n must be > 0.
  uint64_t UniformInt(uint64_t n);
  // An independent stream derived from this one (for sub-components).
  Rng Fork() { return Rng(NextU64()); }

 private:
  uint64_t s_[4];
};

}  // namespace hilserl
