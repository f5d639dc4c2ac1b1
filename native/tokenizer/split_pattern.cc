#include "tokenizer/split_pattern.h"

#include <stdexcept>

#include "runtime/errors.h"
#include "tokenizer/utf8.h"

namespace ar {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buffer), n);
}

}  // namespace

SplitPattern::SplitPattern(const std::string& pattern) : source_(pattern) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  code_ = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP, &error,
                        &offset, nullptr);
  if (!code_) {
    throw InvalidArgument("the split pattern does not compile (PCRE2, at offset " + std::to_string(offset) +
                          "): " + pcre2_message(error) + "; fix the pattern");
  }
  // Without JIT (unsupported platform) matching still works, only slower.
  jit_ = pcre2_jit_compile(code_, PCRE2_JIT_COMPLETE) == 0;
}

SplitPattern::~SplitPattern() { pcre2_code_free(code_); }

SplitScanner::SplitScanner(std::shared_ptr<const SplitPattern> pattern) : pattern_(std::move(pattern)) {
  match_ = pcre2_match_data_create_from_pattern(pattern_->code(), nullptr);
  context_ = pcre2_match_context_create(nullptr);
  if (!match_ || !context_) {
    pcre2_match_data_free(match_);
    pcre2_match_context_free(context_);
    throw std::bad_alloc();
  }
  if (pattern_->jit()) {
    // Backtracking state of long runs (e.g. a megabyte of spaces) lives here, not on the
    // thread's stack: 32 KiB to start, growing up to 8 MiB. Without it PCRE2 uses 32 KiB
    // of machine stack.
    stack_ = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (stack_) pcre2_jit_stack_assign(context_, nullptr, stack_);
  }
}

SplitScanner::~SplitScanner() {
  pcre2_match_data_free(match_);
  pcre2_match_context_free(context_);
  if (stack_) pcre2_jit_stack_free(stack_);
}

void SplitScanner::check_subject(std::string_view text) const {
  if (!valid_utf8(text)) throw InvalidArgument("text to split is not valid UTF-8; pass JavaScript strings");
}

bool SplitScanner::next(std::string_view text, size_t offset, size_t* start, size_t* end) {
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  int rc = pattern_->jit() ? pcre2_jit_match(pattern_->code(), subject, text.size(), offset, 0, match_, context_)
                           : pcre2_match(pattern_->code(), subject, text.size(), offset, PCRE2_NO_UTF_CHECK, match_,
                                         context_);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  if (rc < 0) throw std::runtime_error("splitting text with the pattern failed: " + pcre2_message(rc));
  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_);
  *start = ovector[0];
  *end = ovector[1];
  return true;
}

size_t SplitScanner::advance_one(std::string_view text, size_t offset) {
  size_t i = offset + 1;
  while (i < text.size() && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) i++;
  return i;
}

}  // namespace ar
