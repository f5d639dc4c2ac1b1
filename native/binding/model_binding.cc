#include "binding/model_binding.h"

#include <unordered_map>

#include "binding/async_task.h"
#include "binding/js_convert.h"
#include "data/safetensors.h"
#include "eval/scorer.h"
#include "runtime/device.h"
#include "runtime/errors.h"

namespace ar {
namespace {

struct Batch {
  torch::Tensor inputs, targets;
};

// Reads (inputs, [targets,] batchSize, seqLen) arguments starting at index first.
Batch read_batch(const Napi::CallbackInfo& info, size_t first, bool with_targets, const GPT& m) {
  size_t n = with_targets ? 4 : 3;
  if (info.Length() < first + n) throw InvalidArgument("expected inputs, " + std::string(with_targets ? "targets, " : "") + "batchSize and seqLen");
  size_t bi = first + (with_targets ? 2 : 1);
  int64_t B = to_int(info[bi], "batchSize", 1);
  int64_t T = to_int(info[bi + 1], "seqLen", 1);
  int64_t max_t = 10 * m.config().sequence_len;
  if (T > max_t) {
    throw InvalidArgument("seqLen " + std::to_string(T) + " exceeds the rotary table (" + std::to_string(max_t) +
                          " positions = 10 x sequenceLen); raise sequenceLen");
  }
  Batch b;
  auto device = m.device().device;
  b.inputs = to_token_tensor(info[first], B, T, m.config().vocab_size, 0, "inputs").to(device);
  if (with_targets) b.targets = to_token_tensor(info[first + 1], B, T, m.config().vocab_size, -1, "targets").to(device);
  return b;
}

Napi::Object sums_to_js(Napi::Env env, const BpbSums& s) {
  auto obj = Napi::Object::New(env);
  obj.Set("nats", s.nats);
  obj.Set("bytes", s.bytes);
  obj.Set("tokens", static_cast<double>(s.tokens));
  return obj;
}

}  // namespace

Napi::Function ModelBinding::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {
                         InstanceMethod<&ModelBinding::ForwardBackward>("forwardBackward"),
                         InstanceMethod<&ModelBinding::Logits>("logits"),
                         InstanceMethod<&ModelBinding::PerTokenLoss>("perTokenLoss"),
                         InstanceMethod<&ModelBinding::BpbSums>("bpbSums"),
                         InstanceMethod<&ModelBinding::Parameters>("parameters"),
                         InstanceMethod<&ModelBinding::ParamCounts>("paramCounts"),
                         InstanceMethod<&ModelBinding::DeviceInfo>("deviceInfo"),
                         InstanceMethod<&ModelBinding::Save>("save"),
                         InstanceMethod<&ModelBinding::Load>("load"),
                         InstanceMethod<&ModelBinding::Synchronize>("synchronize"),
                         InstanceMethod<&ModelBinding::PeakMemoryBytes>("peakMemoryBytes"),
                         InstanceMethod<&ModelBinding::ResetPeakMemory>("resetPeakMemory"),
                         InstanceMethod<&ModelBinding::Dispose>("dispose"),
                         InstanceMethod<&ModelBinding::IsDisposed>("isDisposed"),
                     });
}

