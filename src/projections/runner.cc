#include "projections/runner.h"

#include <sys/time.h>

#include <deque>

#include "projections/sql_text.h"
#include "projections/target.h"

namespace kiroku::projections {
namespace {

// A statement's tag: index of the event in the transaction and of the statement in its
// handler. The checkpoint write has no event.
constexpr uint64_t kStatementBits = 8;
constexpr uint64_t kMaxStatementsPerHandler = 1u << kStatementBits;
constexpr uint64_t kNoEventTag = UINT64_MAX - 1;

int64_t NowUs() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return int64_t{tv.tv_sec} * 1000000 + tv.tv_usec;
}

std::string JoinDdl(const std::vector<std::string>& ddl) {
  std::string out;
  for (const std::string& s : ddl) out += s + ";\n";
  return out;
}

}  // namespace

ProjectionRunner::ProjectionRunner(const ProjectionSpec& spec, std::unique_ptr<Sink> sink,
                                   RunnerOptions options)
    : spec_(spec),
      sink_(std::move(sink)),
      options_(std::move(options)),
      checkpoint_table_(sink_.get()) {}

ProjectionRunner::~ProjectionRunner() {
  if (in_txn_) sink_->Rollback();
}

Result<std::unique_ptr<ProjectionRunner>> ProjectionRunner::Open(const ProjectionSpec& spec,
                                                                 std::unique_ptr<Sink> sink,
                                                                 RunnerOptions options) {
  std::unique_ptr<ProjectionRunner> r(new ProjectionRunner(spec, std::move(sink), options));
  KIROKU_RETURN_IF_ERROR(r->OpenInternal(false));
  return r;
}

Status ProjectionRunner::Validate(const ProjectionSpec& spec) {
  KIROKU_ASSIGN_OR_RETURN(std::unique_ptr<Sink> sink, OpenScratch(spec));
  ProjectionRunner r(spec, std::move(sink), {});
  return r.OpenInternal(true);
}

Status ProjectionRunner::OpenInternal(bool dry_run) {
  for (const SpecHandler& h : spec_.handlers) {
    if (h.statements.size() > kMaxStatementsPerHandler) {
      return Status::InvalidArgument(spec_.Where(h.statements[0].line) + h.event_type +
                                     ": more than 256 statements");
    }
  }
  auto fail = [&](Status s) {
    sink_->Rollback();
    return s;
  };
  KIROKU_RETURN_IF_ERROR(sink_->Begin());
  Status s = CheckpointTable::CreateIfMissing(sink_.get());
  if (!s.ok()) return fail(Status::IOError("creating the checkpoint table: " + s.message()));
  auto existing = CheckpointTable::Read(sink_.get(), spec_.name);
  if (!existing.ok()) return fail(existing.status());
  s = checkpoint_table_.Prepare();
  if (!s.ok()) return fail(Status::IOError("preparing the checkpoint statements: " + s.message()));
  if (*existing) {
    committed_ = std::move(**existing);
    if (committed_.version != spec_.version) {
      return fail(Status::InvalidArgument(
          spec_.Where(1) + "the database holds version " + std::to_string(committed_.version) +
          " of " + spec_.name + ", the spec is version " + std::to_string(spec_.version)));
    }
  } else {
    std::vector<std::string> deferred;
    for (const SpecStatement& st : spec_.schema) {
      if (options_.mode == SinkMode::kRebuild && spec_.defer_indexes && IsDeferrableIndex(st.sql)) {
        deferred.push_back(st.sql);
        continue;
      }
      s = sink_->Exec(st.sql);
      if (!s.ok())
        return fail(Status::InvalidArgument(spec_.Where(st.line) + "schema: " + s.message()));
    }
    committed_ = CheckpointRow{};
    committed_.projection = spec_.name;
    committed_.version = spec_.version;
    committed_.state = options_.mode == SinkMode::kRebuild ? "rebuilding" : "running";
    committed_.deferred_ddl = JoinDdl(deferred);
    committed_.updated_us = NowUs();
    s = checkpoint_table_.Insert(committed_);
    if (!s.ok()) return fail(Status::IOError("writing the checkpoint row: " + s.message()));
  }
  for (const SpecHandler& h : spec_.handlers) {
    std::vector<Prepared>& list = handlers_[h.event_type];
    for (const SpecStatement& st : h.statements) {
      auto rw = RewriteNamedParams(st.sql, [&](int n) { return sink_->Placeholder(n); });
      if (!rw.ok()) {
        return fail(Status::InvalidArgument(spec_.Where(st.line) + h.event_type + ": " +
                                            rw.status().message()));
      }
      auto id = sink_->Prepare(rw->sql);
      if (!id.ok()) {
        return fail(Status::InvalidArgument(spec_.Where(st.line) + h.event_type + ": " +
                                            id.status().message()));
      }
      list.push_back({*id, std::move(rw->params), &st});
    }
  }
  if (dry_run) {
    sink_->Rollback();
    return Status::Ok();
  }
  s = sink_->Commit();
  if (!s.ok()) return fail(s);
  if (committed_.state == "failed") {
    if (options_.skip_failed) {
      if (auto err = ProjectionError::FromJson(committed_.last_error))
        skip_position_ = err->position;
    }
  }
  committed_.state = options_.mode == SinkMode::kRebuild ? "rebuilding" : "running";
  rate_start_ = std::chrono::steady_clock::now();
  Publish();
  return Status::Ok();
}

