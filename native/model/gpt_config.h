// The model's shape and its architecture options (SPEC §4), validated before any tensor exists.
// Sizing from DEPTH/ASPECT_RATIO/HEAD_DIM and window patterns are resolved in TypeScript
// (lib/model-config.ts); this struct receives the resolved numbers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ar {

struct GPTConfig {
  int64_t vocab_size = 8192;
  int64_t sequence_len = 2048;
  int64_t n_layer = 8;
  int64_t n_head = 4;
  int64_t n_kv_head = 4;           // GQA when smaller; must divide n_head
  int64_t n_embd = 512;            // model_dim = n_head * head_dim
  std::vector<int64_t> windows;    // per layer: query i sees keys i - window .. i
  std::string mlp_activation = "relu2";  // relu2 | swiglu | gelu
  double mlp_ratio = 4.0;          // hidden = mlp_ratio * n_embd
  bool value_embeds = true;        // value embeddings on alternating layers (last included)
  double softcap = 15.0;           // logits = softcap * tanh(logits / softcap); <= 0 turns it off
  double rotary_base = 10000.0;

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t mlp_hidden() const;
  bool has_value_embed(int64_t layer) const;

  // Throws InvalidArgument naming the inconsistent setting and what would work.
  void validate() const;
};

}  // namespace ar
