#include "data/token_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "runtime/errors.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "token files are little-endian; this host is not");

namespace ar {
namespace {

const char* const kPrepare = "run `autoresearch prepare` to download and tokenize the data";

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

template <typename Id>
void find_starts(const Id* ids, uint64_t count, Id bos, std::vector<uint64_t>& starts) {
  for (uint64_t i = 0; i < count; i++) {
    if (ids[i] == bos) starts.push_back(i);
  }
}

template <typename Id>
void widen(const Id* ids, uint64_t count, int32_t* out) {
  for (uint64_t i = 0; i < count; i++) out[i] = static_cast<int32_t>(ids[i]);
}

}  // namespace

TokenDtype parse_token_dtype(const std::string& name) {
  if (name == "uint16") return TokenDtype::kUint16;
  if (name == "uint32") return TokenDtype::kUint32;
  throw InvalidArgument("dtype '" + name + "' is not a token file dtype: use 'uint16' (vocabulary up to 65536) or 'uint32'");
}

const char* token_dtype_name(TokenDtype dtype) { return dtype == TokenDtype::kUint16 ? "uint16" : "uint32"; }

size_t token_dtype_bytes(TokenDtype dtype) { return dtype == TokenDtype::kUint16 ? 2 : 4; }

TokenFile::TokenFile(const std::string& path, TokenDtype dtype, uint32_t bos_id)
    : path_(path), dtype_(dtype), bos_id_(bos_id) {
  if (dtype == TokenDtype::kUint16 && bos_id > 0xFFFF) {
    throw InvalidArgument("bosId " + std::to_string(bos_id) + " does not fit a uint16 token file: use dtype 'uint32'");
  }
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    if (errno == ENOENT) throw InvalidArgument("token file " + path + " not found: " + kPrepare);
    throw InvalidArgument("cannot open token file " + path + ": " + std::strerror(errno));
  }
  struct stat st;
  if (::fstat(file.fd, &st) != 0) throw InvalidArgument("cannot stat token file " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw InvalidArgument("token file " + path + " is not a regular file: " + kPrepare);
  bytes_ = static_cast<size_t>(st.st_size);
  size_t width = token_dtype_bytes(dtype);
  if (bytes_ == 0) throw InvalidArgument("token file " + path + " is empty: " + kPrepare);
  if (bytes_ % width != 0) {
    throw InvalidArgument("token file " + path + " has " + std::to_string(bytes_) + " bytes, not a multiple of " +
                          std::to_string(width) + " (" + token_dtype_name(dtype) +
                          "): a truncated file or the wrong dtype; check the dtype or " + kPrepare + " again");
  }
  tokens_ = bytes_ / width;
  void* map = ::mmap(nullptr, bytes_, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (map == MAP_FAILED) throw InvalidArgument("cannot map token file " + path + ": " + std::strerror(errno));
  data_ = map;
  try {
    index_documents();
  } catch (...) {
    ::munmap(const_cast<void*>(data_), bytes_);
    throw;
  }
}

TokenFile::~TokenFile() {
  if (data_) ::munmap(const_cast<void*>(data_), bytes_);
}

void TokenFile::index_documents() {
  uint32_t first = dtype_ == TokenDtype::kUint16 ? static_cast<const uint16_t*>(data_)[0]
                                                  : static_cast<const uint32_t*>(data_)[0];
  if (first != bos_id_) {
    throw InvalidArgument("token file " + path_ + " starts with token " + std::to_string(first) + ", not BOS (" +
                          std::to_string(bos_id_) + "): check bosId and dtype (" + token_dtype_name(dtype_) +
                          "), or " + kPrepare + " again");
  }
  if (dtype_ == TokenDtype::kUint16) {
    find_starts(static_cast<const uint16_t*>(data_), tokens_, static_cast<uint16_t>(bos_id_), starts_);
  } else {
    find_starts(static_cast<const uint32_t*>(data_), tokens_, bos_id_, starts_);
  }
  starts_.shrink_to_fit();
}

DocumentSpan TokenFile::document(size_t index) const {
  uint64_t begin = starts_[index];
  uint64_t end = index + 1 < starts_.size() ? starts_[index + 1] : tokens_;
  return {begin, end - begin};
}

void TokenFile::copy_tokens(uint64_t begin, uint64_t count, int32_t* out) const {
  if (dtype_ == TokenDtype::kUint16) {
    widen(static_cast<const uint16_t*>(data_) + begin, count, out);
  } else {
    widen(static_cast<const uint32_t*>(data_) + begin, count, out);
  }
}

}  // namespace ar
