// A minimal NATS client protocol speaker for the peer benchmark: CONNECT with headers on,
// SUB, PUB/HPUB (buffered until Flush), and a reader that returns MSG/HMSG and answers
// PING. Enough for JetStream's publish acks, API requests, pull and push consumers.
// Protocol: https://docs.nats.io/reference/reference-protocols/nats-protocol.
// Not thread-safe: one owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kiroku/status.h"
#include "tcp_connection.h"

namespace kiroku::bench::peers {

struct NatsMessage {
  std::string subject;
  std::string sid;
  std::string reply;
  std::string headers;  // "NATS/1.0[ status]\r\nKey: value\r\n...\r\n\r\n", empty for MSG
  std::string payload;

  // The status code of the header line ("NATS/1.0 100 FlowControl Request" -> 100), 0 if none.
  int Status() const;
  // The value of header `key`, empty if absent.
  std::string_view Header(std::string_view key) const;
};

class NatsConnection {
 public:
  static Result<std::unique_ptr<NatsConnection>> Connect(const std::string& host, uint16_t port);

  // The server's INFO line, as JSON text.
  const std::string& server_info() const { return info_; }
  // A subject prefix unique to this connection, e.g. "_INBOX.k3f9a1.".
  const std::string& inbox() const { return inbox_; }

  void Subscribe(std::string_view subject, std::string_view sid);
  void Unsubscribe(std::string_view sid);
  // `headers` empty: PUB; else HPUB with headers as given (must end with "\r\n\r\n").
  void Publish(std::string_view subject, std::string_view reply, std::string_view headers,
               std::string_view payload);
  Status Flush() { return conn_->Flush(); }

  // The next MSG/HMSG (flushes pending writes first). Answers PING; skips PONG, +OK, INFO.
  Status Next(NatsMessage* m);

  // Publishes `payload` to `subject` with a reply subject of this connection's request
  // inbox and waits for the reply (messages to other subjects are dropped).
  Result<NatsMessage> Request(std::string_view subject, std::string_view payload);

 private:
  explicit NatsConnection(std::unique_ptr<TcpConnection> c) : conn_(std::move(c)) {}

  std::unique_ptr<TcpConnection> conn_;
  std::string info_;
  std::string inbox_;
  bool request_sub_ = false;
  uint64_t requests_ = 0;
};

}  // namespace kiroku::bench::peers
