// Errors as values at kiroku's module edges.
//
// A Status is either OK or carries a code and a human message. WrongExpectedVersion also
// carries the stream's actual revision (or none if the stream does not exist), because
// clients use it to decide how to retry. Result<T> is a value or a non-OK Status.
// Both are cheap to move and safe to copy; they hold no references.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace kiroku {

enum class StatusCode : uint8_t {
  kOk = 0,
  kWrongExpectedVersion,
  kStreamDeleted,   // tombstoned: never readable or writable again
  kStreamNotFound,  // no such stream, or soft-deleted
  kInvalidArgument,
  kMaximumAppendSizeExceeded,
  kIOError,
  kCorruption,
  kNotFound,       // generic lookup miss (not a stream)
  kClosed,         // the store is shut down or failed and refuses new work
  kAlreadyExists,  // creating something (a consumer group) that exists
  kBusy,           // a limit is reached (a consumer group's max subscriber count)
};

const char* StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status WrongExpectedVersion(std::string msg, std::optional<uint64_t> actual_revision) {
    Status s(StatusCode::kWrongExpectedVersion, std::move(msg));
    s.actual_revision_ = actual_revision;
    return s;
  }
  static Status StreamDeleted(std::string msg) {
    return Status(StatusCode::kStreamDeleted, std::move(msg));
  }
  static Status StreamNotFound(std::string msg) {
    return Status(StatusCode::kStreamNotFound, std::move(msg));
  }
  static Status InvalidArgument(std::string msg) {
    return Status(StatusCode::kInvalidArgument, std::move(msg));
  }
  static Status MaximumAppendSizeExceeded(std::string msg) {
    return Status(StatusCode::kMaximumAppendSizeExceeded, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(StatusCode::kIOError, std::move(msg)); }
  static Status Corruption(std::string msg) {
    return Status(StatusCode::kCorruption, std::move(msg));
  }
  static Status NotFound(std::string msg) { return Status(StatusCode::kNotFound, std::move(msg)); }
  static Status Closed(std::string msg) { return Status(StatusCode::kClosed, std::move(msg)); }
  static Status AlreadyExists(std::string msg) {
    return Status(StatusCode::kAlreadyExists, std::move(msg));
  }
  static Status Busy(std::string msg) { return Status(StatusCode::kBusy, std::move(msg)); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // Only meaningful for kWrongExpectedVersion: the stream's last revision, or nullopt when
  // the stream has no events.
  std::optional<uint64_t> actual_revision() const { return actual_revision_; }

  // "WrongExpectedVersion: <message>"
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string msg) : code_(code), message_(std::move(msg)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::optional<uint64_t> actual_revision_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must be non-OK

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace kiroku

// Early-return helpers for code that returns Status or Result<T>.
#define KIROKU_RETURN_IF_ERROR(expr)       \
  do {                                     \
    ::kiroku::Status kiroku_s_ = (expr);   \
    if (!kiroku_s_.ok()) return kiroku_s_; \
  } while (0)

#define KIROKU_CONCAT_INNER(a, b) a##b
#define KIROKU_CONCAT(a, b) KIROKU_CONCAT_INNER(a, b)
#define KIROKU_ASSIGN_OR_RETURN(lhs, expr) \
  KIROKU_ASSIGN_OR_RETURN_IMPL(KIROKU_CONCAT(kiroku_r_, __LINE__), lhs, expr)
#define KIROKU_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
