// norm(x): RMS norm over the last dimension with no learned weight (SPEC §4), eps = the
// dtype's machine epsilon as in F.rms_norm(x, (x.size(-1),)).
#pragma once

#include <torch/torch.h>

namespace ar {

torch::Tensor rms_norm(const torch::Tensor& x);

}  // namespace ar
