#include "storage/store_impl.h"

#include <future>
#include <nlohmann/json.hpp>

#include "common/utf8.h"
#include "storage/log_format.h"
#include "storage/record_codec.h"
#include "storage/recovery.h"
#include "storage/stream_heads.h"

namespace kiroku {

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, StoreOptions options) {
  KIROKU_ASSIGN_OR_RETURN(auto impl, StoreImpl::OpenImpl(dir, options));
  return std::unique_ptr<Store>(std::move(impl));
}

const char* DurabilityName(Durability d) {
  switch (d) {
    case Durability::kSyncEveryGroup:
      return "sync-every-group";
    case Durability::kSyncInterval:
      return "sync-interval";
    case Durability::kNoSync:
      return "no-sync (UNSAFE)";
  }
  return "?";
}

Result<std::unique_ptr<StoreImpl>> StoreImpl::OpenImpl(const std::string& dir,
                                                       StoreOptions options) {
  std::unique_ptr<StoreImpl> s(new StoreImpl());
  s->dir_ = dir;
  s->options_ = options;
  if (options.env == nullptr) {
    s->owned_env_ = NewPosixEnv();
    s->env_ = s->owned_env_.get();
  } else {
    s->env_ = options.env;
  }
  if (!s->env_->FileExists(dir)) {
    if (!options.create_if_missing) return Status::NotFound("no store at " + dir);
  }
  KIROKU_RETURN_IF_ERROR(s->env_->CreateDirs(dir));
  KIROKU_ASSIGN_OR_RETURN(s->lock_, s->env_->LockFile(dir + "/LOCK"));
  KIROKU_RETURN_IF_ERROR(s->Recover());
  KIROKU_ASSIGN_OR_RETURN(auto last, [&]() -> Result<std::shared_ptr<const Segment>> {
    auto seg = s->segments_.Last();
    if (!seg) return Status::Corruption(dir + "/log: no segment after recovery");
    return seg;
  }());
  const uint64_t end = s->visible_end_.load();
  KIROKU_ASSIGN_OR_RETURN(s->writer_,
                          LogWriter::Open(s->env_, dir + "/log", &s->segments_, last->base,
                                          end - last->base, options.segment_size));
  s->reader_ =
      std::make_unique<EventReader>(s->env_, &s->segments_, s->index_.get(), &s->visible_end_);
  Committer::Options co;
  co.durability = options.durability;
  co.sync_interval = options.sync_interval;
  s->committer_ =
      std::make_unique<Committer>(co, s->env_, s->writer_.get(), s->index_.get(), s->heads_.get(),
                                  s->reader_.get(), &s->visible_end_, &s->notifier_, &s->stats_);
  s->committer_->set_last_sparse(s->last_sparse_);
  s->committer_->Start();
  return s;
}

