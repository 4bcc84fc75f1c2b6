// `kiroku serve`: the store, the KurrentDB-compatible gRPC services and the HTTP admin in
// one process. Owns everything it starts; Shutdown() stops it in an order that finishes or
// fails every in-flight append and leaves nothing half-written.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kiroku/store.h"

namespace kiroku::server {

struct ServerOptions {
  std::string data_dir = "./data";
  std::string bind = "127.0.0.1";
  uint16_t port = 2113;                     // 0 = pick a free port
  uint16_t http_port = 2114;                // 0 = pick a free port
  std::string tls_cert_file, tls_key_file;  // both set = TLS, else plaintext
  std::string advertised_host;              // gossip; default: bind
  StoreOptions store;
  // Admin content from components run beside the server (serve --projections): GET
  // /projections answers projections_json(), /metrics appends extra_metrics(). Called on HTTP
  // threads, so they must be thread-safe; empty = absent.
  std::function<std::string()> projections_json;
  std::function<std::string()> extra_metrics;
};

class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(ServerOptions options);
  virtual ~Server() = default;
  virtual void Shutdown() = 0;  // idempotent
  virtual uint16_t port() const = 0;
  virtual uint16_t http_port() const = 0;
  virtual Store* store() = 0;
};

}  // namespace kiroku::server
