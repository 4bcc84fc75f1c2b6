// What the gRPC services share: the store, the live-subscription hub, limits and counters.
// Owned by Server; services borrow it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "kiroku/store.h"
#include "subscriptions/live_hub.h"

namespace kiroku {
class ConsumerGroups;
}

namespace kiroku::server {

// Writes up to this size may carry WriteOptions::set_buffer_hint() (gathered into fewer
// frames); the transport's write buffer (server.cc) is well above it.
inline constexpr size_t kMaxHintedWrite = 64 << 10;

struct ServerMetrics {
  std::atomic<int64_t> subscriptions_active{0};
  std::atomic<uint64_t> subscriptions_started{0};
  std::atomic<uint64_t> events_delivered{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> appends_rejected{0};
  // Sum over live subscriptions of (log end - subscription position) at their last read,
  // in bytes of log; a coarse lag figure for /metrics.
  std::atomic<int64_t> subscription_lag_bytes{0};
  // Persistent subscriptions (consumer groups).
  std::atomic<int64_t> group_members{0};
  std::atomic<uint64_t> group_events_delivered{0};
  std::atomic<uint64_t> group_acks{0};
  std::atomic<uint64_t> group_nacks{0};
};

struct ServerDeps {
  Store* store = nullptr;
  LiveHub* hub = nullptr;
  ConsumerGroups* groups = nullptr;
  ServerMetrics* metrics = nullptr;
  uint64_t max_append_size = 0;
  std::string advertised_host = "127.0.0.1";
  uint16_t advertised_port = 2113;
  // See ServerOptions::projections_json / extra_metrics.
  std::function<std::string()> projections_json;
  std::function<std::string()> extra_metrics;
};

}  // namespace kiroku::server
