// What a persistent subscription (consumer group) is: its key (a stream or `$all`, and a
// group name), its settings with KurrentDB's meanings and defaults, and the JSON form kept
// in the `$persistentSubscriptionConfig` stream (docs/format/consumer_groups.md).
// Plain values; no thread-safety concerns.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku {

// The stream a group reads: one stream, or `$all` (optionally filtered).
struct GroupKey {
  bool all = false;
  std::string stream;  // when !all
  std::string group;

  // "stream" or "$all", as KurrentDB's event_source.
  std::string Source() const { return all ? "$all" : stream; }
  // "{source}::{group}", the id KurrentDB uses in system stream names and subscription ids.
  std::string Id() const { return Source() + "::" + group; }
  std::string ParkedStream() const { return "$persistentsubscription-" + Id() + "-parked"; }
  std::string CheckpointStream() const { return "$persistentsubscription-" + Id() + "-checkpoint"; }
  auto operator<=>(const GroupKey&) const = default;
};

enum class ConsumerStrategy : uint8_t { kRoundRobin, kDispatchToSingle, kPinned };

// "RoundRobin", "DispatchToSingle", "Pinned"; nullopt for any other name.
std::optional<ConsumerStrategy> ParseConsumerStrategy(std::string_view name);
const char* ConsumerStrategyName(ConsumerStrategy s);

// Where a group starts when it has no checkpoint. Inclusive, as KurrentDB's persistent
// subscriptions (unlike catch-up subscriptions, which start after the given point).
struct GroupStart {
  enum class Kind : uint8_t { kStart, kEnd, kAt } kind = Kind::kEnd;
  uint64_t at = 0;  // a revision (stream groups) or a log position (`$all` groups)
  bool operator==(const GroupStart&) const = default;
};

struct GroupSettings {
  GroupStart start;
  bool resolve_links = false;
  bool extra_statistics = false;
  std::chrono::milliseconds message_timeout{30000};  // 0 = never times out
  int32_t max_retry_count = 10;                      // deliveries = 1 + retries, then parked
  int32_t live_buffer_size = 500;
  int32_t read_batch_size = 20;
  int32_t history_buffer_size = 500;
  std::chrono::milliseconds checkpoint_after{2000};
  int32_t min_checkpoint_count = 10;
  int32_t max_checkpoint_count = 1000;
  int32_t max_subscriber_count = 0;  // 0 = unbounded
  ConsumerStrategy strategy = ConsumerStrategy::kRoundRobin;
  EventFilter filter;          // `$all` groups only
  uint32_t filter_window = 0;  // KurrentDB's filter max search window (kept, reported)
  uint32_t checkpoint_interval_multiplier = 1;

  // InvalidArgument naming the first setting that is out of range.
  Status Validate() const;
  bool operator==(const GroupSettings&) const = default;
};

// The JSON object stored per group in `$persistentSubscriptionConfig`.
std::string GroupToJson(const GroupKey& key, const GroupSettings& settings);
Result<std::pair<GroupKey, GroupSettings>> GroupFromJson(std::string_view json);

}  // namespace kiroku
