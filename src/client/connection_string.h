// Parses the connection strings the official KurrentDB/EventStoreDB clients accept:
//   esdb://[user:pass@]host[:port][,host[:port]...][/]?key=value&...
// Schemes: esdb, kurrentdb, kdb, kurrent, each optionally with "+discover" (gossip
// discovery over the listed seeds). Keys are case-insensitive; unknown keys are an error
// (as in the official clients) so typos do not pass silently.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiroku/status.h"

namespace kiroku {

struct Endpoint {
  std::string host;
  uint16_t port = 2113;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};

struct ConnectionSettings {
  std::string scheme;  // as written, lowercased, without "+discover"
  bool discover = false;
  std::vector<Endpoint> hosts;
  std::optional<std::string> username, password;
  bool tls = true;  // the official clients default to TLS
  bool tls_verify_cert = true;
  std::string tls_ca_file;
  std::string connection_name;
  std::string node_preference = "leader";
  std::chrono::milliseconds default_deadline{10000};
  std::chrono::milliseconds keep_alive_interval{10000};
  std::chrono::milliseconds keep_alive_timeout{10000};
  std::chrono::milliseconds gossip_timeout{5000};
  int max_discover_attempts = 10;
  // kiroku extensions (the official clients reject them): retries of transient errors
  // (server unavailable, broken stream) per call, and the first backoff, doubled each time.
  int max_retries = 3;                          // maxRetries
  std::chrono::milliseconds retry_backoff{50};  // retryBackoff
};

Result<ConnectionSettings> ParseConnectionString(const std::string& text);

}  // namespace kiroku
