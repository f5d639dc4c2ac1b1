#include "runtime/errors.h"

namespace ar {

std::string torch_message(const c10::Error& e) {
  std::string msg = e.what_without_backtrace();
  // Drop libtorch's "Exception raised from ... (most recent call first)" trailer if present.
  auto cut = msg.find("\nException raised from");
  if (cut != std::string::npos) msg.resize(cut);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return "libtorch: " + msg;
}

std::string current_exception_message() {
  try {
    throw;
  } catch (const InvalidArgument& e) {
    return e.what();
  } catch (const c10::Error& e) {
    return torch_message(e);
  } catch (const std::bad_alloc&) {
    return "out of memory: the model or batch does not fit; lower DEVICE_BATCH_SIZE, DEPTH or MAX_SEQ_LEN";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown native error";
  }
}

}  // namespace ar
