// The embedded event store: open a directory, append with optimistic concurrency, read
// streams and `$all`, manage stream metadata and deletion.
//
// Guarantees:
// - An append is acknowledged (its callback runs / Append returns OK) only after its events
//   are durable in the configured Durability mode and visible to every reader.
// - All events of one append are atomic: after any crash either all are readable or none.
// - `$all` order equals commit order; each stream's revisions are contiguous from 0.
// Thread-safety: every method may be called from any number of threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/append_result.h"
#include "kiroku/env.h"
#include "kiroku/event.h"
#include "kiroku/read.h"
#include "kiroku/snapshot.h"
#include "kiroku/status.h"
#include "kiroku/stream_metadata.h"

namespace kiroku {

enum class Durability : uint8_t {
  kSyncEveryGroup,  // default: fdatasync each commit group before acknowledging it
  kSyncInterval,    // acknowledge after write(); fdatasync every sync_interval (may lose that)
  kNoSync,          // UNSAFE: never fdatasync; for tests and labelled benchmarks only
};
const char* DurabilityName(Durability d);

struct StoreOptions {
  Durability durability = Durability::kSyncEveryGroup;
  std::chrono::milliseconds sync_interval{10};
  uint64_t max_event_size = 16u << 20;   // data + metadata + type of one event
  uint64_t max_append_size = 64u << 20;  // sum over one append batch
  uint64_t segment_size = 256u << 20;    // a segment is sealed once it reaches this size
  bool create_if_missing = true;
  // Verify the CRC of every record of every segment on open, not just past the index
  // checkpoint. Slower open; damage anywhere then refuses to open.
  bool paranoid_checks = false;
  // File and clock access. nullptr = the real POSIX file system. Not owned; must outlive
  // the store.
  Env* env = nullptr;
};

// Figures for monitoring and the CLI.
struct StoreStats {
  Position log_end;
  uint64_t segments = 0;
  uint64_t appends = 0;
  uint64_t events_appended = 0;
  uint64_t bytes_appended = 0;
  uint64_t commit_groups = 0;
  uint64_t syncs = 0;
  uint64_t sync_failures = 0;
  // fdatasync latency: cumulative (upper bound in seconds, count) buckets, count and sum.
  std::vector<std::pair<double, uint64_t>> sync_latency_buckets;
  uint64_t sync_latency_count = 0;
  double sync_latency_sum_seconds = 0;
};

// Return false to stop the scan.
using EventVisitor = std::function<bool(const EventView&)>;

class Store {
 public:
  // Opens (and recovers) the store in `dir`. Corruption names the file and byte offset.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, StoreOptions options = {});
  virtual ~Store() = default;

  // Appends `events` atomically. Blocks until durable or failed.
  virtual Result<AppendResult> Append(std::string_view stream, ExpectedRevision expected,
                                      std::vector<EventData> events) = 0;
  // As Append, without blocking: `done` runs exactly once, on an internal thread, after the
  // events are durable or the append failed. Keep it short.
  virtual void AppendAsync(std::string_view stream, ExpectedRevision expected,
                           std::vector<EventData> events, AppendCallback done) = 0;

  // StreamNotFound if the stream has no events or is soft-deleted; StreamDeleted if
  // tombstoned. Applies $maxCount, $maxAge and $tb from the stream's metadata.
  virtual Result<std::vector<RecordedEvent>> ReadStream(std::string_view stream,
                                                        const ReadStreamOptions& options) = 0;
  virtual Result<ReadAllResult> ReadAll(const ReadAllOptions& options) = 0;
  // Zero-copy `$all` scan; returns where to continue. Stops when the visitor returns false
  // (the position returned is then that of the event after the one it stopped at).
  virtual Result<Position> ScanAll(const ReadAllOptions& options, const EventVisitor& visit) = 0;

  virtual Result<StreamMetadataResult> GetStreamMetadata(std::string_view stream) = 0;
  // `expected` applies to the metadata stream `$$stream`.
  virtual Result<AppendResult> SetStreamMetadata(std::string_view stream, ExpectedRevision expected,
                                                 const StreamMetadata& metadata) = 0;
  // Soft delete: reads then say StreamNotFound; appending later continues the revisions and
  // the earlier events stay hidden.
  virtual Result<DeleteResult> Delete(std::string_view stream, ExpectedRevision expected) = 0;
  // Hard delete: the stream can never be read or written again.
  virtual Result<DeleteResult> Tombstone(std::string_view stream, ExpectedRevision expected) = 0;

  // Appends `events` and, in the same log transaction, `snapshot` of the stream's state as
  // of its last event after the append: after any crash both are there or neither. With no
  // events the snapshot covers the stream's current last revision (the stream must exist;
  // `expected` still applies). An append recognised as an idempotent retry (same event ids)
  // writes no second snapshot. Not allowed on `$$` metadata and `$snapshots-` streams.
  virtual Result<AppendResult> AppendWithSnapshot(std::string_view stream,
                                                  ExpectedRevision expected,
                                                  std::vector<EventData> events,
                                                  SnapshotData snapshot,
                                                  const SnapshotOptions& options = {}) = 0;
  // As AppendWithSnapshot, without blocking: `done` runs exactly once, on an internal thread
  // (or at once, on the caller's, if the request is refused before it is queued), after the
  // events and the snapshot are durable or the append failed. Keep it short. Appends
  // submitted one after another from one thread commit in that order.
  virtual void AppendWithSnapshotAsync(std::string_view stream, ExpectedRevision expected,
                                       std::vector<EventData> events, SnapshotData snapshot,
                                       const SnapshotOptions& options, AppendCallback done) = 0;
  // The newest readable snapshot of `stream` covering a revision <= `at_or_below`, nullopt if
  // none. Snapshots of a soft-deleted stream, or covering a revision below its $tb (which a
  // revival after a soft delete also sets), are not returned. StreamDeleted if the stream is
  // tombstoned.
  virtual Result<std::optional<StoredSnapshot>> LoadSnapshot(
      std::string_view stream, StreamRevision at_or_below = StreamRevision::End()) = 0;

  // Last revision of the stream, nullopt if it has none. StreamDeleted if tombstoned.
  virtual Result<std::optional<StreamRevision>> StreamHead(std::string_view stream) = 0;
  // End of the acknowledged log: the position the next event will get.
  virtual Position LogEnd() const = 0;
  // Blocks until the log end moves past `known_end` (true) or the timeout passes (false).
  // Live subscriptions use it to wait for new events without polling.
  virtual bool WaitForAppend(Position known_end, std::chrono::milliseconds timeout) = 0;
  virtual StoreStats Stats() const = 0;
};

// Offline tools (the store must not be open in another process).
struct VerifyReport {
  uint64_t segments = 0;
  uint64_t records = 0;
  uint64_t bytes = 0;
  uint64_t index_entries_checked = 0;
  std::vector<std::string> problems;  // each names the file and byte offset
  bool ok() const { return problems.empty(); }
};
// Checks every record's CRC and framing, and every index entry against the log.
Result<VerifyReport> VerifyStore(const std::string& dir, Env* env = nullptr);
// Drops the index and rebuilds it from the log. Returns the number of events indexed.
Result<uint64_t> ReindexStore(const std::string& dir, Env* env = nullptr);

}  // namespace kiroku