Status StoreImpl::Recover() {
  const std::string log_dir = dir_ + "/log";
  const std::string index_dir = dir_ + "/index";
  KIROKU_ASSIGN_OR_RETURN(LogLayout layout, OpenSegments(env_, log_dir, &segments_));
  KIROKU_ASSIGN_OR_RETURN(index_, StreamIndex::Open(index_dir));
  KIROKU_ASSIGN_OR_RETURN(IndexCheckpoint cp, index_->ReadCheckpoint());
  if (cp.log_end > layout.end()) {
    std::string msg = "index covers the log up to position " + std::to_string(cp.log_end) +
                      " but the log ends at " + std::to_string(layout.end());
    if (options_.durability == Durability::kSyncEveryGroup) {
      return Status::Corruption(msg + ": acknowledged events are missing from " + log_dir +
                                ". Run `kiroku admin reindex --data " + dir_ +
                                "` to index what the log still holds.");
    }
    // Expected after a crash in a mode that acknowledges before fsync: rebuild.
    index_.reset();
    KIROKU_RETURN_IF_ERROR(StreamIndex::Destroy(index_dir));
    KIROKU_ASSIGN_OR_RETURN(index_, StreamIndex::Open(index_dir));
    cp = IndexCheckpoint{};
    recovery_note_ = msg + " (unsynced tail lost); index rebuilt. ";
  }
  heads_ = std::make_unique<StreamHeads>(index_.get(), cp.next_stream_id);
  IndexBatch batch(cp.last_sparse);
  uint64_t batch_events = 0;
  uint64_t txn_end = cp.log_end;
  auto sink = [&](uint64_t start, bool segment_start,
                  const std::vector<RecoveredRecord>& records) -> Status {
    batch.BeginTransaction(start, segment_start);
    for (const auto& r : records) {
      EventFields f;
      if (!DecodeEventBody(r.body, &f)) {
        return Status::Corruption(log_dir + ": position " + std::to_string(r.position) +
                                  ": record checksum is valid but its event body is malformed");
      }
      KIROKU_RETURN_IF_ERROR(ApplyCommitted(
          heads_.get(), &batch, {f.stream, f.revision.value, f.type, f.data, r.position}));
      txn_end = r.position + log_format::kRecordHeaderSize + r.body.size();
    }
    replayed_events_ += records.size();
    batch_events += records.size();
    if (batch_events >= 50000) {
      KIROKU_RETURN_IF_ERROR(
          index_->Write(&batch, {txn_end, heads_->next_stream_id(), batch.last_sparse()}));
      batch_events = 0;
    }
    return Status::Ok();
  };
  const uint64_t verify_from = options_.paranoid_checks ? 0 : cp.log_end;
  KIROKU_ASSIGN_OR_RETURN(ScanOutcome outcome, ScanLog(env_, log_dir, &segments_, layout,
                                                       verify_from, cp.log_end, cp.log_end, sink));
  KIROKU_RETURN_IF_ERROR(
      index_->Write(&batch, {outcome.log_end, heads_->next_stream_id(), batch.last_sparse()}));
  last_sparse_ = batch.last_sparse();
  recovery_note_ += outcome.note;
  visible_end_.store(outcome.log_end);
  return Status::Ok();
}

StoreImpl::~StoreImpl() {
  if (committer_) committer_->Stop();
  // Persist the index so the next open replays nothing.
  if (index_) (void)index_->Flush();
}

Status StoreImpl::ValidateAppend(std::string_view stream, std::vector<EventData>* events) const {
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  if (stream.size() > kMaxStreamNameBytes) {
    return Status::InvalidArgument("stream name of " + std::to_string(stream.size()) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(kMaxStreamNameBytes));
  }
  if (!IsValidUtf8(stream)) return Status::InvalidArgument("stream name is not valid UTF-8");
  if (stream.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("stream name must not contain NUL");
  }
  if (stream == "$all") return Status::InvalidArgument("cannot append to $all");
  if (events->empty()) return Status::InvalidArgument("an append needs at least one event");
  uint64_t total = 0;
  for (size_t i = 0; i < events->size(); ++i) {
    EventData& e = (*events)[i];
    const std::string which = "event " + std::to_string(i) + ": ";
    if (e.type.empty()) return Status::InvalidArgument(which + "event type must not be empty");
    if (e.type.size() > kMaxEventTypeBytes) {
      return Status::InvalidArgument(which + "event type exceeds " +
                                     std::to_string(kMaxEventTypeBytes) + " bytes");
    }
    if (!IsValidUtf8(e.type)) return Status::InvalidArgument(which + "event type is not UTF-8");
    uint64_t size = e.type.size() + e.data.size() + e.metadata.size();
    if (size > options_.max_event_size) {
      return Status::InvalidArgument(which + "event of " + std::to_string(size) +
                                     " bytes exceeds the maximum event size of " +
                                     std::to_string(options_.max_event_size));
    }
    total += size;
    if (e.id.IsNil()) e.id = EventId::Random();
    if (IsMetadataStream(stream)) {
      auto m = StreamMetadata::FromJson(e.data);
      if (!m.ok()) return Status::InvalidArgument(which + m.status().message());
    }
  }
  if (total > options_.max_append_size) {
    return Status::MaximumAppendSizeExceeded("append of " + std::to_string(total) +
                                             " bytes exceeds the maximum append size of " +
                                             std::to_string(options_.max_append_size));
  }
  return Status::Ok();
}

