#include "data/safetensors.h"

#include <cstdio>
#include <fstream>

#include "runtime/errors.h"

namespace ar {

std::string safetensors_dtype(torch::Dtype dtype) {
  switch (dtype) {
    case torch::kFloat32: return "F32";
    case torch::kBFloat16: return "BF16";
    case torch::kFloat16: return "F16";
    default: throw InvalidArgument("cannot store dtype " + std::string(c10::toString(dtype)) + " in a checkpoint");
  }
}

torch::Dtype torch_dtype(const std::string& name) {
  if (name == "F32") return torch::kFloat32;
  if (name == "BF16") return torch::kBFloat16;
  if (name == "F16") return torch::kFloat16;
  throw InvalidArgument("unsupported safetensors dtype '" + name + "' (supported: F32, BF16, F16)");
}

void write_safetensors(const std::string& path, const std::string& header, const std::vector<torch::Tensor>& tensors) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write checkpoint '" + tmp + "': check the directory exists and is writable");
    uint64_t n = header.size();
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    out.write(reinterpret_cast<const char*>(len), 8);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    for (const auto& t : tensors) {
      auto cpu = t.detach().to(torch::kCPU).contiguous();
      out.write(static_cast<const char*>(cpu.data_ptr()), static_cast<std::streamsize>(cpu.nbytes()));
    }
    out.flush();
    if (!out) {
      out.close();
      std::remove(tmp.c_str());
      throw std::runtime_error("writing checkpoint '" + path + "' failed (disk full?)");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot move checkpoint into place at '" + path + "'");
  }
}

void read_safetensors(const std::string& path, int64_t data_start, const std::vector<TensorEntry>& entries,
                      const std::vector<torch::Tensor>& destinations) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw std::runtime_error("cannot open checkpoint '" + path + "'");
  int64_t file_size = static_cast<int64_t>(in.tellg());
  torch::NoGradGuard no_grad;
  // Read and check everything first, so a bad file leaves the model untouched.
  std::vector<torch::Tensor> staged;
  for (size_t i = 0; i < entries.size(); i++) {
    const auto& e = entries[i];
    auto dtype = torch_dtype(e.dtype);
    auto staging = torch::empty(e.shape, torch::TensorOptions().dtype(dtype));
    if (static_cast<int64_t>(staging.nbytes()) != e.end - e.begin) {
      throw InvalidArgument("corrupt checkpoint '" + path + "': tensor '" + e.name + "' has " +
                            std::to_string(e.end - e.begin) + " bytes, its shape and dtype need " +
                            std::to_string(staging.nbytes()));
    }
    if (data_start + e.end > file_size) {
      throw InvalidArgument("corrupt checkpoint '" + path + "': truncated (tensor '" + e.name + "' ends at byte " +
                            std::to_string(data_start + e.end) + ", file has " + std::to_string(file_size) + ")");
    }
    in.seekg(data_start + e.begin);
    in.read(static_cast<char*>(staging.data_ptr()), static_cast<std::streamsize>(staging.nbytes()));
    if (!in) throw std::runtime_error("reading checkpoint '" + path + "' failed at tensor '" + e.name + "'");
    const auto& dst = destinations[i];
    if (dst.sizes() != staging.sizes()) {
      throw InvalidArgument("checkpoint tensor '" + e.name + "' has shape " + c10::str(staging.sizes()) +
                            " but the model expects " + c10::str(dst.sizes()) + ": build the model from the "
                            "checkpoint's config");
    }
    staged.push_back(staging);
  }
  for (size_t i = 0; i < staged.size(); i++) {
    destinations[i].detach().copy_(staged[i].to(destinations[i].device()).to(destinations[i].scalar_type()));
  }
}

}  // namespace ar
