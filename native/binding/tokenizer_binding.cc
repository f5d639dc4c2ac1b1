#include "binding/tokenizer_binding.h"

#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "binding/async_task.h"
#include "binding/js_convert.h"
#include "runtime/errors.h"
#include "runtime/threads.h"
#include "tokenizer/bpe_trainer.h"
#include "tokenizer/chunk_counts.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace ar {
namespace {

std::vector<std::string> to_strings(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw InvalidArgument(std::string(what) + " must be an array of strings");
  auto arr = value.As<Napi::Array>();
  std::vector<std::string> out(arr.Length());
  for (uint32_t i = 0; i < arr.Length(); i++) {
    auto item = arr.Get(i);
    if (!item.IsString()) {
      throw InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] is not a string; pass text only");
    }
    out[i] = item.As<Napi::String>().Utf8Value();
  }
  return out;
}

bool to_bool(const Napi::Value& value, const char* what) {
  if (value.IsUndefined()) return false;
  if (!value.IsBoolean()) throw InvalidArgument(std::string(what) + " must be true or false");
  return value.As<Napi::Boolean>().Value();
}

size_t to_count(const Napi::Object& obj, const char* key, int64_t min_value) {
  auto v = obj.Get(key);
  if (!v.IsNumber()) throw InvalidArgument(std::string("trainer options.") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d == INFINITY) return SIZE_MAX;
  return static_cast<size_t>(to_int(v, (std::string("trainer options.") + key).c_str(), min_value));
}

std::pair<const int32_t*, size_t> to_ids(const Napi::Value& value) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw InvalidArgument("ids must be an Int32Array of token ids");
  }
  auto arr = value.As<Napi::Int32Array>();
  return {arr.Data(), arr.ElementLength()};
}

Napi::Int32Array to_int32_array(Napi::Env env, const std::vector<int32_t>& ids) {
  auto out = Napi::Int32Array::New(env, ids.size());
  if (!ids.empty()) std::memcpy(out.Data(), ids.data(), ids.size() * sizeof(int32_t));
  return out;
}

// ---------------------------------------------------------------------------------------------

class TrainerBinding : public Napi::ObjectWrap<TrainerBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeBpeTrainer",
                       {
                           InstanceMethod<&TrainerBinding::Add>("add"),
                           InstanceMethod<&TrainerBinding::Train>("train"),
                           InstanceMethod<&TrainerBinding::Stats>("stats"),
                       });
  }

  // new NativeBpeTrainer({ pattern, docChars, maxChars })
  explicit TrainerBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TrainerBinding>(info) {
    guarded(info.Env(), [&] {
      if (info.Length() < 1 || !info[0].IsObject()) {
        throw InvalidArgument("NativeBpeTrainer expects { pattern, docChars, maxChars }");
      }
      auto opts = info[0].As<Napi::Object>();
      auto pattern = std::make_shared<const SplitPattern>(to_string(opts.Get("pattern"), "trainer options.pattern"));
      counter_ = std::make_shared<ChunkCounter>(pattern, to_count(opts, "docChars", 1), to_count(opts, "maxChars", 1));
    });
  }

 private:
  void check_idle(const char* caller) const {
    if (!busy_->empty()) throw InvalidArgument(std::string(caller) + "(): the trainer is busy with " + *busy_ + "(); await it first");
  }
  std::function<void()> claim(const char* task) {
    *busy_ = task;
    auto busy = busy_;
    return [busy] { busy->clear(); };
  }

  // add(texts: string[]) -> Promise<{ docs, chars, totalDocs, totalChars, full }>
  Napi::Value Add(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      check_idle("add");
      auto texts = std::make_shared<std::vector<std::string>>(to_strings(info[0], "texts"));
      auto counter = counter_;
      int threads = get_num_threads();
      struct Progress {
        CountedBatch batch;
        size_t total_docs, total_chars;
        bool full;
      };
      return AsyncTask<Progress>::Start(
          info.Env(),
          [counter, texts, threads] {
            auto batch = counter->add(*texts, threads);
            return Progress{batch, counter->total_docs(), counter->total_chars(), counter->full()};
          },
          [](Napi::Env env, Progress& p) -> Napi::Value {
            auto obj = Napi::Object::New(env);
            obj.Set("docs", static_cast<double>(p.batch.docs));
            obj.Set("chars", static_cast<double>(p.batch.chars));
            obj.Set("totalDocs", static_cast<double>(p.total_docs));
            obj.Set("totalChars", static_cast<double>(p.total_chars));
            obj.Set("full", p.full);
            return obj;
          },
          claim("add"));
    });
  }

  // train(vocabSize, specialTokens) -> Promise<Uint8Array[]> (token bytes in rank order)
  Napi::Value Train(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      check_idle("train");
      int64_t specials = to_int(info[1], "specialTokens", 0);
      int64_t minimum = 256 + specials;
      if (!info[0].IsNumber()) throw InvalidArgument("vocabSize must be a number");
      double vocab = info[0].As<Napi::Number>().DoubleValue();
      if (!std::isfinite(vocab) || vocab != std::floor(vocab) || vocab < static_cast<double>(minimum) || vocab > INT32_MAX) {
        throw InvalidArgument("vocabSize must be an integer of at least " + std::to_string(minimum) + " (256 byte tokens + " +
                              std::to_string(specials) + " special tokens), got " + info[0].ToString().Utf8Value());
      }
      if (counter_->total_chars() == 0) throw InvalidArgument("train(): no text was added; add training text first");
      size_t merges = static_cast<size_t>(vocab) - static_cast<size_t>(minimum);
      auto counter = counter_;
      return AsyncTask<std::vector<std::string>>::Start(
          info.Env(), [counter, merges] { return train_bpe(counter->counts(), merges); },
          [](Napi::Env env, std::vector<std::string>& tokens) -> Napi::Value {
            auto arr = Napi::Array::New(env, tokens.size());
            for (uint32_t i = 0; i < tokens.size(); i++) {
              arr.Set(i, Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(tokens[i].data()),
                                                     tokens[i].size()));
            }
            return arr;
          },
          claim("train"));
    });
  }

  // stats() -> { docs, chars, distinctChunks, full }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      check_idle("stats");
      auto obj = Napi::Object::New(info.Env());
      obj.Set("docs", static_cast<double>(counter_->total_docs()));
      obj.Set("chars", static_cast<double>(counter_->total_chars()));
      obj.Set("distinctChunks", static_cast<double>(counter_->counts().size()));
      obj.Set("full", counter_->full());
      return obj;
    });
  }

  std::shared_ptr<ChunkCounter> counter_;
  std::shared_ptr<std::string> busy_ = std::make_shared<std::string>();
};

