// How to read a stream or `$all`: direction, start, count and the server-side filter, and
// what a `$all` read returns. Plain values, shared by the embedded store and the client.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiroku/event.h"

namespace kiroku {

enum class Direction : uint8_t { kForwards, kBackwards };

struct ReadStreamOptions {
  Direction direction = Direction::kForwards;
  // Forwards: first revision to return. Backwards: first (highest) revision to return;
  // StreamRevision::End() starts at the last event.
  StreamRevision from = StreamRevision::Start();
  uint64_t max_count = UINT64_MAX;
};

// Server-side filter for `$all`. Prefix filters match any of the prefixes; a regex filter
// uses ECMAScript syntax and matches anywhere in the name (std::regex_search).
struct EventFilter {
  enum class Target : uint8_t { kNone, kStreamName, kEventType };
  Target target = Target::kNone;
  std::vector<std::string> prefixes;
  std::string regex;  // used when prefixes is empty

  static EventFilter StreamPrefix(std::vector<std::string> p) {
    return {Target::kStreamName, std::move(p), {}};
  }
  static EventFilter StreamRegex(std::string r) { return {Target::kStreamName, {}, std::move(r)}; }
  static EventFilter EventTypePrefix(std::vector<std::string> p) {
    return {Target::kEventType, std::move(p), {}};
  }
  static EventFilter EventTypeRegex(std::string r) {
    return {Target::kEventType, {}, std::move(r)};
  }
};

struct ReadAllOptions {
  Direction direction = Direction::kForwards;
  // Forwards: events at or after this position. Backwards: events strictly before it;
  // Position::End() starts at the last event.
  Position from = Position::Start();
  uint64_t max_count = UINT64_MAX;
  EventFilter filter;
  // Stop after examining this many records even if fewer than max_count matched, so a
  // selective filter cannot turn one call into a full scan. 0 = no limit.
  uint64_t max_scanned = 0;
};

struct ReadAllResult {
  std::vector<RecordedEvent> events;
  // Where to continue in the same direction (a checkpoint for filtered reads).
  Position next;
  bool end_of_log = false;  // nothing left in this direction at the time of the read
  // Position of the last record examined (matching the filter or not), if any: a filtered
  // reader can resume after it without missing a match.
  std::optional<Position> last_scanned;
};

}  // namespace kiroku