ModelBinding::ModelBinding(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelBinding>(info) {
  guarded(info.Env(), [&] {
    auto config = to_gpt_config(info[0]);
    if (!info[1].IsObject()) throw InvalidArgument("NativeModel options must be an object {device, seed}");
    auto opts = info[1].As<Napi::Object>();
    auto device = to_string(opts.Get("device"), "options.device");
    auto seed = to_int(opts.Get("seed"), "options.seed", 0);
    auto choice = choose_device(device);
    torch::manual_seed(static_cast<uint64_t>(seed));
    model_ = std::make_shared<GPT>(config, choice);
  });
}

std::shared_ptr<GPT> ModelBinding::model(const char* caller) {
  if (!model_) throw InvalidArgument(std::string(caller) + "(): the model has been disposed");
  if (!busy_->empty()) {
    throw InvalidArgument(std::string(caller) + "(): the model is busy with " + *busy_ + "(); await it first");
  }
  return model_;
}

std::function<void()> ModelBinding::claim(const char* task) {
  *busy_ = task;
  auto busy = busy_;
  return [busy] { busy->clear(); };
}

Napi::Value ModelBinding::ForwardBackward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("forwardBackward");
    auto batch = read_batch(info, 0, true, *m);
    double scale = info.Length() > 4 && !info[4].IsUndefined() ? to_number(info[4], "lossScale") : 1.0;
    auto loss = m->loss(batch.inputs, batch.targets);
    (loss * scale).backward();
    return Napi::Number::New(info.Env(), loss.item<double>());
  });
}

Napi::Value ModelBinding::Logits(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("logits");
    auto batch = read_batch(info, 0, false, *m);
    return AsyncTask<torch::Tensor>::Start(
        info.Env(), [m, batch] { return m->forward(batch.inputs).to(torch::kCPU); },
        [](Napi::Env env, torch::Tensor& t) -> Napi::Value { return to_float32_array(env, t); }, claim("logits"));
  });
}

Napi::Value ModelBinding::PerTokenLoss(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("perTokenLoss");
    auto batch = read_batch(info, 0, true, *m);
    return AsyncTask<torch::Tensor>::Start(
        info.Env(), [m, batch] { return m->per_token_loss(batch.inputs, batch.targets).to(torch::kCPU); },
        [](Napi::Env env, torch::Tensor& t) -> Napi::Value { return to_float32_array(env, t); },
        claim("perTokenLoss"));
  });
}

Napi::Value ModelBinding::BpbSums(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("bpbSums");
    auto batch = read_batch(info, 0, true, *m);
    if (info.Length() < 5) throw InvalidArgument("bpbSums(): tokenBytes (Int32Array, one entry per token id) is required");
    auto token_bytes = to_int_tensor(info[4], "tokenBytes");
    check_token_bytes(token_bytes, m->config().vocab_size);
    // sync: on this (JavaScript) thread, the sums returned rather than a Promise. A training
    // process evaluates this way: OpenMP work on a pool thread would give libgomp a second
    // thread team, which shortens every idle thread's spin (slower parallel regions).
    if (info.Length() > 5 && info[5].ToBoolean().Value()) {
      return sums_to_js(info.Env(), score(*m, batch.inputs, batch.targets, token_bytes));
    }
    return AsyncTask<ar::BpbSums>::Start(
        info.Env(), [m, batch, token_bytes] { return score(*m, batch.inputs, batch.targets, token_bytes); },
        [](Napi::Env env, ar::BpbSums& s) -> Napi::Value { return sums_to_js(env, s); }, claim("bpbSums"));
  });
}

Napi::Value ModelBinding::Parameters(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("parameters");
    auto env = info.Env();
    auto params = m->named_parameters();
    auto out = Napi::Array::New(env, params.size());
    uint32_t i = 0;
    for (const auto& item : params) {
      auto entry = Napi::Object::New(env);
      entry.Set("name", item.key());
      entry.Set("shape", to_js_shape(env, item.value().sizes()));
      entry.Set("dtype", safetensors_dtype(item.value().scalar_type()));
      out.Set(i++, entry);
    }
    return out;
  });
}

Napi::Value ModelBinding::ParamCounts(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto c = model("paramCounts")->param_counts();
    auto obj = Napi::Object::New(info.Env());
    obj.Set("wte", static_cast<double>(c.wte));
    obj.Set("valueEmbeds", static_cast<double>(c.value_embeds));
    obj.Set("lmHead", static_cast<double>(c.lm_head));
    obj.Set("transformerMatrices", static_cast<double>(c.transformer_matrices));
    obj.Set("scalars", static_cast<double>(c.scalars));
    obj.Set("total", static_cast<double>(c.total));
    return obj;
  });
}

