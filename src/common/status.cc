#include "kiroku/status.h"

namespace kiroku {

const char* StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kWrongExpectedVersion:
      return "WrongExpectedVersion";
    case StatusCode::kStreamDeleted:
      return "StreamDeleted";
    case StatusCode::kStreamNotFound:
      return "StreamNotFound";
    case StatusCode::kInvalidArgument:
      return "InvalidArgument";
    case StatusCode::kMaximumAppendSizeExceeded:
      return "MaximumAppendSizeExceeded";
    case StatusCode::kIOError:
      return "IOError";
    case StatusCode::kCorruption:
      return "Corruption";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kClosed:
      return "Closed";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kBusy:
      return "Busy";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = StatusCodeName(code_);
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

}  // namespace kiroku