// ---------------------------------------------------------------------------------------------

class TokenizerBinding : public Napi::ObjectWrap<TokenizerBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeTokenizer",
                       {
                           InstanceMethod<&TokenizerBinding::Encode>("encode"),
                           InstanceMethod<&TokenizerBinding::EncodeBatch>("encodeBatch"),
                           InstanceMethod<&TokenizerBinding::Decode>("decode"),
                           InstanceMethod<&TokenizerBinding::DecodeBytes>("decodeBytes"),
                           InstanceMethod<&TokenizerBinding::TokenBytes>("tokenBytes"),
                           InstanceMethod<&TokenizerBinding::Info>("info"),
                       });
  }

  // new NativeTokenizer(ranks: Uint8Array[], specialTokens: string[], pattern: string)
  explicit TokenizerBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TokenizerBinding>(info) {
    guarded(info.Env(), [&] {
      if (!info[0].IsArray()) throw InvalidArgument("NativeTokenizer expects the token bytes in rank order (Uint8Array[])");
      auto arr = info[0].As<Napi::Array>();
      std::vector<std::string> ranks(arr.Length());
      for (uint32_t i = 0; i < arr.Length(); i++) {
        auto item = arr.Get(i);
        if (!item.IsTypedArray() || item.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
          throw InvalidArgument("ranks[" + std::to_string(i) + "] must be a Uint8Array of the token's bytes");
        }
        auto bytes = item.As<Napi::Uint8Array>();
        ranks[i].assign(reinterpret_cast<const char*>(bytes.Data()), bytes.ElementLength());
      }
      auto specials = to_strings(info[1], "specialTokens");
      auto pattern = std::make_shared<const SplitPattern>(to_string(info[2], "pattern"));
      auto encoder = std::make_unique<BpeEncoder>(std::move(ranks), std::move(specials));
      tokenizer_ = std::make_shared<const Tokenizer>(pattern, std::move(encoder));
    });
  }

 private:
  // encode(text, bos) -> Int32Array
  Napi::Value Encode(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto text = to_string(info[0], "text");
      return to_int32_array(info.Env(), tokenizer_->encode(text, to_bool(info[1], "bos")));
    });
  }

  // encodeBatch(texts, bos) -> Promise<Int32Array[]>
  Napi::Value EncodeBatch(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto texts = std::make_shared<std::vector<std::string>>(to_strings(info[0], "texts"));
      bool bos = to_bool(info[1], "bos");
      int threads = get_num_threads();
      auto tokenizer = tokenizer_;
      using Result = std::vector<std::vector<int32_t>>;
      return AsyncTask<Result>::Start(
          info.Env(), [tokenizer, texts, bos, threads] { return tokenizer->encode_batch(*texts, bos, threads); },
          [](Napi::Env env, Result& docs) -> Napi::Value {
            auto arr = Napi::Array::New(env, docs.size());
            for (uint32_t i = 0; i < docs.size(); i++) arr.Set(i, to_int32_array(env, docs[i]));
            return arr;
          });
    });
  }

  // decode(ids) -> string (invalid UTF-8 replaced as TextDecoder does)
  Napi::Value Decode(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto [ids, n] = to_ids(info[0]);
      auto text = replace_invalid_utf8(tokenizer_->encoder().decode_bytes(ids, n));
      return Napi::String::New(info.Env(), text);
    });
  }

  // decodeBytes(ids) -> Uint8Array (the raw concatenated token bytes)
  Napi::Value DecodeBytes(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto [ids, n] = to_ids(info[0]);
      auto bytes = tokenizer_->encoder().decode_bytes(ids, n);
      auto out = Napi::Uint8Array::New(info.Env(), bytes.size());
      if (!bytes.empty()) std::memcpy(out.Data(), bytes.data(), bytes.size());
      return out;
    });
  }

  Napi::Value TokenBytes(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      return to_int32_array(info.Env(), tokenizer_->encoder().token_lengths());
    });
  }

  // info() -> { vocabSize, numRanks, bosId, jit }
  Napi::Value Info(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto obj = Napi::Object::New(info.Env());
      obj.Set("vocabSize", tokenizer_->encoder().vocab_size());
      obj.Set("numRanks", tokenizer_->encoder().num_ranks());
      obj.Set("bosId", tokenizer_->bos_id());
      obj.Set("jit", tokenizer_->pattern().jit());
      return obj;
    });
  }

  std::shared_ptr<const Tokenizer> tokenizer_;
};

}  // namespace

void define_tokenizer(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeBpeTrainer", TrainerBinding::Define(env));
  exports.Set("NativeTokenizer", TokenizerBinding::Define(env));
}

}  // namespace ar
