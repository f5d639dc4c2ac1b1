// Checkpoint data I/O in the safetensors layout: an 8-byte little-endian header length, the
// JSON header, then the raw tensor bytes. The header (names, dtypes, shapes, offsets and the
// model config as metadata) is built and parsed in TypeScript (lib/checkpoint.ts); this file
// moves the bulk bytes, off the JavaScript thread. Writes go to <path>.tmp and are renamed
// into place, so a crash never leaves a half-written checkpoint under the real name.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace ar {

struct TensorEntry {
  std::string name;
  std::string dtype;           // F32 | BF16 | F16
  std::vector<int64_t> shape;
  int64_t begin = 0, end = 0;  // byte offsets into the data section
};

std::string safetensors_dtype(torch::Dtype dtype);
torch::Dtype torch_dtype(const std::string& safetensors_dtype);

// Writes header (already JSON, padded by the caller) then each tensor's bytes, in order.
void write_safetensors(const std::string& path, const std::string& header, const std::vector<torch::Tensor>& tensors);

// Reads each entry from the data section (which starts at data_start) into the matching
// destination tensor, converting dtype if needed. Checks sizes against the file length.
void read_safetensors(const std::string& path, int64_t data_start, const std::vector<TensorEntry>& entries,
                      const std::vector<torch::Tensor>& destinations);

}  // namespace ar
