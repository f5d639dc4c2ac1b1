// Conversions between JavaScript values and the native structs, with the input checks that
// turn bad arguments into readable errors before libtorch sees them.
#pragma once

#include <napi.h>
#include <torch/torch.h>

#include <string>
#include <vector>

#include "model/gpt.h"
#include "optimizer/muon_adamw.h"

namespace ar {

GPTConfig to_gpt_config(const Napi::Value& value);
OptimizerConfig to_optimizer_config(const Napi::Value& value);
StepSettings to_step_settings(const Napi::Value& value);

// A B x T token batch copied out of an Int32Array into an int64 CPU tensor.
// Values must lie in [min_id, vocab_size); min_id is 0 for inputs, -1 for targets.
torch::Tensor to_token_tensor(const Napi::Value& value, int64_t batch, int64_t seq_len, int64_t vocab_size,
                              int64_t min_id, const char* what);
torch::Tensor to_int_tensor(const Napi::Value& value, const char* what);
std::vector<float> to_float_vector(const Napi::Value& value, const char* what);
std::vector<int64_t> to_shape(const Napi::Value& value, const char* what);

int64_t to_int(const Napi::Value& value, const char* what, int64_t min_value);
double to_number(const Napi::Value& value, const char* what);
std::string to_string(const Napi::Value& value, const char* what);

Napi::Float32Array to_float32_array(Napi::Env env, const torch::Tensor& t);
Napi::Array to_js_shape(Napi::Env env, torch::IntArrayRef shape);

}  // namespace ar
