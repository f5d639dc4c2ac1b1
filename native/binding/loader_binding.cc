#include "binding/loader_binding.h"

#include <memory>
#include <string>

#include "binding/js_convert.h"
#include "data/data_loader.h"
#include "data/token_file.h"
#include "runtime/errors.h"

namespace ar {
namespace {

class LoaderBinding : public Napi::ObjectWrap<LoaderBinding> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "NativeDataLoader",
                       {
                           InstanceMethod<&LoaderBinding::Next>("next"),
                           InstanceMethod<&LoaderBinding::State>("state"),
                           InstanceMethod<&LoaderBinding::Dispose>("dispose"),
                       });
  }

  // new NativeDataLoader(path, { batchSize, seqLen, bosId, dtype, seed, bufferDocs, shuffle })
  explicit LoaderBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<LoaderBinding>(info) {
    guarded(info.Env(), [&] {
      auto path = to_string(info[0], "path");
      if (info.Length() < 2 || !info[1].IsObject()) {
        throw InvalidArgument("NativeDataLoader(path, options): options { batchSize, seqLen, bosId, dtype, seed, "
                              "bufferDocs, shuffle } are required");
      }
      auto o = info[1].As<Napi::Object>();
      LoaderConfig config;
      config.batch_size = to_int(o.Get("batchSize"), "options.batchSize", 1);
      config.seq_len = to_int(o.Get("seqLen"), "options.seqLen", 1);
      config.seed = static_cast<uint64_t>(to_int(o.Get("seed"), "options.seed", 0));
      config.buffer_docs = to_int(o.Get("bufferDocs"), "options.bufferDocs", 1);
      auto shuffle = o.Get("shuffle");
      if (!shuffle.IsBoolean()) throw InvalidArgument("options.shuffle must be true or false");
      config.shuffle = shuffle.As<Napi::Boolean>().Value();
      config.validate();
      int64_t bos = to_int(o.Get("bosId"), "options.bosId", 0);
      if (bos > 0xFFFFFFFFll) throw InvalidArgument("options.bosId " + std::to_string(bos) + " is not a token id");
      auto dtype = parse_token_dtype(to_string(o.Get("dtype"), "options.dtype"));
      auto file = std::make_shared<const TokenFile>(path, dtype, static_cast<uint32_t>(bos));
      loader_ = std::make_unique<DataLoader>(std::move(file), config);
    });
  }

 private:
  DataLoader& loader(const char* caller) {
    if (!loader_) throw InvalidArgument(std::string(caller) + "(): the data loader has been disposed");
    return *loader_;
  }

  // next() -> { inputs: Int32Array (B*T), targets: Int32Array (B*T), epoch }
  Napi::Value Next(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto& l = loader("next");
      auto env = info.Env();
      size_t n = static_cast<size_t>(l.config().batch_size * l.config().seq_len);
      auto inputs = Napi::Int32Array::New(env, n);
      auto targets = Napi::Int32Array::New(env, n);
      l.next(inputs.Data(), targets.Data());
      auto out = Napi::Object::New(env);
      out.Set("inputs", inputs);
      out.Set("targets", targets);
      out.Set("epoch", static_cast<double>(l.state().epoch));
      return out;
    });
  }

  // state() -> { epoch, documentsConsumed, tokensServed, documents, tokens }
  Napi::Value State(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      auto& l = loader("state");
      auto s = l.state();
      auto out = Napi::Object::New(info.Env());
      out.Set("epoch", static_cast<double>(s.epoch));
      out.Set("documentsConsumed", static_cast<double>(s.documents_consumed));
      out.Set("tokensServed", static_cast<double>(s.tokens_served));
      out.Set("documents", static_cast<double>(l.file().documents()));
      out.Set("tokens", static_cast<double>(l.file().tokens()));
      return out;
    });
  }

  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    return guarded(info.Env(), [&]() -> Napi::Value {
      loader_.reset();  // unmaps the file
      return info.Env().Undefined();
    });
  }

  std::unique_ptr<DataLoader> loader_;
};

}  // namespace

void define_loader(Napi::Env env, Napi::Object exports) { exports.Set("NativeDataLoader", LoaderBinding::Define(env)); }

}  // namespace ar
