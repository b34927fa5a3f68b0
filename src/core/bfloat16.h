// bfloat16 storage: the upper 16 bits of an IEEE float, rounded to nearest even. Used to
// store cached encoder features at half the memory of float with float's range (8 bits
// of mantissa: relative error <= 2^-9, plenty for features fed to a trained head).
#pragma once

#include <cstdint>
#include <cstring>

namespace hilserl {

inline uint16_t FloatToBfloat16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0) {
    return static_cast<uint16_t>((bits >> 16) | 0x0040u);  // NaN stays a (quiet) NaN
  }
  const uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>((bits + rounding) >> 16);
}

inline float Bfloat16ToFloat(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

}  // namespace hilserl
