// HTTP on --http-port: /health/live, Prometheus /metrics, JSON /stats and
// /streams/{name}?from=&count=&direction=. Runs its own small thread pool.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "server/server_context.h"

namespace httplib {
class Server;
}

namespace kiroku::server {

class HttpAdmin {
 public:
  explicit HttpAdmin(const ServerDeps& deps);
  ~HttpAdmin();
  // Binds (port 0 picks a free one) and starts serving in the background.
  Status Start(const std::string& bind, uint16_t port);
  void Stop();
  uint16_t port() const { return port_; }

  // The bodies, exposed for tests.
  std::string MetricsText() const;
  std::string StatsJson() const;

 private:
  ServerDeps deps_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  uint16_t port_ = 0;
};

}  // namespace kiroku::server
