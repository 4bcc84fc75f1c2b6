// EventSource over the in-process store: a CatchUpReader (history then live, no seam) and
// Store::WaitForAppend to sleep until new events arrive.
#include "projections/event_source.h"
#include "subscriptions/catch_up_reader.h"

namespace kiroku::projections {
namespace {

constexpr size_t kMaxScannedPerCall = 65536;

class EmbeddedSource final : public EventSource {
 public:
  explicit EmbeddedSource(Store* store) : store_(store) {}

  Status Start(std::optional<Position> after, const EventFilter& filter) override {
    SubscriptionSource src;
    src.all = true;
    src.filter = filter;
    if (after) {
      src.start = SubscriptionSource::Start::kAfter;
      src.from_position = *after;
    } else {
      src.start = SubscriptionSource::Start::kBeginning;
    }
    reader_ = std::make_unique<CatchUpReader>(store_, std::move(src));
    return Status::Ok();
  }

  Result<SourceBatch> Next(size_t max_events, std::chrono::milliseconds wait) override {
    if (!reader_) return Status::InvalidArgument("EmbeddedSource::Next before Start");
    KIROKU_ASSIGN_OR_RETURN(CatchUpBatch b, reader_->Next(max_events, kMaxScannedPerCall));
    if (b.events.empty() && b.caught_up && wait.count() > 0) {
      if (store_->WaitForAppend(reader_->seen_log_end(), wait)) {
        KIROKU_ASSIGN_OR_RETURN(CatchUpBatch again, reader_->Next(max_events, kMaxScannedPerCall));
        if (!again.checkpoint) again.checkpoint = b.checkpoint;
        b = std::move(again);
      }
    }
    SourceBatch out;
    out.events = std::move(b.events);
    out.checkpoint = b.checkpoint;
    out.caught_up = b.caught_up;
    return out;
  }

  Result<SourceTail> Tail(std::optional<Position> after, uint64_t cap) override {
    SourceTail t;
    t.log_end = store_->LogEnd();
    ReadAllOptions last;
    last.direction = Direction::kBackwards;
    last.from = Position::End();
    last.max_count = 1;
    KIROKU_ASSIGN_OR_RETURN(ReadAllResult lr, store_->ReadAll(last));
    if (!lr.events.empty()) t.last_position = lr.events[0].position;
    ReadAllOptions fwd;
    fwd.from = after.value_or(Position::Start());
    fwd.max_count = cap + 2;  // the event at `after` itself, and one past the cap
    bool first = true;
    KIROKU_ASSIGN_OR_RETURN(Position ignored, store_->ScanAll(fwd, [&](const EventView& e) {
      if (after && e.position <= *after) return true;
      if (first) {
        t.oldest_unprocessed_us = e.created_us;
        first = false;
      }
      if (t.lag_events == cap) {
        t.lag_capped = true;
        return false;
      }
      ++t.lag_events;
      return true;
    }));
    (void)ignored;
    return t;
  }

 private:
  Store* store_;
  std::unique_ptr<CatchUpReader> reader_;
};

}  // namespace

std::unique_ptr<EventSource> MakeEmbeddedSource(Store* store) {
  return std::make_unique<EmbeddedSource>(store);
}

}  // namespace kiroku::projections
