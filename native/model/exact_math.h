// exp(cap * tanh(u)) for the evaluation's soft-capped softmax, in double precision, 4 or 8
// lanes at a time: the terms whose sum is the denominator of every scored token's probability. Where
// model/fast_math.h trades accuracy for speed (tanh with an absolute error of ~1e-7, which the
// cap turns into ~1.5e-6 relative error per term), this is exact to double precision: within
// ~5e-15 relative of the true value for the float32 input (checked against std::exp(cap *
// std::tanh(u)) in test/native/eval-clones.test.ts).
//
// The same bits on every CPU: only IEEE additions, multiplications, divisions, comparisons and
// integer bit operations, each of which rounds the same way in SSE2 and AVX2 code. The one
// thing a compiler could make differ is a fused multiply-add, which rounds once where a
// multiply and an add round twice, and GCC fuses them whenever the target has FMA
// (-ffp-contract=fast is its default). So on x86-64 these functions are only inlined into
// code compiled for targets without FMA (the baseline and plain "avx2") or with contraction
// turned off (the AVX-512 one, whose instruction set has its own fused multiply-adds; see
// softcap_cross_entropy.cc). Other architectures have one variant, compiled as the build says.
//
// Method: with h = 1 / steps, u = j h + r (|r| <= h / 2) and T = tanh(j h) from a table,
//   tanh(u) = (T + tau) / (1 + T tau),  tau = tanh(r)  (the addition theorem), so
//   cap tanh(u) = cap T + delta,  delta = A tau / (1 + T tau),  A = cap (1 - T^2), and
//   exp(cap tanh(u)) = E exp(delta),  E = exp(cap T) from the same table.
// tau and exp(delta) are short Taylor series: |r| <= 1/128 and |delta| < 0.13 (steps >= 4 cap),
// where the first omitted terms are below 1e-20 and 3e-16. The table holds T, A and E for
// u in [-20, 20], beyond which tanh(u) is +-1 in double precision (u is clamped there).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "model/fast_math.h"  // AR_ALWAYS_INLINE, float8

namespace ar {

typedef double double4 __attribute__((vector_size(32)));
typedef int64_t int64x4 __attribute__((vector_size(32)));
typedef float float4 __attribute__((vector_size(16)));

// The table of one soft-cap value (built once per cap, ~60 KB at cap 15).
struct SoftcapExpTable {
  struct Entry {
    double T, A, E, pad;  // tanh(j h), cap (1 - T^2), exp(cap T); 32 bytes: two to a cache line
  };
  static constexpr double kRange = 20.0;  // |u| beyond this: tanh(u) = +-1 in double precision
  double cap;
  int64_t steps;     // table points per unit of u: the power of two >= max(64, 4 cap)
  int64_t offset;    // index of u = 0
  std::vector<Entry> entries;

