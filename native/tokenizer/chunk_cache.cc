#include "tokenizer/chunk_cache.h"

#include <cstring>

namespace ar {

ChunkCache::ChunkCache() { clear(1 << 12); }

void ChunkCache::clear(size_t capacity) {
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  used_ = 0;
  keys_.clear();
  ids_.clear();
}

const int32_t* ChunkCache::find(std::string_view chunk, uint64_t hash, size_t* count) const {
  hash |= 1;
  for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
    const Slot& s = slots_[i];
    if (s.hash == 0) return nullptr;
    if (s.hash == hash && s.key_length == chunk.size() &&
        std::memcmp(keys_.data() + s.key_offset, chunk.data(), chunk.size()) == 0) {
      *count = s.ids_length;
      return ids_.data() + s.ids_offset;
    }
  }
}

void ChunkCache::insert(std::string_view chunk, uint64_t hash, const int32_t* ids, size_t count) {
  if (chunk.size() > kMaxKeyBytes || count > chunk.size()) return;
  if (used_ >= kMaxEntries) clear(1 << 12);
  if (2 * (used_ + 1) > slots_.size()) grow();
  hash |= 1;
  size_t i = hash & mask_;
  while (slots_[i].hash != 0) i = (i + 1) & mask_;
  Slot& s = slots_[i];
  s.hash = hash;
  s.key_offset = static_cast<uint32_t>(keys_.size());
  s.key_length = static_cast<uint16_t>(chunk.size());
  s.ids_offset = static_cast<uint32_t>(ids_.size());
  s.ids_length = static_cast<uint16_t>(count);
  keys_.append(chunk);
  ids_.insert(ids_.end(), ids, ids + count);
  used_++;
}

void ChunkCache::grow() {
  std::vector<Slot> old;
  old.swap(slots_);
  slots_.assign(old.size() * 2, Slot{});
  mask_ = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.hash == 0) continue;
    size_t i = s.hash & mask_;
    while (slots_[i].hash != 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

}  // namespace ar