void StoreImpl::AppendAsync(std::string_view stream, ExpectedRevision expected,
                            std::vector<EventData> events, AppendCallback done) {
  Status s = ValidateAppend(stream, &events);
  if (!s.ok()) {
    done(s);
    return;
  }
  auto req = std::make_unique<CommitRequest>();
  req->kind = CommitRequest::Kind::kAppend;
  req->stream.assign(stream);
  req->expected = expected;
  req->events = std::move(events);
  req->done = std::move(done);
  committer_->Submit(std::move(req));
}

Result<AppendResult> StoreImpl::SubmitAndWait(std::unique_ptr<CommitRequest> req) {
  std::promise<Result<AppendResult>> promise;
  auto future = promise.get_future();
  req->done = [&promise](Result<AppendResult> r) { promise.set_value(std::move(r)); };
  committer_->Submit(std::move(req));
  return future.get();
}

Result<AppendResult> StoreImpl::Append(std::string_view stream, ExpectedRevision expected,
                                       std::vector<EventData> events) {
  KIROKU_RETURN_IF_ERROR(ValidateAppend(stream, &events));
  auto req = std::make_unique<CommitRequest>();
  req->kind = CommitRequest::Kind::kAppend;
  req->stream.assign(stream);
  req->expected = expected;
  req->events = std::move(events);
  return SubmitAndWait(std::move(req));
}

// Checks a snapshot append and builds its commit request; the caller submits it.
Result<std::unique_ptr<CommitRequest>> StoreImpl::PrepareSnapshotAppend(
    std::string_view stream, ExpectedRevision expected, std::vector<EventData> events,
    SnapshotData snapshot, const SnapshotOptions& options) {
  if (IsMetadataStream(stream) || stream.starts_with(log_format::kSnapshotStreamPrefix)) {
    return Status::InvalidArgument("stream '" + std::string(stream) +
                                   "' is a system stream and cannot have snapshots");
  }
  const bool no_events = events.empty();
  if (no_events) {
    // ValidateAppend checks names and sizes of events; a snapshot-only append has none.
    EventData probe;
    probe.type = log_format::kSnapshotEventType;
    events.push_back(std::move(probe));
  }
  KIROKU_RETURN_IF_ERROR(ValidateAppend(stream, &events));
  if (no_events) events.clear();
  uint64_t total = snapshot.data.size();
  for (const EventData& e : events) total += e.type.size() + e.data.size() + e.metadata.size();
  if (snapshot.data.size() > options_.max_event_size) {
    return Status::InvalidArgument("snapshot of " + std::to_string(snapshot.data.size()) +
                                   " bytes exceeds the maximum event size of " +
                                   std::to_string(options_.max_event_size));
  }
  if (total > options_.max_append_size) {
    return Status::MaximumAppendSizeExceeded("append with snapshot of " + std::to_string(total) +
                                             " bytes exceeds the maximum append size of " +
                                             std::to_string(options_.max_append_size));
  }
  auto req = std::make_unique<CommitRequest>();
  req->kind = CommitRequest::Kind::kAppend;
  req->stream.assign(stream);
  req->expected = expected;
  req->events = std::move(events);
  req->snapshot = std::move(snapshot);
  req->snapshot_options = options;
  return req;
}

Result<AppendResult> StoreImpl::AppendWithSnapshot(std::string_view stream,
                                                   ExpectedRevision expected,
                                                   std::vector<EventData> events,
                                                   SnapshotData snapshot,
                                                   const SnapshotOptions& options) {
  KIROKU_ASSIGN_OR_RETURN(
      std::unique_ptr<CommitRequest> req,
      PrepareSnapshotAppend(stream, expected, std::move(events), std::move(snapshot), options));
  return SubmitAndWait(std::move(req));
}

