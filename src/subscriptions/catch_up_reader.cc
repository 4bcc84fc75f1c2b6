#include "subscriptions/catch_up_reader.h"

namespace kiroku {

CatchUpReader::CatchUpReader(Store* store, SubscriptionSource source)
    : store_(store), source_(std::move(source)) {}

Status CatchUpReader::Init() {
  initialized_ = true;
  using Start = SubscriptionSource::Start;
  if (source_.all) {
    KIROKU_ASSIGN_OR_RETURN(matcher_, EventFilterMatcher::Make(source_.filter));
    switch (source_.start) {
      case Start::kBeginning:
        cursor_ = Position::Start();
        break;
      case Start::kEnd:
        cursor_ = store_->LogEnd();
        break;
      case Start::kAfter: {
        // Resume after the given event: find the position of the event that follows it.
        ReadAllOptions o;
        o.from = source_.from_position;
        o.max_count = 2;
        KIROKU_ASSIGN_OR_RETURN(ReadAllResult r, store_->ReadAll(o));
        if (!r.events.empty() && r.events[0].position == source_.from_position) {
          cursor_ = r.events.size() > 1 ? r.events[1].position : r.next;
        } else {
          cursor_ = source_.from_position;
        }
        break;
      }
      case Start::kAt:
        cursor_ = source_.from_position;  // reads return events at or after it
        break;
    }
    return Status::Ok();
  }
  switch (source_.start) {
    case Start::kBeginning:
      next_revision_ = 0;
      break;
    case Start::kAfter:
      next_revision_ = source_.from_revision.value + 1;
      break;
    case Start::kAt:
      next_revision_ = source_.from_revision.value;
      break;
    case Start::kEnd: {
      auto head = store_->StreamHead(source_.stream);
      if (!head.ok()) return head.status();
      next_revision_ = *head ? (*head)->value + 1 : 0;
      break;
    }
  }
  return Status::Ok();
}

Result<CatchUpBatch> CatchUpReader::Next(size_t max_events, size_t max_scanned) {
  // Note the log end before reading: anything appended later wakes the waiter.
  seen_end_ = store_->LogEnd();
  if (!initialized_) KIROKU_RETURN_IF_ERROR(Init());
  CatchUpBatch batch;
  if (source_.all) {
    ReadAllOptions o;  // unfiltered: Matches() filters, so every record examined is counted
    o.from = cursor_;
    bool stopped = false;
    auto visit = [&](const EventView& e) {
      ++batch.scanned;
      batch.checkpoint = e.position;
      if (matcher_.Matches(e.stream, e.type)) batch.events.push_back(e.ToRecorded());
      stopped =
          batch.events.size() >= max_events || (max_scanned != 0 && batch.scanned >= max_scanned);
      return !stopped;
    };
    KIROKU_ASSIGN_OR_RETURN(cursor_, store_->ScanAll(o, visit));
    batch.caught_up = !stopped;
    return batch;
  }
  ReadStreamOptions o;
  o.from = StreamRevision(next_revision_);
  o.max_count = max_events;
  auto r = store_->ReadStream(source_.stream, o);
  if (!r.ok()) {
    // A stream that does not exist (yet), or is soft-deleted, may still get events.
    if (r.status().code() != StatusCode::kStreamNotFound) return r.status();
    batch.caught_up = true;
    return batch;
  }
  batch.events = std::move(r).value();
  if (!batch.events.empty()) next_revision_ = batch.events.back().revision.value + 1;
  batch.caught_up = batch.events.size() < max_events;
  return batch;
}

}  // namespace kiroku
