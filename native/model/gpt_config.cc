#include "model/gpt_config.h"

#include <cmath>
#include <sstream>

#include "runtime/errors.h"

namespace ar {

int64_t GPTConfig::mlp_hidden() const {
  return static_cast<int64_t>(std::llround(mlp_ratio * static_cast<double>(n_embd)));
}

bool GPTConfig::has_value_embed(int64_t layer) const {
  return value_embeds && layer % 2 == (n_layer - 1) % 2;
}

void GPTConfig::validate() const {
  auto fail = [](const std::string& msg) { throw InvalidArgument("invalid model config: " + msg); };
  if (vocab_size < 2) fail("vocab_size must be at least 2 (got " + std::to_string(vocab_size) + ")");
  if (sequence_len < 1) fail("sequence_len must be positive (got " + std::to_string(sequence_len) + ")");
  if (n_layer < 1) fail("n_layer (DEPTH) must be at least 1 (got " + std::to_string(n_layer) + ")");
  if (n_head < 1) fail("n_head must be at least 1 (got " + std::to_string(n_head) + ")");
  if (n_embd < 1) fail("n_embd must be positive (got " + std::to_string(n_embd) + ")");
  if (n_embd % n_head != 0) {
    std::ostringstream s;
    s << "n_head " << n_head << " does not divide model_dim " << n_embd << "; choose a model_dim that is a multiple of "
      << "the head count, e.g. " << (n_embd / n_head + 1) * n_head;
    fail(s.str());
  }
  if (head_dim() % 2 != 0) fail("head_dim " + std::to_string(head_dim()) + " must be even for rotary embeddings");
  if (n_kv_head < 1 || n_head % n_kv_head != 0) {
    fail("n_kv_head " + std::to_string(n_kv_head) + " must divide n_head " + std::to_string(n_head) +
         " (e.g. 1 or " + std::to_string(n_head) + ")");
  }
  if (static_cast<int64_t>(windows.size()) != n_layer) {
    fail("expected one attention window per layer (" + std::to_string(n_layer) + "), got " +
         std::to_string(windows.size()));
  }
  for (size_t i = 0; i < windows.size(); i++) {
    if (windows[i] < 1) fail("window of layer " + std::to_string(i) + " must be at least 1 token");
  }
  if (mlp_activation != "relu2" && mlp_activation != "swiglu" && mlp_activation != "gelu") {
    fail("mlp_activation must be relu2, swiglu or gelu (got '" + mlp_activation + "')");
  }
  if (!(mlp_ratio > 0) || mlp_hidden() < 1) fail("mlp_ratio must be positive");
  if (value_embeds && n_embd < 32) fail("value embeddings gate on the first 32 channels: model_dim must be >= 32");
  if (!std::isfinite(softcap)) fail("softcap must be a finite number (<= 0 turns it off)");
  if (!(rotary_base > 1)) fail("rotary_base must be greater than 1");
}

}  // namespace ar