void StoreImpl::AppendWithSnapshotAsync(std::string_view stream, ExpectedRevision expected,
                                        std::vector<EventData> events, SnapshotData snapshot,
                                        const SnapshotOptions& options, AppendCallback done) {
  auto req =
      PrepareSnapshotAppend(stream, expected, std::move(events), std::move(snapshot), options);
  if (!req.ok()) {
    done(req.status());
    return;
  }
  (*req)->done = std::move(done);
  committer_->Submit(std::move(*req));
}

namespace {

// The covered revision and schema version from a snapshot event's metadata; nullopt if
// the event is not a well-formed snapshot (someone appended to the stream by hand).
std::optional<std::pair<uint64_t, uint32_t>> ParseSnapshotMetadata(const RecordedEvent& e) {
  if (e.type != log_format::kSnapshotEventType) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(e.metadata, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  auto rev = j.find(log_format::kSnapshotRevisionKey);
  auto schema = j.find(log_format::kSnapshotSchemaVersionKey);
  if (rev == j.end() || schema == j.end() || !rev->is_number_unsigned() ||
      !schema->is_number_unsigned() || schema->get<uint64_t>() > UINT32_MAX) {
    return std::nullopt;
  }
  return std::make_pair(rev->get<uint64_t>(), static_cast<uint32_t>(schema->get<uint64_t>()));
}

}  // namespace

Result<std::optional<StoredSnapshot>> StoreImpl::LoadSnapshot(std::string_view stream,
                                                              StreamRevision at_or_below) {
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  std::optional<StoredSnapshot> none;
  KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> head, index_->GetHead(stream));
  if (head && head->tombstoned) {
    return Status::StreamDeleted("stream '" + std::string(stream) + "' is deleted");
  }
  if (!head || head->count == 0 || IsSoftDeleted(*head)) return none;
  const StreamMetadata meta = ParseMetadataOrEmpty(head->metadata_json);
  const uint64_t tb = meta.truncate_before ? meta.truncate_before->value : 0;
  // Newest first. Covered revisions never decrease along the snapshot stream (each covers
  // the stream's head at its commit), so the first match is the newest.
  ReadStreamOptions o;
  o.direction = Direction::kBackwards;
  o.from = StreamRevision::End();
  o.max_count = 1;  // the newest usually matches; then pages of 16
  const std::string snap_stream = SnapshotStreamOf(stream);
  while (true) {
    auto page = reader_->ReadStream(snap_stream, o);
    if (!page.ok()) {
      if (page.status().code() == StatusCode::kStreamNotFound) return none;
      return page.status();
    }
    for (RecordedEvent& e : *page) {
      auto parsed = ParseSnapshotMetadata(e);
      if (!parsed) continue;
      const auto [rev, schema] = *parsed;
      if (rev > at_or_below.value || rev >= head->count) continue;
      // $tb hides revisions < tb. A snapshot must cover at least revision tb: one covering
      // less would lose hidden events, and after a soft delete and revival (tb = the revival
      // revision) one covering tb - 1 holds the deleted state. Older ones cover less still.
      if (rev < tb) return none;
      StoredSnapshot snap;
      snap.revision = StreamRevision(rev);
      snap.schema_version = schema;
      snap.content_type = e.content_type;
      snap.data = std::move(e.data);
      snap.position = e.position;
      snap.created_us = e.created_us;
      return std::optional<StoredSnapshot>(std::move(snap));
    }
    if (page->size() < o.max_count || page->back().revision.value == 0) return none;
    o.from = StreamRevision(page->back().revision.value - 1);
    o.max_count = 16;
  }
}

Result<std::vector<RecordedEvent>> StoreImpl::ReadStream(std::string_view stream,
                                                         const ReadStreamOptions& options) {
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  return reader_->ReadStream(stream, options);
}

