#include "storage/event_reader.h"

#include <algorithm>
#include <regex>

#include "common/event_filter_matcher.h"
#include "storage/log_format.h"
#include "storage/stream_heads.h"

namespace kiroku {
namespace {

EventView ToView(const EventFields& f, uint64_t position) {
  EventView v;
  v.id = f.id;
  v.stream = f.stream;
  v.revision = f.revision;
  v.position = Position(position);
  v.type = f.type;
  v.content_type = f.content_type;
  v.data = f.data;
  v.metadata = f.metadata;
  v.created_us = f.created_us;
  return v;
}

Status BadBody(uint64_t position) {
  return Status::Corruption("log position " + std::to_string(position) +
                            ": record checksum is valid but its event body is malformed");
}

}  // namespace

Status EventReader::ReadExtent(const Extent& e, std::string_view stream, uint64_t skip,
                               uint64_t take, const RawVisitor& fn, bool* stopped) {
  const uint64_t visible = visible_end_->load(std::memory_order_acquire);
  // The committer writes a group's index entries just before it publishes the group's log
  // end, so a reader may meet an extent of a group it cannot see yet (all of an extent is
  // in one group): that extent and everything after it do not exist for this read.
  if (e.position >= visible) {
    *stopped = true;
    return Status::Ok();
  }
  // Point and stream reads: start small (a few records), grow if the extent is long.
  LogCursor cursor(segments_, e.position, visible, 4096);
  RawRecord rec;
  for (uint64_t i = 0; i < skip + take; ++i) {
    KIROKU_ASSIGN_OR_RETURN(bool more, cursor.Next(&rec));
    if (!more) {
      return Status::Corruption("index extent of stream '" + std::string(stream) +
                                "' at position " + std::to_string(e.position) +
                                " runs past the end of the log");
    }
    if (i < skip) continue;
    EventFields f;
    if (!DecodeEventBody(rec.body, &f)) return BadBody(rec.position);
    if (f.stream != stream || f.revision.value != e.first_revision + i) {
      return Status::Corruption("index says position " + std::to_string(rec.position) + " holds '" +
                                std::string(stream) + "'@" + std::to_string(e.first_revision + i) +
                                ", log has '" + std::string(f.stream) + "'@" +
                                std::to_string(f.revision.value));
    }
    if (!fn(f, rec.position)) {
      *stopped = true;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status EventReader::ReadRevisions(uint64_t stream_id, std::string_view stream, uint64_t from,
                                  uint64_t count, const RawVisitor& fn) {
  if (count == 0) return Status::Ok();
  const uint64_t end = from + count;
  Status inner;
  bool stopped = false;
  KIROKU_RETURN_IF_ERROR(index_->ExtentsForward(stream_id, from, [&](const Extent& e) {
    uint64_t lo = std::max(from, e.first_revision);
    uint64_t hi = std::min(end, e.first_revision + e.count);
    if (lo < hi) inner = ReadExtent(e, stream, lo - e.first_revision, hi - lo, fn, &stopped);
    return inner.ok() && !stopped && e.first_revision + e.count < end;
  }));
  return inner;
}

Result<std::vector<RecordedEvent>> EventReader::ReadStream(std::string_view stream,
                                                           const ReadStreamOptions& o) {
  KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> head, index_->GetHead(stream));
  if (head && head->tombstoned) {
    return Status::StreamDeleted("stream '" + std::string(stream) + "' is deleted");
  }
  if (IsMetadataStream(stream)) {
    // The metadata of a tombstoned stream is gone with it (KurrentDB: reading `$$s` of a
    // hard-deleted `s` fails with stream-deleted).
    KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> target, index_->GetHead(stream.substr(2)));
    if (target && target->tombstoned) {
      return Status::StreamDeleted("stream '" + std::string(stream.substr(2)) + "' is deleted");
    }
  }
  if (!head || head->count == 0 || IsSoftDeleted(*head)) {
    return Status::StreamNotFound("stream '" + std::string(stream) + "' not found");
  }
  StreamMetadata meta = ParseMetadataOrEmpty(head->metadata_json);
  uint64_t min_rev = meta.truncate_before ? meta.truncate_before->value : 0;
  if (meta.max_count && head->count > *meta.max_count) {
    min_rev = std::max(min_rev, head->count - *meta.max_count);
  }
  int64_t cutoff_us = INT64_MIN;
  if (meta.max_age) cutoff_us = env_->NowMicros() - meta.max_age->count() * 1000000;
  const uint64_t last = head->count - 1;

  std::vector<RecordedEvent> out;
  if (o.max_count == 0) return out;
  auto keep = [&](const EventFields& f, uint64_t pos) {
    if (f.revision.value >= min_rev && f.created_us >= cutoff_us) {
      out.push_back(ToView(f, pos).ToRecorded());
    }
    return out.size() < o.max_count;
  };
  if (o.direction == Direction::kForwards) {
    uint64_t start = std::max(o.from.value, min_rev);
    if (start > last) return out;
    KIROKU_RETURN_IF_ERROR(ReadRevisions(head->id, stream, start, last - start + 1, keep));
    return out;
  }
  uint64_t start = std::min(o.from.value, last);
  if (start < min_rev) return out;
  // Backwards: walk extents from the highest, reading each forwards and emitting reversed.
  Status inner;
  std::vector<std::pair<EventFields, uint64_t>> chunk;
  std::vector<std::string> storage;
  bool done = false;
  KIROKU_RETURN_IF_ERROR(index_->ExtentsBackward(head->id, start, [&](const Extent& e) {
    uint64_t lo = std::max(e.first_revision, min_rev);
    uint64_t hi = std::min<uint64_t>(start + 1, e.first_revision + e.count);
    if (lo >= hi) return false;
    std::vector<RecordedEvent> part;
    bool stopped = false;
    inner = ReadExtent(
        e, stream, lo - e.first_revision, hi - lo,
        [&](const EventFields& f, uint64_t pos) {
          if (f.created_us >= cutoff_us) part.push_back(ToView(f, pos).ToRecorded());
          return true;
        },
        &stopped);
    if (!inner.ok()) return false;
    for (auto it = part.rbegin(); it != part.rend(); ++it) {
      out.push_back(std::move(*it));
      if (out.size() >= o.max_count) {
        done = true;
        return false;
      }
    }
    return lo > min_rev && e.first_revision > 0;
  }));
  KIROKU_RETURN_IF_ERROR(inner);
  (void)done;
  return out;
}

Result<Position> EventReader::ScanAll(const ReadAllOptions& o, const EventVisitor& visit,
                                      bool* end_of_log, std::optional<Position>* last_scanned) {
  *end_of_log = false;
  std::optional<Position> ignored;
  if (last_scanned == nullptr) last_scanned = &ignored;
  *last_scanned = std::nullopt;
  return o.direction == Direction::kForwards ? ScanForwards(o, visit, end_of_log, last_scanned)
                                             : ScanBackwards(o, visit, end_of_log, last_scanned);
}

Result<bool> EventReader::IsRecordStart(uint64_t position) {
  const uint64_t end = visible_end_->load(std::memory_order_acquire);
  if (position >= end) return position == end;
  auto seg = segments_->Find(position);
  if (!seg) return false;
  uint64_t lower = FirstRecordPosition(seg->base);
  if (position <= lower) return true;  // a read from a segment header starts at its first record
  KIROKU_ASSIGN_OR_RETURN(std::optional<uint64_t> sparse, index_->SparseAtOrBefore(position));
  if (sparse && *sparse > lower) lower = *sparse;
  LogCursor cursor(segments_, lower, end);
  RawRecord rec;
  while (cursor.position() < position) {
    KIROKU_ASSIGN_OR_RETURN(bool more, cursor.Next(&rec));
    if (!more) return false;
  }
  return cursor.position() == position;
}

Result<Position> EventReader::ScanForwards(const ReadAllOptions& o, const EventVisitor& visit,
                                           bool* end_of_log,
                                           std::optional<Position>* last_scanned) {
  KIROKU_ASSIGN_OR_RETURN(EventFilterMatcher m, EventFilterMatcher::Make(o.filter));
  const uint64_t end = visible_end_->load(std::memory_order_acquire);
  if (o.from.value >= end) {
    *end_of_log = true;
    return Position(end);
  }
  LogCursor cursor(segments_, o.from.value, end, 256 * 1024);
  uint64_t matched = 0, scanned = 0;
  RawRecord rec;
  bool first = true;
  while (matched < o.max_count && (o.max_scanned == 0 || scanned < o.max_scanned)) {
    auto more = cursor.Next(&rec);
    if (!more.ok()) {
      if (first && o.from.value != 0 && more.status().code() == StatusCode::kCorruption) {
        // Either `from` is not where a record starts, or the record there is damaged.
        KIROKU_ASSIGN_OR_RETURN(bool boundary, IsRecordStart(o.from.value));
        if (!boundary) {
          return Status::InvalidArgument("position " + std::to_string(o.from.value) +
                                         " is not the position of an event");
        }
      }
      return more.status();
    }
    if (!*more) {
      *end_of_log = true;
      return Position(cursor.position());
    }
    first = false;
    ++scanned;
    *last_scanned = Position(rec.position);
    EventFields f;
    if (!DecodeEventBody(rec.body, &f)) return BadBody(rec.position);
    if (!m.Matches(f.stream, f.type)) continue;
    ++matched;
    if (!visit(ToView(f, rec.position))) return Position(cursor.position());
  }
  if (cursor.position() >= end) *end_of_log = true;
  return Position(cursor.position());
}

Result<Position> EventReader::ScanBackwards(const ReadAllOptions& o, const EventVisitor& visit,
                                            bool* end_of_log,
                                            std::optional<Position>* last_scanned) {
  KIROKU_ASSIGN_OR_RETURN(EventFilterMatcher m, EventFilterMatcher::Make(o.filter));
  auto first_seg = segments_->First();
  if (!first_seg) {
    *end_of_log = true;
    return Position(0);
  }
  const uint64_t log_start = FirstRecordPosition(first_seg->base);
  uint64_t upper = std::min(o.from.value, visible_end_->load(std::memory_order_acquire));
  uint64_t matched = 0, scanned = 0;
  struct Item {
    uint64_t position;
    std::string body;
  };
  std::vector<Item> chunk;
  bool first_chunk = true;
  while (upper > log_start) {
    KIROKU_ASSIGN_OR_RETURN(std::optional<uint64_t> sparse, index_->SparseAtOrBefore(upper - 1));
    uint64_t lower = sparse ? std::max(*sparse, log_start) : log_start;
    chunk.clear();
    LogCursor cursor(segments_, lower, upper, 64 * 1024);
    RawRecord rec;
    while (true) {
      auto more = cursor.Next(&rec);
      if (!more.ok()) {
        // A `from` inside a record makes the last record run past the bound; otherwise a
        // record in the chunk is damaged.
        if (first_chunk && more.status().code() == StatusCode::kCorruption) {
          KIROKU_ASSIGN_OR_RETURN(bool boundary, IsRecordStart(upper));
          if (!boundary) {
            return Status::InvalidArgument("position " + std::to_string(o.from.value) +
                                           " is not the position of an event");
          }
        }
        return more.status();
      }
      if (!*more) break;
      chunk.push_back({rec.position, std::string(rec.body)});
    }
    first_chunk = false;
    uint64_t examined = upper;  // everything at or after this has been looked at
    for (auto it = chunk.rbegin(); it != chunk.rend(); ++it) {
      if (o.max_scanned != 0 && scanned >= o.max_scanned) return Position(examined);
      ++scanned;
      examined = it->position;
      *last_scanned = Position(it->position);
      EventFields f;
      if (!DecodeEventBody(it->body, &f)) return BadBody(it->position);
      if (!m.Matches(f.stream, f.type)) continue;
      ++matched;
      // The continuation reads strictly before this event.
      if (!visit(ToView(f, it->position)) || matched >= o.max_count) {
        if (it->position <= log_start) *end_of_log = true;
        return Position(it->position);
      }
    }
    upper = lower;
  }
  *end_of_log = true;
  return Position(log_start);
}

}  // namespace kiroku
