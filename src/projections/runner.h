// Applies a projection's statements to its read model, event by event, in batches.
//
// Exactly-once effect: every transaction holds a batch of events' rows *and* the checkpoint
// row naming the last event processed, so after a crash at any moment the read model and
// the checkpoint agree, and the runner resumes right after the checkpoint: no event is
// applied twice or skipped.
//
// Batching: a transaction is committed after `batch_events` events (rebuild:
// `rebuild_batch_events`), after `batch_ms` since its first event, or as soon as the source
// has nothing more to deliver (so live lag stays near one round trip).
//
// Failures: when a statement fails the transaction is rolled back, the events before the
// failing one are applied again and committed, and then either (on_error: stop) the
// failure is recorded in the checkpoint row (state `failed`, last_error = event, statement,
// database error) and Run returns the error, or (on_error: skip) the event goes into
// _kiroku_dead_letter, in the same transaction as a checkpoint past it, and the run goes on.
// Running again after fixing the spec or the database resumes at the failed event.
//
// Thread-safety: Run on one thread; status() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "projections/checkpoint_table.h"
#include "projections/event_source.h"
#include "projections/sink.h"
#include "projections/spec.h"
#include "projections/status.h"

namespace kiroku::projections {

struct RunnerOptions {
  SinkMode mode = SinkMode::kLive;
  bool follow = true;               // false: return once caught up with the log
  std::optional<Position> stop_at;  // return once exactly this position is processed
  bool skip_failed = false;         // dead-letter the event named by the last error
  std::chrono::milliseconds idle_wait{200};
  // Called on Run's thread after every commit.
  std::function<void(const ProjectionStatus&)> on_commit;
};

class ProjectionRunner {
 public:
  // Opens the spec's version in `sink`: on first use creates the schema (a rebuild defers
  // plain CREATE INDEX statements until it has caught up) and the checkpoint row, all in
  // one transaction; then prepares every statement. Nothing is written if any of that
  // fails. Errors name FILE:LINE of the spec and carry the database's message.
  static Result<std::unique_ptr<ProjectionRunner>> Open(const ProjectionSpec& spec,
                                                        std::unique_ptr<Sink> sink,
                                                        RunnerOptions options = {});
  // Checks the spec against a scratch database of its target's type; keeps nothing.
  static Status Validate(const ProjectionSpec& spec);

  ~ProjectionRunner();

  // Runs until `stop` is set (then commits and records state `stopped`), until caught up
  // when !follow, until stop_at, or until an error.
  Status Run(EventSource* source, const std::atomic<bool>* stop);

  ProjectionStatus status() const;
  const ProjectionSpec& spec() const { return spec_; }

 private:
  struct Prepared {
    int stmt = -1;
    std::vector<ParamRef> params;
    const SpecStatement* source = nullptr;
  };

  ProjectionRunner(const ProjectionSpec& spec, std::unique_ptr<Sink> sink, RunnerOptions options);
  Status OpenInternal(bool dry_run);
  Status BeginTxn();
  // Appends `e` to the open transaction (opening one) and applies it; on a statement
  // failure handles it by the failure policy.
  Status Feed(RecordedEvent e);
  Status Apply(const RecordedEvent& e, uint64_t index);
  // Handles a statement failure by the failure policy (a loop, see runner.cc).
  Status Recover(Status error);
  // Commits the open transaction with the checkpoint; a failure goes to Recover.
  Status CommitTxn(std::optional<Position> position, const std::string& state);
  // The same without recovery: a failure is returned with the transaction still open.
  Status CommitOnce(std::optional<Position> position, const std::string& state);
  Status WriteCheckpointOnly(const std::string& state, const std::string& last_error);
  Status RunDeferredDdl();
  void Publish();

  ProjectionSpec spec_;
  std::unique_ptr<Sink> sink_;
  RunnerOptions options_;
  CheckpointTable checkpoint_table_;
  std::unordered_map<std::string, std::vector<Prepared>> handlers_;
  std::vector<SqlValue> values_;

  CheckpointRow committed_;  // as last committed
  std::optional<Position> skip_position_;
  // The open transaction.
  bool in_txn_ = false;
  std::vector<RecordedEvent> txn_;
  uint64_t txn_applied_ = 0;
  std::chrono::steady_clock::time_point txn_start_;
  // Rate over the last second or so.
  std::chrono::steady_clock::time_point rate_start_;
  uint64_t rate_events_ = 0;
  double rate_ = 0;

  mutable std::mutex status_mu_;
  ProjectionStatus status_;
};

}  // namespace kiroku::projections
