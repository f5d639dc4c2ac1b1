#include "binding/js_convert.h"

#include <cmath>
#include <cstring>

#include "runtime/errors.h"

namespace ar {
namespace {

Napi::Object expect_object(const Napi::Value& value, const char* what) {
  if (!value.IsObject()) throw InvalidArgument(std::string(what) + " must be an object");
  return value.As<Napi::Object>();
}

// Every field of the structs below is required: the defaults live on the JavaScript side.
double number_field(const Napi::Object& obj, const char* key, const char* what) {
  auto v = obj.Get(key);
  if (v.IsUndefined()) throw InvalidArgument(std::string(what) + "." + key + " is missing (a number)");
  if (!v.IsNumber()) throw InvalidArgument(std::string(what) + "." + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d)) throw InvalidArgument(std::string(what) + "." + key + " must be finite");
  return d;
}

int64_t int_field(const Napi::Object& obj, const char* key, const char* what) {
  double d = number_field(obj, key, what);
  if (d != std::floor(d)) throw InvalidArgument(std::string(what) + "." + key + " must be an integer (got " + std::to_string(d) + ")");
  return static_cast<int64_t>(d);
}

}  // namespace

GPTConfig to_gpt_config(const Napi::Value& value) {
  const char* what = "model config";
  auto obj = expect_object(value, what);
  GPTConfig c;
  c.vocab_size = int_field(obj, "vocabSize", what);
  c.sequence_len = int_field(obj, "sequenceLen", what);
  c.n_layer = int_field(obj, "nLayer", what);
  c.n_head = int_field(obj, "nHead", what);
  c.n_kv_head = int_field(obj, "nKvHead", what);
  c.n_embd = int_field(obj, "nEmbd", what);
  auto windows = obj.Get("windows");
  if (!windows.IsArray()) throw InvalidArgument("model config.windows must be an array of window sizes, one per layer");
  auto arr = windows.As<Napi::Array>();
  for (uint32_t i = 0; i < arr.Length(); i++) {
    c.windows.push_back(to_int(arr.Get(i), "model config.windows[]", 1));
  }
  c.mlp_activation = parse_mlp_activation(to_string(obj.Get("mlpActivation"), "model config.mlpActivation"));
  c.mlp_ratio = number_field(obj, "mlpRatio", what);
  auto ve = obj.Get("valueEmbeds");
  if (!ve.IsBoolean()) throw InvalidArgument("model config.valueEmbeds must be true or false");
  c.value_embeds = ve.As<Napi::Boolean>().Value();
  c.softcap = number_field(obj, "softcap", what);
  c.rotary_base = number_field(obj, "rotaryBase", what);
  c.validate();
  return c;
}

OptimizerConfig to_optimizer_config(const Napi::Value& value) {
  const char* what = "optimizer config";
  auto obj = expect_object(value, what);
  OptimizerConfig c;
  c.embedding_lr = number_field(obj, "embeddingLr", what);
  c.unembedding_lr = number_field(obj, "unembeddingLr", what);
  c.matrix_lr = number_field(obj, "matrixLr", what);
  c.scalar_lr = number_field(obj, "scalarLr", what);
  c.weight_decay = number_field(obj, "weightDecay", what);
  c.beta1 = number_field(obj, "beta1", what);
  c.beta2 = number_field(obj, "beta2", what);
  c.adam_eps = number_field(obj, "adamEps", what);
  c.muon_beta2 = number_field(obj, "muonBeta2", what);
  c.ns_steps = static_cast<int>(int_field(obj, "nsSteps", what));
  for (double beta : {c.beta1, c.beta2}) {
    if (beta < 0 || beta >= 1) throw InvalidArgument("optimizer config: Adam betas must lie in [0, 1)");
  }
  if (c.muon_beta2 < 0 || c.muon_beta2 >= 1) throw InvalidArgument("optimizer config.muonBeta2 must lie in [0, 1)");
  return c;
}