Napi::Value ModelBinding::DeviceInfo(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    const auto& d = model("deviceInfo")->device();
    auto obj = Napi::Object::New(info.Env());
    obj.Set("device", d.device.str());
    obj.Set("computeDtype", std::string(c10::toString(d.compute_dtype)));
    obj.Set("reason", d.reason);
    return obj;
  });
}

Napi::Value ModelBinding::Save(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("save");
    auto path = to_string(info[0], "path");
    auto header = to_string(info[1], "header");
    if (!info[2].IsArray()) throw InvalidArgument("save(): names must be an array");
    auto names = info[2].As<Napi::Array>();
    auto params = m->named_parameters();
    std::vector<torch::Tensor> tensors;
    for (uint32_t i = 0; i < names.Length(); i++) {
      auto name = to_string(names.Get(i), "names[]");
      auto* p = params.find(name);
      if (!p) throw InvalidArgument("save(): the model has no parameter '" + name + "'");
      tensors.push_back(p->detach());
    }
    return AsyncTask<bool>::Start(
        info.Env(),
        [path, header, tensors] {
          write_safetensors(path, header, tensors);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, claim("save"));
  });
}

Napi::Value ModelBinding::Load(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    auto m = model("load");
    auto path = to_string(info[0], "path");
    int64_t data_start = to_int(info[1], "dataStart", 8);
    if (!info[2].IsArray()) throw InvalidArgument("load(): entries must be an array");
    auto arr = info[2].As<Napi::Array>();
    auto params = m->named_parameters();
    std::vector<TensorEntry> entries;
    std::vector<torch::Tensor> destinations;
    for (uint32_t i = 0; i < arr.Length(); i++) {
      auto obj = arr.Get(i).As<Napi::Object>();
      TensorEntry e;
      e.name = to_string(obj.Get("name"), "entries[].name");
      e.dtype = to_string(obj.Get("dtype"), "entries[].dtype");
      e.shape = to_shape(obj.Get("shape"), "entries[].shape");
      e.begin = to_int(obj.Get("begin"), "entries[].begin", 0);
      e.end = to_int(obj.Get("end"), "entries[].end", e.begin);
      auto* p = params.find(e.name);
      if (!p) throw InvalidArgument("checkpoint tensor '" + e.name + "' is not a parameter of this model");
      torch_dtype(e.dtype);  // throws on unsupported dtypes before queuing
      entries.push_back(e);
      destinations.push_back(*p);
    }
    if (entries.size() != params.size()) {
      throw InvalidArgument("checkpoint has " + std::to_string(entries.size()) + " tensors, the model " +
                            std::to_string(params.size()));
    }
    return AsyncTask<bool>::Start(
        info.Env(),
        [path, data_start, entries, destinations] {
          read_safetensors(path, data_start, entries, destinations);
          return true;
        },
        [](Napi::Env env, bool&) -> Napi::Value { return env.Undefined(); }, claim("load"));
  });
}

Napi::Value ModelBinding::Synchronize(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    synchronize(model("synchronize")->device().device);
    return info.Env().Undefined();
  });
}

Napi::Value ModelBinding::PeakMemoryBytes(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::Number::New(info.Env(), peak_memory_bytes(model("peakMemoryBytes")->device().device));
  });
}

Napi::Value ModelBinding::ResetPeakMemory(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    reset_peak_memory(model("resetPeakMemory")->device().device);
    return info.Env().Undefined();
  });
}

Napi::Value ModelBinding::Dispose(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    if (!busy_->empty()) throw InvalidArgument("dispose(): the model is busy with " + *busy_ + "(); await it first");
    model_.reset();
    return info.Env().Undefined();
  });
}

Napi::Value ModelBinding::IsDisposed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !model_);
}

}  // namespace ar
