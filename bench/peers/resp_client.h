// A minimal Redis (RESP2) client for the peer benchmark: send a command as an array of
// bulk strings, read one reply. Pipelining is sending several commands before reading.
// Protocol: https://redis.io/docs/reference/protocol-spec/. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/status.h"
#include "tcp_connection.h"

namespace kiroku::bench::peers {

struct RespValue {
  enum class Type : uint8_t { kSimple, kError, kInteger, kBulk, kNil, kArray };
  Type type = Type::kNil;
  std::string str;  // simple string, error text or bulk string
  int64_t integer = 0;
  std::vector<RespValue> elements;
};

class RespConnection {
 public:
  static Result<std::unique_ptr<RespConnection>> Connect(const std::string& host, uint16_t port);

  // Queues one command (nothing is sent until Read or Flush).
  void Send(const std::vector<std::string_view>& args);
  Status Flush() { return conn_->Flush(); }
  Status Read(RespValue* v);
  // Send + Read; an error reply becomes a non-OK status with the error text.
  Result<RespValue> Command(const std::vector<std::string_view>& args);

 private:
  explicit RespConnection(std::unique_ptr<TcpConnection> c) : conn_(std::move(c)) {}
  std::unique_ptr<TcpConnection> conn_;
};

}  // namespace kiroku::bench::peers
