// Intra-op threads and the BLAS behind libtorch. Debian's libtorch starts with one thread, so
// the addon sets the count explicitly (the machine's cores unless configured), and tells
// OpenBLAS the same through its C API when it is the BLAS loaded (looked up at run time, no
// link dependency).
#pragma once

#include <string>

namespace ar {

void set_num_threads(int n);
int get_num_threads();
// e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... (pthread)"; "unknown" when it cannot tell.
std::string blas_info();

}  // namespace ar
