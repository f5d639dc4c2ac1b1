// Small open-addressing hash tables for the tokenizer's hot paths, where std::unordered_map's
// node allocations and pointer chasing dominate: a byte-string hash (64-bit multiply-mix over
// 8-byte words, good enough for short chunks, not for adversarial input) and a read-only map
// from a token pair to the rank of their concatenation (linear probing, load <= 1/2).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace ar {

inline uint64_t mix64(uint64_t x) {
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  x *= 0xD6E8FEB86659FD93ull;
  x ^= x >> 32;
  return x;
}

inline uint64_t hash_bytes(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = mix64(h ^ w) + 0x9E3779B97F4A7C15ull;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  return mix64(h ^ w ^ (static_cast<uint64_t>(n) << 59));
}

inline uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// (left, right) -> rank, built once, then read concurrently by any number of threads.
class PairRankMap {
 public:
  static constexpr int32_t kNone = INT32_MAX;

  void reserve(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    slots_.assign(cap, Slot{kEmpty, kNone});
    mask_ = cap - 1;
  }
  // reserve() first, for at least the number of insertions.
  void insert(int32_t left, int32_t right, int32_t rank) {
    uint64_t key = pair_key(left, right);
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].key == kEmpty || slots_[i].key == key) {
        slots_[i] = Slot{key, rank};
        return;
      }
    }
  }
  // Rank of the token whose bytes are left's then right's, or kNone.
  int32_t find(int32_t left, int32_t right) const {
    uint64_t key = pair_key(left, right);
    for (size_t i = mix64(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.rank;
      if (s.key == kEmpty) return kNone;
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;  // ids are < 2^31, so no real pair has this key
  struct Slot {
    uint64_t key;
    int32_t rank;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace ar
