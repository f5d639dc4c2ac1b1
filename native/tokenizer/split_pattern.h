// Pre-tokenization: text is cut into chunks by a regular expression (SPEC §2's GPT-4-style
// pattern) before BPE, so merges never cross chunk boundaries.
// - PCRE2, compiled once with UTF + UCP (\s, \p{L}, \p{N} are Unicode-aware, as in
//   tiktoken's fancy-regex) and JIT-compiled when the platform allows it. Possessive
//   quantifiers and the (?!\S) lookahead are native to PCRE2.
// - The compiled code is shared between threads; match data and the JIT stack are not, so
//   each thread splits through its own SplitScanner.
// - Chunks are the successive matches, exactly like tiktoken's find_iter: text between
//   matches would be skipped (the SPEC pattern matches every character, so none is).
// - A subject is checked for valid UTF-8 once, not once per match (PCRE2's own check would
//   re-scan the rest of the subject at every call: quadratic on long texts).
#pragma once

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>
#include <string>
#include <string_view>

namespace ar {

class SplitPattern {
 public:
  // Throws InvalidArgument naming the position and PCRE2's reason when the pattern is bad.
  explicit SplitPattern(const std::string& pattern);
  ~SplitPattern();
  SplitPattern(const SplitPattern&) = delete;
  SplitPattern& operator=(const SplitPattern&) = delete;

  const std::string& source() const { return source_; }
  bool jit() const { return jit_; }
  const pcre2_code* code() const { return code_; }

 private:
  std::string source_;
  pcre2_code* code_ = nullptr;
  bool jit_ = false;
};

class SplitScanner {
 public:
  explicit SplitScanner(std::shared_ptr<const SplitPattern> pattern);
  ~SplitScanner();
  SplitScanner(const SplitScanner&) = delete;
  SplitScanner& operator=(const SplitScanner&) = delete;

  // Calls on_chunk(std::string_view) for every match in text, in order. text must be valid
  // UTF-8 (throws InvalidArgument otherwise).
  template <typename OnChunk>
  void split(std::string_view text, OnChunk&& on_chunk) {
    check_subject(text);
    size_t offset = 0, start = 0, end = 0;
    while (offset < text.size() && next(text, offset, &start, &end)) {
      if (end > start) on_chunk(text.substr(start, end - start));
      offset = end > start ? end : advance_one(text, end);
    }
  }

 private:
  void check_subject(std::string_view text) const;
  // The next match at or after offset; false when there is none.
  bool next(std::string_view text, size_t offset, size_t* start, size_t* end);
  // Offset of the code point after the one at offset (past an empty match).
  static size_t advance_one(std::string_view text, size_t offset);

  std::shared_ptr<const SplitPattern> pattern_;
  pcre2_match_data* match_ = nullptr;
  pcre2_match_context* context_ = nullptr;
  pcre2_jit_stack* stack_ = nullptr;
};

}  // namespace ar
