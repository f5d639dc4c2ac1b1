// UTF-8 helpers of the tokenizer: validity, cutting a text after N code points (documents are
// capped in characters, as the reference does with Python's str slicing), and turning
// arbitrary token bytes into valid UTF-8 the way the WHATWG TextDecoder does (each maximal
// invalid subpart becomes one U+FFFD), so decode() agrees with `new TextDecoder().decode()`.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ar {

bool valid_utf8(std::string_view s);

struct Utf8Prefix {
  size_t bytes = 0;        // length in bytes of the prefix
  size_t code_points = 0;  // code points in it (== max_code_points unless the text is shorter)
};

// The first max_code_points code points of a valid UTF-8 text.
Utf8Prefix utf8_prefix(std::string_view s, size_t max_code_points);

// Valid UTF-8 for any bytes: valid sequences are kept, each maximal invalid subpart is
// replaced by U+FFFD (WHATWG Encoding Standard, "UTF-8 decode").
std::string replace_invalid_utf8(std::string_view bytes);

}  // namespace ar
