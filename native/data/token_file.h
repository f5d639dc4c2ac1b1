// A token file, memory-mapped read-only: a flat little-endian array of uint16 or uint32 ids
// in which every document is stored as BOS followed by its tokens (the prepare step writes
// it). BOS never occurs inside a document, so the BOS positions, found once when the file is
// opened, are the document starts. Nothing is copied: the kernel pages the file in on demand
// and shares it between processes; the documents are spans into the mapping.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace ar {

enum class TokenDtype { kUint16, kUint32 };

// "uint16" | "uint32"; throws InvalidArgument otherwise.
TokenDtype parse_token_dtype(const std::string& name);
const char* token_dtype_name(TokenDtype dtype);
size_t token_dtype_bytes(TokenDtype dtype);

// One document: offset of its BOS in the file (in tokens) and its length including the BOS.
struct DocumentSpan {
  uint64_t begin;
  uint64_t length;
};

class TokenFile {
 public:
  // Maps the file and indexes its documents. Throws InvalidArgument, naming the path and the
  // fix, for a missing or unreadable file, an empty one, a size that is not a whole number of
  // ids, a first id that is not BOS, or a bosId that does not fit the dtype.
  TokenFile(const std::string& path, TokenDtype dtype, uint32_t bos_id);
  ~TokenFile();
  TokenFile(const TokenFile&) = delete;
  TokenFile& operator=(const TokenFile&) = delete;

  const std::string& path() const { return path_; }
  TokenDtype dtype() const { return dtype_; }
  uint32_t bos_id() const { return bos_id_; }
  uint64_t tokens() const { return tokens_; }
  size_t documents() const { return starts_.size(); }
  DocumentSpan document(size_t index) const;

  // Copies ids [begin, begin + count) of the file, widened to int32, to out.
  void copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const;

 private:
  void index_documents();

  std::string path_;
  TokenDtype dtype_;
  uint32_t bos_id_;
  const void* data_ = nullptr;  // the mapping
  size_t bytes_ = 0;
  uint64_t tokens_ = 0;
  std::vector<uint64_t> starts_;  // BOS positions, ascending; starts_[0] == 0
};

}  // namespace ar
