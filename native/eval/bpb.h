// Bits per byte (SPEC §6), the one number every experiment is scored by. It is independent of
// the vocabulary: the summed cross entropy (nats) is divided by the number of UTF-8 bytes the
// target tokens stand for, times ln 2. Special tokens have 0 bytes and are left out of both
// sums, as are ignored targets (-1).
//   val_bpb = sum(loss * [bytes > 0]) / (ln 2 * sum(bytes)),  bytes = token_bytes[target]
#pragma once

#include <torch/torch.h>

namespace ar {

struct BpbSums {
  double nats = 0;    // summed loss over counted tokens
  double bytes = 0;   // summed UTF-8 bytes of counted targets
  int64_t tokens = 0; // counted tokens
};

// loss: per-token cross entropy in nats (any shape); targets: same shape, int64, -1 ignored;
// token_bytes: (V,) byte length per token id, 0 for special tokens.
BpbSums bpb_sums(const torch::Tensor& loss, const torch::Tensor& targets, const torch::Tensor& token_bytes);

}  // namespace ar
