// The encoder's memo: chunk bytes -> token ids. Natural text repeats a small set of chunks
// (" the", ",", " of" ...), so most chunks are encoded once and then looked up.
// - One cache per thread (no locks on the hot path); the tokenizer keeps a pool of them so
//   they survive from one encode call to the next.
// - Open addressing over two arenas (key bytes, ids): no allocation per entry.
// - Bounded: only chunks up to kMaxKeyBytes are kept, and the whole cache is cleared when it
//   reaches kMaxEntries (cheaper than an eviction policy, and rare in practice).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ar {

class ChunkCache {
 public:
  static constexpr size_t kMaxKeyBytes = 64;
  static constexpr size_t kMaxEntries = 1 << 18;  // ~20 MB at most per cache

  ChunkCache();

  // The ids of chunk (hash = hash_bytes(chunk)), or nullptr; *count receives their number.
  const int32_t* find(std::string_view chunk, uint64_t hash, size_t* count) const;
  void insert(std::string_view chunk, uint64_t hash, const int32_t* ids, size_t count);
  size_t size() const { return used_; }

 private:
  struct Slot {
    uint64_t hash = 0;  // 0: empty (real hashes are forced odd)
    uint32_t key_offset = 0, ids_offset = 0;
    uint16_t key_length = 0, ids_length = 0;
  };
  void clear(size_t capacity);
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0, used_ = 0;
  std::string keys_;
  std::vector<int32_t> ids_;
};

}  // namespace ar
