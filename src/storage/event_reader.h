// The read side: stream reads through the index, `$all` scans straight over the log.
// Readers see only what the committer has published (visible_end), i.e. acknowledged
// events. Thread-safe: any number of threads may read at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "kiroku/env.h"
#include "kiroku/store.h"
#include "storage/record_codec.h"
#include "storage/segment_reader.h"
#include "storage/stream_index.h"

namespace kiroku {

class EventReader {
 public:
  EventReader(Env* env, const SegmentSet* segments, StreamIndex* index,
              const std::atomic<uint64_t>* visible_end)
      : env_(env), segments_(segments), index_(index), visible_end_(visible_end) {}

  // Raw revisions [from, from + count) of a stream in order, ignoring its metadata.
  // fn gets each event and its position; return false to stop.
  using RawVisitor = std::function<bool(const EventFields&, uint64_t position)>;
  Status ReadRevisions(uint64_t stream_id, std::string_view stream, uint64_t from, uint64_t count,
                       const RawVisitor& fn);

  Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                const ReadStreamOptions& options);
  Result<Position> ScanAll(const ReadAllOptions& options, const EventVisitor& visit,
                           bool* end_of_log, std::optional<Position>* last_scanned = nullptr);

 private:
  Status ReadExtent(const Extent& e, std::string_view stream, uint64_t skip, uint64_t take,
                    const RawVisitor& fn, bool* stopped);
  // Whether a record starts at `position` (the visible end counts as one). Scans from the
  // nearest sparse boundary; damage met before `position` is returned as the error.
  Result<bool> IsRecordStart(uint64_t position);
  Result<Position> ScanForwards(const ReadAllOptions& o, const EventVisitor& visit,
                                bool* end_of_log, std::optional<Position>* last_scanned);
  Result<Position> ScanBackwards(const ReadAllOptions& o, const EventVisitor& visit,
                                 bool* end_of_log, std::optional<Position>* last_scanned);

  Env* env_;
  const SegmentSet* segments_;
  StreamIndex* index_;
  const std::atomic<uint64_t>* visible_end_;
};

}  // namespace kiroku
