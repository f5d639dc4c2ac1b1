// exp and tanh on 8 floats at a time (GCC/Clang vector extensions: AVX registers in the AVX2
// variants of the loops that call them, SSE pairs or NEON elsewhere), for the soft-capped
// softmax of the LM head in training, which evaluates them V times per token. (The evaluation
// uses model/exact_math.h instead: val_bpb does not rest on these approximations.)
// exp: Cephes' expf (range reduction by ln 2 in two parts, degree-6 polynomial), ~1 ulp on
// [-87, 88]; inputs are clamped to that range. tanh(u) = 1 - 2 / (exp(2u) + 1): an absolute
// error of ~1e-7, which is what a soft-capped logit (cap * tanh) needs; exact when saturated.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace ar {

typedef float float8 __attribute__((vector_size(32)));
typedef int32_t int32x8 __attribute__((vector_size(32)));

// Always inlined: the callers are compiled for other targets (AVX2 variants), into which GCC
// does not inline ordinary inline functions.
#define AR_ALWAYS_INLINE inline __attribute__((always_inline))

// a where mask lanes are set (comparison results: all ones), else b; GCC and Clang alike.
AR_ALWAYS_INLINE float8 select8(int32x8 mask, float8 a, float8 b) {
  return reinterpret_cast<float8>((mask & reinterpret_cast<int32x8>(a)) | (~mask & reinterpret_cast<int32x8>(b)));
}

AR_ALWAYS_INLINE float8 fast_exp8(float8 x) {
  const float8 low = float8{} - 87.0f, high = float8{} + 88.0f;
  x = select8(x < low, low, x);
  x = select8(x > high, high, x);
  // n = round(x / ln 2) through the 1.5 * 2^23 trick; r = x - n ln 2 in [-ln2/2, ln2/2].
  const float shifter = 12582912.0f;
  float8 kn = x * 1.44269504088896341f + shifter;
  int32x8 n_bits = reinterpret_cast<int32x8>(kn);
  kn -= shifter;
  float8 r = x - kn * 0.693359375f;
  r = r + kn * 2.12194440e-4f;
  float8 p = float8{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float8 y = p * r * r + r + 1.0f;
  // 2^n: n sits in the low mantissa bits of kn's pattern (offset 0x4B400000).
  int32x8 scale_bits = (n_bits - 0x4B400000 + 127) << 23;
  return y * reinterpret_cast<float8>(scale_bits);
}

AR_ALWAYS_INLINE float8 fast_tanh8(float8 u) { return 1.0f - 2.0f / (fast_exp8(2.0f * u) + 1.0f); }

// Loads u[0, min(count, 8)), the other lanes 0.
AR_ALWAYS_INLINE float8 load8(const float* u, int64_t count) {
  float8 x{};
  std::memcpy(&x, u, sizeof(float) * static_cast<size_t>(std::min<int64_t>(count, 8)));
  return x;
}

}  // namespace ar
