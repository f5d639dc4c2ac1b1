#include "tokenizer/utf8.h"

#include <cstdint>

namespace ar {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// One step of the WHATWG UTF-8 decoder, shared by the validator and the replacer: the
// number of bytes of a valid sequence starting at s[i], or 0 when the bytes there are not
// one; *invalid_len is then the length of the maximal invalid subpart (at least 1).
size_t sequence_length(const unsigned char* s, size_t n, size_t i, size_t* invalid_len) {
  unsigned char b = s[i];
  if (b < 0x80) return 1;
  size_t need;
  unsigned char lower = 0x80, upper = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lower = 0xA0;
    if (b == 0xED) upper = 0x9F;  // no UTF-16 surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lower = 0x90;
    if (b == 0xF4) upper = 0x8F;  // nothing above U+10FFFF
  } else {
    *invalid_len = 1;
    return 0;
  }
  size_t j = i + 1;
  for (size_t k = 0; k < need; k++, j++) {
    if (j >= n || s[j] < lower || s[j] > upper) {
      *invalid_len = j - i;  // the lead byte and the continuation bytes accepted so far
      return 0;
    }
    lower = 0x80;
    upper = 0xBF;
  }
  return need + 1;
}

}  // namespace

bool valid_utf8(std::string_view s) {
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0, bad = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t len = sequence_length(p, n, i, &bad);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

Utf8Prefix utf8_prefix(std::string_view s, size_t max_code_points) {
  Utf8Prefix out;
  auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  while (out.bytes < n && out.code_points < max_code_points) {
    // Skip the continuation bytes of the current code point.
    out.bytes++;
    while (out.bytes < n && (p[out.bytes] & 0xC0) == 0x80) out.bytes++;
    out.code_points++;
  }
  return out;
}

std::string replace_invalid_utf8(std::string_view bytes) {
  auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  size_t n = bytes.size(), i = 0, bad = 0;
  std::string out;
  out.reserve(n);
  size_t run = 0;  // start of the current run of valid bytes
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t len = sequence_length(p, n, i, &bad);
    if (len) {
      i += len;
      continue;
    }
    out.append(bytes.data() + run, i - run);
    out.append(kReplacement);
    i += bad;
    run = i;
  }
  out.append(bytes.data() + run, n - run);
  return out;
}

}  // namespace ar