Result<ReadAllResult> StoreImpl::ReadAll(const ReadAllOptions& options) {
  ReadAllResult result;
  bool end_of_log = false;
  KIROKU_ASSIGN_OR_RETURN(result.next, reader_->ScanAll(
                                           options,
                                           [&](const EventView& v) {
                                             result.events.push_back(v.ToRecorded());
                                             return true;
                                           },
                                           &end_of_log, &result.last_scanned));
  result.end_of_log = end_of_log;
  return result;
}

Result<Position> StoreImpl::ScanAll(const ReadAllOptions& options, const EventVisitor& visit) {
  bool end_of_log;
  return reader_->ScanAll(options, visit, &end_of_log);
}

Result<StreamMetadataResult> StoreImpl::GetStreamMetadata(std::string_view stream) {
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> head, index_->GetHead(stream));
  StreamMetadataResult r;
  if (head && head->tombstoned) {
    return Status::StreamDeleted("stream '" + std::string(stream) + "' is deleted");
  }
  if (head) r.metadata = ParseMetadataOrEmpty(head->metadata_json);
  KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> meta,
                          index_->GetHead(MetadataStreamOf(stream)));
  if (meta && meta->count > 0) r.metastream_revision = StreamRevision(meta->count - 1);
  return r;
}

Result<AppendResult> StoreImpl::SetStreamMetadata(std::string_view stream,
                                                  ExpectedRevision expected,
                                                  const StreamMetadata& metadata) {
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  EventData e;
  e.id = EventId::Random();
  e.type = log_format::kMetadataEventType;
  e.content_type = ContentType::kJson;
  e.data = metadata.ToJson();
  std::vector<EventData> events;
  events.push_back(std::move(e));
  return Append(MetadataStreamOf(stream), expected, std::move(events));
}

Result<DeleteResult> StoreImpl::Delete(std::string_view stream, ExpectedRevision expected) {
  std::vector<EventData> none;
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  auto req = std::make_unique<CommitRequest>();
  req->kind = CommitRequest::Kind::kDelete;
  req->stream.assign(stream);
  req->expected = expected;
  KIROKU_ASSIGN_OR_RETURN(AppendResult r, SubmitAndWait(std::move(req)));
  return DeleteResult{r.position};
}

Result<DeleteResult> StoreImpl::Tombstone(std::string_view stream, ExpectedRevision expected) {
  if (stream.empty()) return Status::InvalidArgument("stream name must not be empty");
  auto req = std::make_unique<CommitRequest>();
  req->kind = CommitRequest::Kind::kTombstone;
  req->stream.assign(stream);
  req->expected = expected;
  KIROKU_ASSIGN_OR_RETURN(AppendResult r, SubmitAndWait(std::move(req)));
  return DeleteResult{r.position};
}

Result<std::optional<StreamRevision>> StoreImpl::StreamHead(std::string_view stream) {
  KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> head, index_->GetHead(stream));
  if (head && head->tombstoned) {
    return Status::StreamDeleted("stream '" + std::string(stream) + "' is deleted");
  }
  if (!head || head->count == 0) return std::optional<StreamRevision>();
  return std::optional<StreamRevision>(StreamRevision(head->count - 1));
}

Position StoreImpl::LogEnd() const { return Position(visible_end_.load()); }

bool StoreImpl::WaitForAppend(Position known_end, std::chrono::milliseconds timeout) {
  return notifier_.WaitPast(known_end.value, timeout);
}

StoreStats StoreImpl::Stats() const {
  StoreStats s;
  s.log_end = LogEnd();
  s.segments = segments_.size();
  s.appends = stats_.appends.load();
  s.events_appended = stats_.events.load();
  s.bytes_appended = stats_.bytes.load();
  s.commit_groups = stats_.groups.load();
  s.syncs = stats_.syncs.load();
  s.sync_failures = stats_.sync_failures.load();
  auto h = stats_.sync_latency.Read();
  s.sync_latency_buckets = std::move(h.cumulative);
  s.sync_latency_count = h.count;
  s.sync_latency_sum_seconds = h.sum_seconds;
  return s;
}

}  // namespace kiroku