StepSettings to_step_settings(const Napi::Value& value) {
  const char* what = "step settings";
  auto obj = expect_object(value, what);
  StepSettings s;
  s.lr_multiplier = number_field(obj, "lrMultiplier", what);
  s.muon_momentum = number_field(obj, "muonMomentum", what);
  s.muon_weight_decay = number_field(obj, "muonWeightDecay", what);
  if (s.muon_momentum < 0 || s.muon_momentum >= 1) throw InvalidArgument("step settings.muonMomentum must lie in [0, 1)");
  return s;
}

torch::Tensor to_token_tensor(const Napi::Value& value, int64_t batch, int64_t seq_len, int64_t vocab_size,
                              int64_t min_id, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw InvalidArgument(std::string(what) + " must be an Int32Array of token ids");
  }
  auto arr = value.As<Napi::Int32Array>();
  if (static_cast<int64_t>(arr.ElementLength()) != batch * seq_len) {
    throw InvalidArgument(std::string(what) + " has " + std::to_string(arr.ElementLength()) + " ids but batchSize " +
                          std::to_string(batch) + " x seqLen " + std::to_string(seq_len) + " = " +
                          std::to_string(batch * seq_len));
  }
  auto t = torch::empty({batch, seq_len}, torch::kLong);
  auto* dst = t.data_ptr<int64_t>();
  const int32_t* src = arr.Data();
  for (int64_t i = 0; i < batch * seq_len; i++) {
    int32_t id = src[i];
    if (id < min_id || id >= vocab_size) {
      throw InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] = " + std::to_string(id) +
                            " is outside the vocabulary [" + std::to_string(min_id) + ", " +
                            std::to_string(vocab_size) + "): was the data tokenized with another tokenizer?");
    }
    dst[i] = id;
  }
  return t;
}

torch::Tensor to_int_tensor(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw InvalidArgument(std::string(what) + " must be an Int32Array");
  }
  auto arr = value.As<Napi::Int32Array>();
  auto t = torch::empty({static_cast<int64_t>(arr.ElementLength())}, torch::kInt);
  std::memcpy(t.data_ptr<int32_t>(), arr.Data(), arr.ElementLength() * sizeof(int32_t));
  return t.to(torch::kLong);
}

std::vector<float> to_float_vector(const Napi::Value& value, const char* what) {
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw InvalidArgument(std::string(what) + " must be a Float32Array");
  }
  auto arr = value.As<Napi::Float32Array>();
  return std::vector<float>(arr.Data(), arr.Data() + arr.ElementLength());
}

std::vector<int64_t> to_shape(const Napi::Value& value, const char* what) {
  if (!value.IsArray()) throw InvalidArgument(std::string(what) + " must be an array of dimensions");
  auto arr = value.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < arr.Length(); i++) shape.push_back(to_int(arr.Get(i), what, 0));
  return shape;
}

int64_t to_int(const Napi::Value& value, const char* what, int64_t min_value) {
  if (!value.IsNumber()) throw InvalidArgument(std::string(what) + " must be a number");
  double d = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) throw InvalidArgument(std::string(what) + " must be an integer");
  if (d < static_cast<double>(min_value)) {
    throw InvalidArgument(std::string(what) + " must be at least " + std::to_string(min_value) + " (got " +
                          std::to_string(static_cast<int64_t>(d)) + ")");
  }
  return static_cast<int64_t>(d);
}

double to_number(const Napi::Value& value, const char* what) {
  if (!value.IsNumber()) throw InvalidArgument(std::string(what) + " must be a number");
  return value.As<Napi::Number>().DoubleValue();
}

std::string to_string(const Napi::Value& value, const char* what) {
  if (!value.IsString()) throw InvalidArgument(std::string(what) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

Napi::Float32Array to_float32_array(Napi::Env env, const torch::Tensor& t) {
  auto cpu = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  auto out = Napi::Float32Array::New(env, static_cast<size_t>(cpu.numel()));
  std::memcpy(out.Data(), cpu.data_ptr<float>(), cpu.numel() * sizeof(float));
  return out;
}

Napi::Array to_js_shape(Napi::Env env, torch::IntArrayRef shape) {
  auto arr = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); i++) arr.Set(static_cast<uint32_t>(i), Napi::Number::New(env, static_cast<double>(shape[i])));
  return arr;
}

}  // namespace ar