  explicit SoftcapExpTable(double cap_) : cap(cap_) {
    steps = 64;
    while (steps < 4.0 * cap) steps *= 2;
    offset = static_cast<int64_t>(kRange) * steps;
    entries.resize(static_cast<size_t>(2 * offset + 1));
    for (int64_t j = -offset; j <= offset; j++) {
      const double T = std::tanh(static_cast<double>(j) / static_cast<double>(steps));
      entries[static_cast<size_t>(j + offset)] = {T, cap * ((1.0 - T) * (1.0 + T)), std::exp(cap * T), 0.0};
    }
  }
};

// The table entries (T, A, E, pad) of 4 lanes' indices j, loaded whole and transposed.
AR_ALWAYS_INLINE void softcap_lookup(const SoftcapExpTable& t, int64x4 j, double4& T, double4& A, double4& E) {
  double4 e0, e1, e2, e3;
  std::memcpy(&e0, &t.entries[static_cast<size_t>(j[0])], sizeof e0);
  std::memcpy(&e1, &t.entries[static_cast<size_t>(j[1])], sizeof e1);
  std::memcpy(&e2, &t.entries[static_cast<size_t>(j[2])], sizeof e2);
  std::memcpy(&e3, &t.entries[static_cast<size_t>(j[3])], sizeof e3);
  const double4 te01 = __builtin_shuffle(e0, e1, int64x4{0, 4, 2, 6});  // T0 T1 E0 E1
  const double4 ap01 = __builtin_shuffle(e0, e1, int64x4{1, 5, 3, 7});  // A0 A1 .. ..
  const double4 te23 = __builtin_shuffle(e2, e3, int64x4{0, 4, 2, 6});
  const double4 ap23 = __builtin_shuffle(e2, e3, int64x4{1, 5, 3, 7});
  T = __builtin_shuffle(te01, te23, int64x4{0, 1, 4, 5});
  E = __builtin_shuffle(te01, te23, int64x4{2, 3, 6, 7});
  A = __builtin_shuffle(ap01, ap23, int64x4{0, 1, 4, 5});
}

// The 8-lane forms need __builtin_shufflevector (GCC 12 and later, clang); only the AVX-512
// clone, which needs GCC 12 anyway, uses them.
#if defined(__clang__) || __GNUC__ >= 12
#define AR_EXACT_SUM8 1
typedef double double8 __attribute__((vector_size(64)));
typedef int64_t int64x8 __attribute__((vector_size(64)));

// 8 lanes: the two halves' entries, put together (in registers: a vector stored in halves and
// loaded whole would stall on the store).
AR_ALWAYS_INLINE void softcap_lookup(const SoftcapExpTable& t, int64x8 j, double8& T, double8& A, double8& E) {
  double4 T_lo, A_lo, E_lo, T_hi, A_hi, E_hi;
  softcap_lookup(t, __builtin_shufflevector(j, j, 0, 1, 2, 3), T_lo, A_lo, E_lo);
  softcap_lookup(t, __builtin_shufflevector(j, j, 4, 5, 6, 7), T_hi, A_hi, E_hi);
  T = __builtin_shufflevector(T_lo, T_hi, 0, 1, 2, 3, 4, 5, 6, 7);
  A = __builtin_shufflevector(A_lo, A_hi, 0, 1, 2, 3, 4, 5, 6, 7);
  E = __builtin_shufflevector(E_lo, E_hi, 0, 1, 2, 3, 4, 5, 6, 7);
}
#endif

// exp(cap * tanh(u)) for 4 or 8 doubles u (D is double4 or double8, I the int64 vector of as
// many lanes; each u is exactly a float: the head's fp32 output z / cap). Every lane goes
// through the same operations whatever the width. Lanes holding NaN are marked in `nan`
// (their results are meaningless).
template <typename D, typename I>
AR_ALWAYS_INLINE D softcap_exp(D u, const SoftcapExpTable& t, I& nan) {
  nan |= u != u;
  const double range = SoftcapExpTable::kRange;
  u = u >= -range ? u : D{} - range;  // NaN goes here too: it must index the table somewhere
  u = u <= range ? u : D{} + range;
  // j = round(u * steps) through the 1.5 * 2^52 shifter (its addition rounds to nearest);
  // r = u - j h is exact (u and j h are within a factor of two of each other, or j = 0).
  const double shifter = 0x1.8p52;
  const int64_t shifter_bits = 0x4338000000000000LL;
  D kj = u * static_cast<double>(t.steps) + shifter;
  const I j = reinterpret_cast<I>(kj) - shifter_bits + t.offset;
  kj -= shifter;
  const D r = u - kj * (1.0 / static_cast<double>(t.steps));
  D T, A, E;
  softcap_lookup(t, j, T, A, E);
  // tau = tanh(r) = r - r^3/3 + 2 r^5/15 - 17 r^7/315 + ...
  const D r2 = r * r;
  const D tau = r + (r * r2) * ((-1.0 / 3) + r2 * ((2.0 / 15) + r2 * (-17.0 / 315)));
  const D d = A * tau / (1.0 + T * tau);
  // exp(d) to d^9 / 9!, in Estrin's order (shorter chains of dependent operations).
  const D d2 = d * d, d4 = d2 * d2, d8 = d4 * d4;
  const D p01 = 1.0 + d, p23 = 0.5 + d * (1.0 / 6), p45 = (1.0 / 24) + d * (1.0 / 120);
  const D p67 = (1.0 / 720) + d * (1.0 / 5040), p89 = (1.0 / 40320) + d * (1.0 / 362880);
  const D exp_d = ((p01 + d2 * p23) + d4 * (p45 + d2 * p67)) + d8 * p89;
  return E * exp_d;
}

// 4 floats from u[0, min(count, 4)) as doubles, the other lanes 0. (Through an array: GCC 12
// crashes on a variable-length copy straight into the vector in baseline x86-64 code.)
AR_ALWAYS_INLINE double4 load_double4(const float* u, int64_t count) {
  float lanes[4] = {0, 0, 0, 0};
  std::memcpy(lanes, u, sizeof(float) * static_cast<size_t>(count < 4 ? count : 4));
  float4 f;
  std::memcpy(&f, lanes, sizeof f);
  return __builtin_convertvector(f, double4);
}

// The end of a row's sum: the two lanes of partial sums over u[0, v), then the lanes, then
// the last terms u[v, V) one by one. NaN if any u is.
AR_ALWAYS_INLINE double finish_exp_sum(double4 acc0, double4 acc1, int64x4 nan, const float* u, int64_t v, int64_t V,
                                       const SoftcapExpTable& t) {
  acc0 += acc1;
  double sum = (acc0[0] + acc0[1]) + (acc0[2] + acc0[3]);
  for (; v < V; v += 4) {
    const double4 tail = softcap_exp(load_double4(u + v, V - v), t, nan);
    for (int64_t l = 0; l < 4 && v + l < V; l++) sum += tail[l];
  }
  return (nan[0] | nan[1] | nan[2] | nan[3]) != 0 ? std::nan("") : sum;
}

// Sum over a row of exp(cap * tanh(u[v])), in a fixed order: two lanes of partial sums
// (8 terms an iteration), then the lanes, then the row's last V % 8 terms. NaN if any u is.
AR_ALWAYS_INLINE double softcap_exp_sum_exact(const float* u, int64_t V, const SoftcapExpTable& t) {
  double4 acc0{}, acc1{};
  int64x4 nan{};
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) {
    float4 f0, f1;
    std::memcpy(&f0, u + v, sizeof f0);
    std::memcpy(&f1, u + v + 4, sizeof f1);
    acc0 += softcap_exp(__builtin_convertvector(f0, double4), t, nan);
    acc1 += softcap_exp(__builtin_convertvector(f1, double4), t, nan);
  }
  return finish_exp_sum(acc0, acc1, nan, u, v, V, t);
}

#ifdef AR_EXACT_SUM8
// The same sum, the same bits, 8 lanes at a time (for AVX-512): lanes 0-3 of the accumulator
// add up exactly what acc0 does above, lanes 4-7 what acc1 does, in the same order.
AR_ALWAYS_INLINE double softcap_exp_sum_exact8(const float* u, int64_t V, const SoftcapExpTable& t) {
  double8 acc{};
  int64x8 nan8{};
  int64_t v = 0;
  for (; v + 8 <= V; v += 8) {
    float8 f;
    std::memcpy(&f, u + v, sizeof f);
    acc += softcap_exp(__builtin_convertvector(f, double8), t, nan8);
  }
  const double4 acc0 = __builtin_shufflevector(acc, acc, 0, 1, 2, 3), acc1 = __builtin_shufflevector(acc, acc, 4, 5, 6, 7);
  const int64x4 nan = __builtin_shufflevector(nan8, nan8, 0, 1, 2, 3) | __builtin_shufflevector(nan8, nan8, 4, 5, 6, 7);
  return finish_exp_sum(acc0, acc1, nan, u, v, V, t);
}
#endif

}  // namespace ar
