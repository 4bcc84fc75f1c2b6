// What the gRPC services share: the store, the live-subscription hub, limits and counters.
// Owned by Server; services borrow it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "kiroku/store.h"
#include "subscriptions/live_hub.h"

namespace kiroku::server {

struct ServerMetrics {
  std::atomic<int64_t> subscriptions_active{0};
  std::atomic<uint64_t> subscriptions_started{0};
  std::atomic<uint64_t> events_delivered{0};
  std::atomic<uint64_t> reads{0};
  std::atomic<uint64_t> appends_rejected{0};
  // Sum over live subscriptions of (log end - subscription position) at their last read,
  // in bytes of log; a coarse lag figure for /metrics.
  std::atomic<int64_t> subscription_lag_bytes{0};
};

struct ServerDeps {
  Store* store = nullptr;
  LiveHub* hub = nullptr;
  ServerMetrics* metrics = nullptr;
  uint64_t max_append_size = 0;
  std::string advertised_host = "127.0.0.1";
  uint16_t advertised_port = 2113;
};

}  // namespace kiroku::server
