// A blocking TCP connection to a peer on loopback with buffered reads and writes, for the
// small text protocols the peer benchmark speaks itself (NATS, RESP). Every read and write
// has a timeout, so a stuck peer fails the run instead of hanging it.
// Not thread-safe: one owner thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kiroku/status.h"

namespace kiroku::bench::peers {

class TcpConnection {
 public:
  static Result<std::unique_ptr<TcpConnection>> Connect(
      const std::string& host, uint16_t port,
      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  // Queues bytes; nothing is sent until Flush (or a read, which flushes first).
  void Write(std::string_view bytes) { out_.append(bytes); }
  Status Flush();

  // A line without its "\r\n" (the peer protocols end lines with CRLF).
  Result<std::string> ReadLine();
  // Exactly n bytes, into `out` (replacing its contents).
  Status ReadExact(size_t n, std::string* out);
  // Bytes already received and not yet consumed (for parsers that look ahead).
  size_t Buffered() const { return in_.size() - in_pos_; }

 private:
  explicit TcpConnection(int fd) : fd_(fd) {}
  Status Fill();  // reads at least one more byte into in_

  int fd_;
  std::string out_;
  std::string in_;
  size_t in_pos_ = 0;
};

}  // namespace kiroku::bench::peers
