// The single writer of the log. Callers submit requests from any thread; one committer
// thread takes everything pending as a group, checks each request's expected revision
// against the stream heads, encodes the accepted ones, writes the group with one write,
// makes it durable with one fdatasync (per Durability), updates the index, publishes the
// new log end to readers, and only then acknowledges the group (group commit).
//
// Failure: if the write or the sync fails, the group's bytes are truncated away and every
// request in it fails; the stream heads are untouched (requests are planned against a
// per-group overlay and applied to the heads only after the group is durable).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/latency_histogram.h"
#include "kiroku/store.h"
#include "storage/log_end_notifier.h"
#include "storage/log_writer.h"
#include "storage/recent_event_ids.h"
#include "storage/stream_heads.h"
#include "storage/stream_index.h"

namespace kiroku {

class EventReader;

struct CommitRequest {
  enum class Kind : uint8_t { kAppend, kDelete, kTombstone };
  Kind kind = Kind::kAppend;
  std::string stream;
  ExpectedRevision expected = ExpectedRevision::Any();
  std::vector<EventData> events;  // kAppend only; validated by the caller
  // kAppend only: a snapshot written in the same transaction, after the events.
  std::optional<SnapshotData> snapshot;
  SnapshotOptions snapshot_options;
  AppendCallback done;
};

struct CommitterStats {
  std::atomic<uint64_t> appends{0}, events{0}, bytes{0}, groups{0}, syncs{0}, sync_failures{0};
  LatencyHistogram sync_latency;
};

class Committer {
 public:
  struct Options {
    Durability durability = Durability::kSyncEveryGroup;
    std::chrono::milliseconds sync_interval{10};
    size_t idempotency_slots = 1 << 18;  // recent event ids remembered for kAny retries
  };
  // Borrows everything; all must outlive the committer. `visible_end` is published with
  // release order after each group is indexed.
  Committer(Options options, Env* env, LogWriter* writer, StreamIndex* index, StreamHeads* heads,
            EventReader* reader, std::atomic<uint64_t>* visible_end, LogEndNotifier* notifier,
            CommitterStats* stats);
  ~Committer();  // Stop()s

  void Start();
  // Processes everything already submitted, then stops; later submissions fail (Closed).
  void Stop();
  void Submit(std::unique_ptr<CommitRequest> request);

 private:
  struct Planned;
  struct Group;
  struct SnapshotPlan;

  void Run();
  void ProcessGroup(std::vector<std::unique_ptr<CommitRequest>>* requests);
  // Checks the request against the overlay; on success appends its records to the group.
  // Sets *idempotent when the events were already written by an earlier identical append.
  Status Plan(CommitRequest* req, Group* group, std::optional<AppendResult>* idempotent);
  // The records a request's snapshot adds; EmitSnapshot writes them after the events.
  Result<SnapshotPlan> PlanSnapshot(const CommitRequest& req, const StreamState& st, Group* g);
  uint64_t EmitSnapshot(const CommitRequest& req, const SnapshotPlan& p, StreamState* st, Group* g,
                        size_t* index, size_t total);
  // `committed` is the stream's durable state (not the group overlay): only events already
  // acknowledged can make a request a retry.
  Result<std::optional<AppendResult>> CheckIdempotent(const CommitRequest& req,
                                                      const StreamState& committed);
  void Fail(const Status& s);
  Status TimedSync();  // fdatasync, counted and timed in stats_
  void MaybeIntervalSync(bool force);

  Options options_;
  Env* env_;
  LogWriter* writer_;
  StreamIndex* index_;
  StreamHeads* heads_;
  EventReader* reader_;
  std::atomic<uint64_t>* visible_end_;
  LogEndNotifier* notifier_;
  CommitterStats* stats_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<CommitRequest>> queue_;  // guarded by mu_
  bool stopping_ = false;                              // guarded by mu_
  std::thread thread_;

  // Committer-thread state.
  Status failed_;  // once set, every request fails with it
  uint64_t last_sparse_ = 0;
  bool unsynced_ = false;
  std::chrono::steady_clock::time_point last_sync_;
  RecentEventIds recent_ids_;

 public:
  void set_last_sparse(uint64_t v) { last_sparse_ = v; }
};

}  // namespace kiroku
