// Where a projection runner gets its events: "events after position P, in `$all` order,
// waiting for more". Two implementations share the runner: SubscriptionSource follows any
// EventStore (the public interface: a server, as `kiroku projection run --url` does, or an
// embedded store) with a catch-up subscription on a thread of its own; EmbeddedSource is the
// in-process fast path on a Store (kiroku serve --projections, tests, benchmarks): it reads
// the log with a CatchUpReader on the runner's own thread, without copying events through a
// queue, which is what a full rebuild spends its time on.
//
// Guarantee: events come in strictly increasing position order, each once, none skipped
// among those matching the filter; a checkpoint says every record up to it was examined.
// Thread-safety: one thread calls Next; the implementations may use internal threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku {
class EventStore;
}

namespace kiroku::projections {

struct SourceBatch {
  std::vector<RecordedEvent> events;
  // Every record at or before this position has been examined (delivered or filtered out).
  std::optional<Position> checkpoint;
  bool caught_up = false;  // nothing more is available right now
};

// Where the log stands relative to a checkpoint, for status and progress.
struct SourceTail {
  std::optional<Position> last_position;  // last event in the log, nullopt if empty
  Position log_end;                       // bytes: next position (embedded) or last + 1
  uint64_t lag_events = 0;                // events in `$all` after the checkpoint (capped)
  bool lag_capped = false;                // lag_events hit the cap
  int64_t oldest_unprocessed_us = 0;      // created time of the first event after it, 0 if none
};

class EventSource {
 public:
  virtual ~EventSource() = default;
  // Starts delivery after `after` (exclusive), or from the beginning if nullopt.
  virtual Status Start(std::optional<Position> after, const EventFilter& filter) = 0;
  // Up to max_events; if none are available, waits up to `wait` for some.
  virtual Result<SourceBatch> Next(size_t max_events, std::chrono::milliseconds wait) = 0;
  // The log relative to `after`; counts at most `cap` events.
  virtual Result<SourceTail> Tail(std::optional<Position> after, uint64_t cap) = 0;
};

// `store` is not owned and must outlive the source.
std::unique_ptr<EventSource> MakeEmbeddedSource(Store* store);
// `events` is not owned and must outlive the source.
std::unique_ptr<EventSource> MakeSubscriptionSource(EventStore* events);

}  // namespace kiroku::projections
