// Pull-based reader behind every catch-up subscription: history from the log, then live,
// with no seam. It keeps one cursor (a position in `$all`, or a revision in a stream) and
// always reads the log from that cursor, so the switch from history to live cannot skip or
// repeat an event, and a slow consumer never makes the server buffer anything: it simply
// reads older parts of the log when it asks for more.
// Not thread-safe: one reader per subscription.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/event_filter_matcher.h"
#include "kiroku/store.h"

namespace kiroku {

struct SubscriptionSource {
  bool all = false;    // `$all` (with filter) or one stream
  std::string stream;  // when !all
  EventFilter filter;  // when all
  // Where to start. `$all`: from_position (exclusive when `after` is set, as KurrentDB
  // subscriptions resume after the last event seen); stream: from_revision likewise.
  // kAt starts at from_position / from_revision itself (persistent subscriptions).
  enum class Start : uint8_t { kBeginning, kEnd, kAfter, kAt } start = Start::kBeginning;
  Position from_position;
  StreamRevision from_revision;
};

struct CatchUpBatch {
  std::vector<RecordedEvent> events;
  bool caught_up = false;  // nothing more in the log right now
  // `$all` only: the last record examined, matching or not; resuming after it misses nothing.
  std::optional<Position> checkpoint;
  uint64_t scanned = 0;  // `$all` only: records examined by this call, matching or not
};

class CatchUpReader {
 public:
  CatchUpReader(Store* store, SubscriptionSource source);
  // Pinned: matcher_ points into source_.
  CatchUpReader(const CatchUpReader&) = delete;
  CatchUpReader& operator=(const CatchUpReader&) = delete;

  // Reads up to max_events from the cursor. For `$all`, at most max_scanned records are
  // examined per call so a selective filter returns periodically with a checkpoint.
  Result<CatchUpBatch> Next(size_t max_events, size_t max_scanned);
  // The log end the reader has seen; pass to Store::WaitForAppend when caught up.
  Position seen_log_end() const { return seen_end_; }

 private:
  Status Init();

  Store* store_;
  SubscriptionSource source_;
  bool initialized_ = false;
  Position cursor_;             // `$all`: next position to read
  uint64_t next_revision_ = 0;  // stream: next revision to read
  Position seen_end_;
  // The `$all` filter, applied here rather than in the store so that every record examined
  // is counted (filtered subscriptions checkpoint every N records examined). Borrows
  // source_.filter.
  EventFilterMatcher matcher_;
};

}  // namespace kiroku