void ProjectionRunner::Publish() {
  std::lock_guard<std::mutex> lock(status_mu_);
  status_.name = spec_.name;
  status_.version = spec_.version;
  status_.state = committed_.state;
  status_.position = committed_.position;
  status_.events_applied = committed_.events_applied;
  status_.events_skipped = committed_.events_skipped;
  status_.events_per_second = rate_;
  status_.last_event_created_us = committed_.last_event_created_us;
  status_.updated_us = committed_.updated_us;
  status_.last_error = ProjectionError::FromJson(committed_.last_error);
}

ProjectionStatus ProjectionRunner::status() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

Status ProjectionRunner::BeginTxn() {
  KIROKU_RETURN_IF_ERROR(sink_->Begin());
  in_txn_ = true;
  txn_.clear();
  txn_applied_ = 0;
  txn_start_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

Status ProjectionRunner::Apply(const RecordedEvent& e, uint64_t index) {
  if (!spec_.source.Matches(e.stream, e.type)) return Status::Ok();
  auto it = handlers_.find(e.type);
  if (it == handlers_.end()) return Status::Ok();
  for (size_t i = 0; i < it->second.size(); ++i) {
    const Prepared& p = it->second[i];
    values_.clear();
    for (const ParamRef& ref : p.params) values_.push_back(ParamValue(ref, e));
    KIROKU_RETURN_IF_ERROR(sink_->Execute(p.stmt, values_, (index << kStatementBits) | i));
  }
  ++txn_applied_;
  return Status::Ok();
}

Status ProjectionRunner::Feed(RecordedEvent e) {
  if (!in_txn_) KIROKU_RETURN_IF_ERROR(BeginTxn());
  txn_.push_back(std::move(e));
  Status s = Apply(txn_.back(), txn_.size() - 1);
  if (!s.ok()) return Recover(s);
  return Status::Ok();
}

// A statement failed inside the open transaction (in Apply, or at commit for a pipelined
// sink). One round: roll back, find the failing event from the sink's tag, commit the
// events before it again, stop on it or dead-letter it by the failure policy, then apply
// the events after it in a fresh transaction. One of those may fail in turn: that is the
// next round of the loop, so a batch with many bad events never deepens the stack.
Status ProjectionRunner::Recover(Status error) {
  std::deque<RecordedEvent> after;  // events behind the failing one, to apply again
  for (;;) {
    uint64_t tag = sink_->failed_tag();
    sink_->Rollback();
    in_txn_ = false;
    if (tag == UINT64_MAX || tag == kNoEventTag || (tag >> kStatementBits) >= txn_.size()) {
      txn_.clear();
      return error;  // not an event's fault: connection, disk, …
    }
    std::vector<RecordedEvent> events = std::move(txn_);
    txn_.clear();
    const size_t f = tag >> kStatementBits;
    for (size_t i = events.size(); i > f + 1; --i) after.push_front(std::move(events[i - 1]));
    const RecordedEvent bad = std::move(events[f]);
    const Prepared& stmt = handlers_[bad.type][tag & (kMaxStatementsPerHandler - 1)];

    // The events before the failing one are fine: apply and commit them again.
    if (f > 0) {
      KIROKU_RETURN_IF_ERROR(BeginTxn());
      for (size_t i = 0; i < f; ++i) {
        Status s = Apply(events[i], i);
        if (!s.ok()) {
          sink_->Rollback();
          in_txn_ = false;
          return Status::IOError("event at position " + std::to_string(events[i].position.value) +
                                 " failed on retry after succeeding: " + s.message());
        }
      }
      const Position last_good = events[f - 1].position;
      txn_.assign(std::make_move_iterator(events.begin()),
                  std::make_move_iterator(events.begin() + static_cast<ptrdiff_t>(f)));
      Status s = CommitOnce(last_good, committed_.state);
      if (!s.ok()) {
        after.push_front(bad);  // failed again at commit: the next round sorts it out
        error = s;
        continue;
      }
    }

    ProjectionError err;
    err.position = bad.position;
    err.stream = bad.stream;
    err.revision = bad.revision.value;
    err.event_type = bad.type;
    err.statement = stmt.source->sql;
    err.where = spec_.file + ":" + std::to_string(stmt.source->line);
    err.error = error.message();
    err.at_us = NowUs();

    bool skip =
        spec_.on_error == OnError::kSkip || (skip_position_ && *skip_position_ == bad.position);
    if (!skip) {
      committed_.state = "failed";
      committed_.last_error = err.ToJson();
      Status s = WriteCheckpointOnly("failed", committed_.last_error);
      Publish();
      if (!s.ok()) return s;
      return Status::InvalidArgument("projection " + spec_.name + " stopped at position " +
                                     std::to_string(bad.position.value) + " (" + bad.stream + "@" +
                                     std::to_string(bad.revision.value) + ", " + bad.type +
                                     "): " + err.where + ": " + err.error);
    }
    // Dead-letter it, with the checkpoint past it, in one transaction.
    KIROKU_RETURN_IF_ERROR(BeginTxn());
    DeadLetter dl{&bad, stmt.source->sql, error.message()};
    Status s = checkpoint_table_.AddDeadLetter(spec_.name, dl, err.at_us, kNoEventTag);
    CheckpointRow next = committed_;
    next.position = bad.position;
    next.events_skipped += 1;
    next.last_event_created_us = bad.created_us;
    next.last_error = err.ToJson();
    next.updated_us = err.at_us;
    if (s.ok()) s = checkpoint_table_.Update(next, kNoEventTag);
    if (s.ok()) s = sink_->Commit();
    in_txn_ = false;
    if (!s.ok()) {
      sink_->Rollback();
      return Status::IOError("writing the dead letter for position " +
                             std::to_string(bad.position.value) + ": " + s.message());
    }
    committed_ = std::move(next);
    Publish();

    // The events after it go on in a fresh transaction, left open for the caller to commit.
    bool failed_again = false;
    while (!after.empty() && !failed_again) {
      if (!in_txn_) KIROKU_RETURN_IF_ERROR(BeginTxn());
      txn_.push_back(std::move(after.front()));
      after.pop_front();
      Status applied = Apply(txn_.back(), txn_.size() - 1);
      if (!applied.ok()) {
        error = applied;
        failed_again = true;
      }
    }
    if (!failed_again) return Status::Ok();
  }
}

Status ProjectionRunner::CommitTxn(std::optional<Position> position, const std::string& state) {
  Status s = CommitOnce(position, state);
  if (!s.ok()) return Recover(s);
  return Status::Ok();
}

Status ProjectionRunner::CommitOnce(std::optional<Position> position, const std::string& state) {
  CheckpointRow next = committed_;
  if (position && (!next.position || *position > *next.position)) next.position = position;
  next.events_applied += txn_applied_;
  if (!txn_.empty()) next.last_event_created_us = txn_.back().created_us;
  next.state = state;
  next.updated_us = NowUs();
  next.events_per_second = rate_;
  Status s = checkpoint_table_.Update(next, kNoEventTag);
  if (s.ok()) s = sink_->Commit();
  if (!s.ok()) return s;
  in_txn_ = false;
  rate_events_ += txn_.size();
  txn_.clear();
  txn_applied_ = 0;
  committed_ = std::move(next);
  auto now = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(now - rate_start_).count();
  if (secs >= 1.0) {
    rate_ = rate_events_ / secs;
    rate_events_ = 0;
    rate_start_ = now;
  }
  Publish();
  if (options_.on_commit) options_.on_commit(status());
  return Status::Ok();
}

// Only the checkpoint row (state, last error), nothing of the events: a failure here is the
// database's, never an event's, so it is returned as it is.
Status ProjectionRunner::WriteCheckpointOnly(const std::string& state,
                                             const std::string& last_error) {
  KIROKU_RETURN_IF_ERROR(BeginTxn());
  committed_.last_error = last_error;
  Status s = CommitOnce(committed_.position, state);
  if (!s.ok()) {
    sink_->Rollback();
    in_txn_ = false;
    txn_.clear();
  }
  return s;
}

Status ProjectionRunner::RunDeferredDdl() {
  KIROKU_RETURN_IF_ERROR(BeginTxn());
  for (const SqlChunk& c : SplitSqlStatements(committed_.deferred_ddl)) {
    Status s = sink_->Exec(c.sql);
    if (!s.ok()) {
      sink_->Rollback();
      in_txn_ = false;
      return Status::InvalidArgument("deferred index: " + c.sql + ": " + s.message());
    }
  }
  std::string saved = std::move(committed_.deferred_ddl);
  committed_.deferred_ddl.clear();
  Status s = CommitTxn(committed_.position, committed_.state);
  if (!s.ok()) committed_.deferred_ddl = std::move(saved);
  return s;
}

Status ProjectionRunner::Run(EventSource* source, const std::atomic<bool>* stop) {
  KIROKU_RETURN_IF_ERROR(source->Start(committed_.position, spec_.ServerFilter()));
  const size_t batch_limit =
      options_.mode == SinkMode::kRebuild ? spec_.rebuild_batch_events : spec_.batch_events;
  const auto batch_time = std::chrono::milliseconds(spec_.batch_ms);
  const std::string running = committed_.state;
  std::optional<Position> pending = committed_.position;
  auto last_checkpoint_write = std::chrono::steady_clock::now();
  auto stopped = [&] { return stop && stop->load(); };

  if (options_.stop_at && committed_.position && *committed_.position >= *options_.stop_at) {
    return Status::Ok();
  }
  while (!stopped()) {
    size_t room = batch_limit > txn_.size() ? batch_limit - txn_.size() : 1;
    auto b = source->Next(room, in_txn_ ? std::chrono::milliseconds(0) : options_.idle_wait);
    if (!b.ok()) {
      if (in_txn_) KIROKU_RETURN_IF_ERROR(CommitTxn(pending, running));
      return b.status();
    }
    bool reached_stop = false;
    for (RecordedEvent& e : b->events) {
      if (options_.stop_at && e.position > *options_.stop_at) {
        reached_stop = true;
        pending = options_.stop_at;
        break;
      }
      Position p = e.position;
      KIROKU_RETURN_IF_ERROR(Feed(std::move(e)));
      pending = p;
      if (options_.stop_at && p == *options_.stop_at) reached_stop = true;
    }
    if (!reached_stop && b->checkpoint && (!pending || *b->checkpoint > *pending)) {
      if (options_.stop_at && *b->checkpoint >= *options_.stop_at) {
        pending = options_.stop_at;
        reached_stop = true;
      } else {
        pending = b->checkpoint;
      }
    }
    auto now = std::chrono::steady_clock::now();
    if (in_txn_) {
      if (txn_.size() >= batch_limit || now - txn_start_ >= batch_time || b->caught_up ||
          reached_stop) {
        KIROKU_RETURN_IF_ERROR(CommitTxn(pending, running));
        last_checkpoint_write = now;
      }
    } else if (pending != committed_.position &&
               (reached_stop || (b->caught_up && !options_.follow) ||
                now - last_checkpoint_write >= batch_time)) {
      // Only filtered-out records since the last commit: move the checkpoint past them.
      KIROKU_RETURN_IF_ERROR(BeginTxn());
      KIROKU_RETURN_IF_ERROR(CommitTxn(pending, running));
      last_checkpoint_write = now;
    }
    if (b->caught_up && !in_txn_ && !committed_.deferred_ddl.empty()) {
      KIROKU_RETURN_IF_ERROR(RunDeferredDdl());
    }
    if (reached_stop && !in_txn_) return Status::Ok();
    if (b->caught_up && !options_.follow && !in_txn_) {
      if (options_.mode != SinkMode::kRebuild) return Status::Ok();
      KIROKU_RETURN_IF_ERROR(BeginTxn());
      return CommitTxn(pending, "built");
    }
  }
  if (in_txn_) KIROKU_RETURN_IF_ERROR(CommitTxn(pending, running));
  KIROKU_RETURN_IF_ERROR(BeginTxn());
  return CommitTxn(pending, "stopped");
}

}  // namespace kiroku::projections
