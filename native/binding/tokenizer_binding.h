// The JavaScript classes of the tokenizer (lib/tokenizer.ts wraps them):
// - NativeBpeTrainer: add(texts) counts pre-tokenized chunks off the JavaScript thread (in
//   parallel), train(vocabSize, specials) runs the merges and resolves to the token bytes in
//   rank order. One call at a time; others are refused with a message, never raced.
// - NativeTokenizer: built from token bytes in rank order, special tokens and the pattern;
//   encode (synchronous, for short texts), encodeBatch (Promise, every core), decode.
#pragma once

#include <napi.h>

namespace ar {

// Registers NativeBpeTrainer and NativeTokenizer on exports.
void define_tokenizer(Napi::Env env, Napi::Object exports);

}  // namespace ar
