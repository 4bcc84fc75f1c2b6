// RemoteClient over gRPC sync stubs generated from proto/ (the KurrentDB client protocol).
#include <grpcpp/grpcpp.h>

#include <future>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "client/connection_string.h"
#include "gossip.grpc.pb.h"
#include "kiroku/client.h"
#include "kiroku_snapshots.grpc.pb.h"
#include "persistent.grpc.pb.h"
#include "streams.grpc.pb.h"

namespace kiroku {
namespace {

namespace pb = ::event_store::client;
namespace spb = ::event_store::client::streams;

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(k[(val >> bits) & 0x3f]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(k[((val << 8) >> (bits + 8)) & 0x3f]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

std::string Trailer(const grpc::ClientContext& ctx, const std::string& key) {
  auto range = ctx.GetServerTrailingMetadata().equal_range(key);
  if (range.first == range.second) return "";
  return std::string(range.first->second.data(), range.first->second.size());
}

// Transient failures (retried): the server could not be reached or is restarting, or the
// shared BatchAppend stream broke under an append. Both are IOErrors with these prefixes.
constexpr std::string_view kUnavailable = "unavailable: ";
constexpr std::string_view kStreamBroke = "BatchAppend stream";
bool IsTransient(const Status& s) {
  return s.code() == StatusCode::kIOError &&
         (s.message().starts_with(kUnavailable) || s.message().starts_with(kStreamBroke));
}

// gRPC status + trailers -> kiroku Status, the inverse of the server's mapping.
Status FromGrpc(const grpc::Status& s, const grpc::ClientContext& ctx) {
  if (s.ok()) return Status::Ok();
  const std::string exception = Trailer(ctx, "exception");
  if (exception == "stream-deleted") {
    return Status::StreamDeleted("stream '" + Trailer(ctx, "stream-name") + "' is deleted");
  }
  if (exception == "stream-not-found") return Status::StreamNotFound(s.error_message());
  if (exception == "maximum-append-size-exceeded") {
    return Status::MaximumAppendSizeExceeded(s.error_message());
  }
  if (exception == "persistent-subscription-does-not-exist") {
    return Status::NotFound(s.error_message());
  }
  if (exception == "persistent-subscription-exists") {
    return Status::AlreadyExists(s.error_message());
  }
  if (exception == "maximum-subscribers-reached") return Status::Busy(s.error_message());
  if (exception == "persistent-subscription-dropped") return Status::Closed(s.error_message());
  if (exception == "wrong-expected-version") {
    std::string actual = Trailer(ctx, "actual-version");
    std::optional<uint64_t> a;
    if (!actual.empty() && actual[0] != '-') a = std::stoull(actual);
    return Status::WrongExpectedVersion(s.error_message(), a);
  }
  switch (s.error_code()) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(s.error_message());
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(s.error_message());
    case grpc::StatusCode::UNAVAILABLE:
      return Status::IOError(std::string(kUnavailable) + s.error_message());
    default:
      return Status::IOError("gRPC " + std::to_string(s.error_code()) + ": " + s.error_message());
  }
}

// Cancels a streaming call once `*stop` becomes true (polled every 50 ms), until Join().
class StopWatcher {
 public:
  StopWatcher(grpc::ClientContext* ctx, const std::atomic<bool>* stop) {
    if (stop == nullptr) return;
    thread_ = std::thread([this, ctx, stop] {
      while (!done_.load()) {
        if (stop->load()) {
          ctx->TryCancel();
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    });
  }
  ~StopWatcher() { Join(); }
  void Join() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

// Streams and PersistentSubscriptions each have their own copy of this message.
template <typename R>
RecordedEvent FromProto(const R& r) {
  RecordedEvent e;
  if (r.id().has_string()) {
    if (auto id = EventId::Parse(r.id().string())) e.id = *id;
  }
  e.stream = r.stream_identifier().stream_name();
  e.revision = StreamRevision(r.stream_revision());
  e.position = Position(r.commit_position());
  auto md = r.metadata();
  e.type = md["type"];
  e.content_type =
      md["content-type"] == "application/json" ? ContentType::kJson : ContentType::kBinary;
  try {
    e.created_us = std::stoll(md["created"]) / 10;
  } catch (...) {
    e.created_us = 0;
  }
  e.data = r.data();
  e.metadata = r.custom_metadata();
  return e;
}

template <typename Options>
void SetDeleteExpected(ExpectedRevision e, Options* o) {
  switch (e.kind()) {
    case ExpectedRevision::Kind::kAny:
      o->mutable_any();
      break;
    case ExpectedRevision::Kind::kNoStream:
      o->mutable_no_stream();
      break;
    case ExpectedRevision::Kind::kStreamExists:
      o->mutable_stream_exists();
      break;
    case ExpectedRevision::Kind::kExact:
      o->set_revision(e.revision().value);
      break;
  }
}

void SetFilter(const EventFilter& f, uint32_t multiplier, spb::ReadReq::Options* o) {
  if (f.target == EventFilter::Target::kNone) {
    o->mutable_no_filter();
    return;
  }
  auto* fo = o->mutable_filter();
  auto* expr = f.target == EventFilter::Target::kStreamName ? fo->mutable_stream_identifier()
                                                            : fo->mutable_event_type();
  if (!f.prefixes.empty()) {
    for (const auto& p : f.prefixes) expr->add_prefix(p);
  } else {
    expr->set_regex(f.regex);
  }
  fo->mutable_count();
  fo->set_checkpointintervalmultiplier(multiplier == 0 ? 1 : multiplier);
}

void SetBatchExpected(ExpectedRevision e, spb::BatchAppendReq::Options* o) {
  switch (e.kind()) {
    case ExpectedRevision::Kind::kAny:
      o->mutable_any();
      break;
    case ExpectedRevision::Kind::kNoStream:
      o->mutable_no_stream();
      break;
    case ExpectedRevision::Kind::kStreamExists:
      o->mutable_stream_exists();
      break;
    case ExpectedRevision::Kind::kExact:
      o->set_stream_position(e.revision().value);
      break;
  }
}

// One long-lived BatchAppend stream shared by every append of the client, as the official
// clients do: an append is one message (or a few chunks), not a new RPC with a message per
// event, which costs several times more CPU on both sides. Responses are matched to
// callers by correlation id. Thread-safe.
class BatchAppender {
 public:
  explicit BatchAppender(spb::Streams::Stub* stub) : stub_(stub) {}
  ~BatchAppender() {
    Close();
    std::vector<std::shared_ptr<RpcState>> retired;
    {
      std::lock_guard lock(mu_);
      retired.swap(retired_);
    }
    for (auto& r : retired) {
      if (r->reader.joinable()) r->reader.join();
    }
  }

  Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                              const std::vector<EventData>& events,
                              std::chrono::milliseconds deadline) {
    const std::string correlation = EventId::Random().ToString();
    std::future<Result<AppendResult>> done;
    {
      std::lock_guard lock(mu_);
      if (!rpc_) Open();
      done = pending_[correlation].get_future();
    }
    // Chunks of about 1 MiB; options on the first, is_final on the last.
    constexpr size_t kChunkBytes = 1 << 20;
    size_t i = 0;
    bool first = true, ok = true;
    while (ok && (first || i < events.size())) {
      spb::BatchAppendReq req;
      req.mutable_correlation_id()->set_string(correlation);
      if (first) {
        auto* o = req.mutable_options();
        o->mutable_stream_identifier()->set_stream_name(stream);
        SetBatchExpected(expected, o);
        auto when = std::chrono::system_clock::now() + deadline;
        auto secs = std::chrono::duration_cast<std::chrono::seconds>(when.time_since_epoch());
        o->mutable_deadline_21_10_0()->set_seconds(secs.count());
      }
      size_t bytes = 0;
      while (i < events.size() && (bytes < kChunkBytes || req.proposed_messages_size() == 0)) {
        const EventData& e = events[i++];
        auto* p = req.add_proposed_messages();
        p->mutable_id()->set_string(e.id.IsNil() ? EventId::Random().ToString() : e.id.ToString());
        (*p->mutable_metadata())["type"] = e.type;
        (*p->mutable_metadata())["content-type"] =
            e.content_type == ContentType::kJson ? "application/json" : "application/octet-stream";
        p->set_data(e.data);
        p->set_custom_metadata(e.metadata);
        bytes += e.data.size() + e.metadata.size() + e.type.size();
      }
      req.set_is_final(i >= events.size());
      first = false;
      std::lock_guard wl(write_mu_);
      std::shared_ptr<RpcState> rpc;
      {
        std::lock_guard lock(mu_);
        rpc = rpc_;
      }
      ok = rpc && rpc->stream->Write(req);
      if (req.is_final()) break;
    }
    if (!ok) Fail(Status::IOError("BatchAppend stream broke while sending"));
    if (done.wait_for(deadline + std::chrono::seconds(1)) != std::future_status::ready) {
      std::lock_guard lock(mu_);
      pending_.erase(correlation);
      return Status::IOError("append timed out after " + std::to_string(deadline.count()) + " ms");
    }
    return done.get();
  }

  void Close() {
    std::shared_ptr<RpcState> rpc;
    {
      std::lock_guard lock(mu_);
      rpc = std::move(rpc_);
    }
    if (!rpc) return;
    {
      std::lock_guard wl(write_mu_);
      rpc->stream->WritesDone();
    }
    if (rpc->reader.joinable()) rpc->reader.join();
  }

 private:
  struct RpcState {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReaderWriter<spb::BatchAppendReq, spb::BatchAppendResp>> stream;
    std::thread reader;
  };

  void Open() {  // mu_ held
    auto rpc = std::make_shared<RpcState>();
    rpc->stream = stub_->BatchAppend(&rpc->ctx);
    RpcState* raw = rpc.get();
    rpc->reader = std::thread([this, raw] { ReadLoop(raw); });
    rpc_ = std::move(rpc);
  }

  void ReadLoop(RpcState* rpc) {
    spb::BatchAppendResp resp;
    while (rpc->stream->Read(&resp)) {
      std::promise<Result<AppendResult>> p;
      {
        std::lock_guard lock(mu_);
        auto it = pending_.find(resp.correlation_id().string());
        if (it == pending_.end()) continue;
        p = std::move(it->second);
        pending_.erase(it);
      }
      p.set_value(Convert(resp));
    }
    grpc::Status s = rpc->stream->Finish();
    Fail(Status::IOError("BatchAppend stream ended: " + s.error_message()));
  }

  static Result<AppendResult> Convert(const spb::BatchAppendResp& r) {
    if (r.has_success()) {
      AppendResult a;
      a.current_revision = StreamRevision(r.success().current_revision());
      a.position = Position(r.success().position().commit_position());
      return a;
    }
    const auto& e = r.error();
    const std::string stream = r.stream_identifier().stream_name();
    if (e.details().Is<pb::WrongExpectedVersion>()) {
      pb::WrongExpectedVersion w;
      e.details().UnpackTo(&w);
      std::optional<uint64_t> actual;
      if (w.has_current_stream_revision()) actual = w.current_stream_revision();
      return Status::WrongExpectedVersion("append to '" + stream + "': wrong expected version",
                                          actual);
    }
    if (e.details().Is<pb::StreamDeleted>()) {
      return Status::StreamDeleted("stream '" + stream + "' is deleted");
    }
    if (e.details().Is<pb::MaximumAppendSizeExceeded>()) {
      return Status::MaximumAppendSizeExceeded(e.message());
    }
    if (e.details().Is<pb::BadRequest>()) {
      pb::BadRequest b;
      e.details().UnpackTo(&b);
      return Status::InvalidArgument(b.message());
    }
    return Status::IOError("append failed: " + e.message());
  }

  // Fails every waiting append and drops the stream, so the next append opens a new one.
  void Fail(const Status& s) {
    std::map<std::string, std::promise<Result<AppendResult>>> failed;
    {
      std::lock_guard lock(mu_);
      failed.swap(pending_);
      if (rpc_) {
        // Its reader thread may be the caller; the destructor joins it.
        rpc_->ctx.TryCancel();
        retired_.push_back(std::move(rpc_));
      }
    }
    for (auto& [_, p] : failed) p.set_value(s);
  }

  spb::Streams::Stub* stub_;
  std::mutex mu_;        // pending_, rpc_, retired_
  std::mutex write_mu_;  // one Write at a time on the stream
  std::shared_ptr<RpcState> rpc_;
  std::vector<std::shared_ptr<RpcState>> retired_;
  std::map<std::string, std::promise<Result<AppendResult>>> pending_;
};

class RemoteClientImpl final : public RemoteClient {
 public:
  explicit RemoteClientImpl(ConnectionSettings cs) : cs_(std::move(cs)) {}

  Status Init() {
    if (cs_.tls && !cs_.tls_verify_cert) {
      // gRPC's stable C++ API always verifies the server certificate. Say so instead of
      // quietly verifying what the user asked not to verify.
      return Status::InvalidArgument(
          "tlsVerifyCert=false is not supported by the C++ client: give the server's CA with "
          "tlsCAFile=PATH, or use tls=false on a trusted network");
    }
    if (cs_.tls) {
      grpc::SslCredentialsOptions ssl;
      if (!cs_.tls_ca_file.empty()) {
        FILE* f = std::fopen(cs_.tls_ca_file.c_str(), "rb");
        if (!f) return Status::InvalidArgument("cannot read tlsCAFile " + cs_.tls_ca_file);
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) ssl.pem_root_certs.append(buf, n);
        std::fclose(f);
      }
      creds_ = grpc::SslCredentials(ssl);
    } else {
      creds_ = grpc::InsecureChannelCredentials();
    }
    Endpoint target = cs_.hosts.front();
    if (cs_.discover || cs_.hosts.size() > 1) {
      KIROKU_ASSIGN_OR_RETURN(target, Discover());
    }
    channel_ = MakeChannel(target);
    streams_ = spb::Streams::NewStub(channel_);
    snapshots_ = ::kiroku::v1::Snapshots::NewStub(channel_);
    persistent_ =
        ::event_store::client::persistent_subscriptions::PersistentSubscriptions::NewStub(channel_);
    batch_ = std::make_unique<BatchAppender>(streams_.get());
    return Status::Ok();
  }

  Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                              const std::vector<EventData>& events) override {
    if (events.empty()) return Status::InvalidArgument("an append needs at least one event");
    // Ids fixed before the first attempt: a retry of an append that did land is idempotent.
    std::vector<EventData> with_ids = WithIds(events);
    return WithRetries(
        [&] { return batch_->Append(stream, expected, with_ids, cs_.default_deadline); });
  }

  Result<AppendResult> AppendWithSnapshot(const std::string& stream, ExpectedRevision expected,
                                          const std::vector<EventData>& events,
                                          const SnapshotData& snapshot,
                                          const SnapshotOptions& options) override {
    ::kiroku::v1::AppendWithSnapshotReq req;
    req.set_stream(stream);
    auto* e = req.mutable_expected();
    switch (expected.kind()) {
      case ExpectedRevision::Kind::kAny:
        e->mutable_any();
        break;
      case ExpectedRevision::Kind::kNoStream:
        e->mutable_no_stream();
        break;
      case ExpectedRevision::Kind::kStreamExists:
        e->mutable_stream_exists();
        break;
      case ExpectedRevision::Kind::kExact:
        e->set_revision(expected.revision().value);
        break;
    }
    for (const EventData& ev : WithIds(events)) {
      auto* p = req.add_events();
      p->set_id(ev.id.ToString());
      p->set_type(ev.type);
      p->set_json(ev.content_type == ContentType::kJson);
      p->set_data(ev.data);
      p->set_metadata(ev.metadata);
    }
    req.mutable_snapshot()->set_schema_version(snapshot.schema_version);
    req.mutable_snapshot()->set_json(snapshot.content_type == ContentType::kJson);
    req.mutable_snapshot()->set_data(snapshot.data);
    req.set_keep_last(options.keep_last);
    req.set_truncate_before(options.truncate_before);
    return WithRetries([&]() -> Result<AppendResult> {
      grpc::ClientContext ctx;
      Prepare(&ctx, true);
      ::kiroku::v1::AppendWithSnapshotResp resp;
      grpc::Status s = snapshots_->AppendWithSnapshot(&ctx, req, &resp);
      if (!s.ok()) return FromGrpc(s, ctx);
      return AppendResult{StreamRevision(resp.current_revision()), Position(resp.position())};
    });
  }

  Result<std::optional<StoredSnapshot>> LoadSnapshot(const std::string& stream,
                                                     StreamRevision at_or_below) override {
    ::kiroku::v1::LoadSnapshotReq req;
    req.set_stream(stream);
    if (at_or_below != StreamRevision::End()) req.set_at_or_below(at_or_below.value);
    return WithRetries([&]() -> Result<std::optional<StoredSnapshot>> {
      grpc::ClientContext ctx;
      Prepare(&ctx, true);
      ::kiroku::v1::LoadSnapshotResp resp;
      grpc::Status s = snapshots_->Load(&ctx, req, &resp);
      if (!s.ok()) return FromGrpc(s, ctx);
      std::optional<StoredSnapshot> out;
      if (!resp.found()) return out;
      StoredSnapshot& snap = out.emplace();
      snap.revision = StreamRevision(resp.revision());
      snap.schema_version = resp.schema_version();
      snap.content_type = resp.json() ? ContentType::kJson : ContentType::kBinary;
      snap.data = std::move(*resp.mutable_data());
      snap.position = Position(resp.position());
      snap.created_us = resp.created_us();
      return out;
    });
  }

  Result<std::vector<RecordedEvent>> ReadStream(const std::string& stream,
                                                const ReadStreamOptions& o) override {
    spb::ReadReq req;
    auto* opts = req.mutable_options();
    auto* so = opts->mutable_stream();
    so->mutable_stream_identifier()->set_stream_name(stream);
    if (o.from == StreamRevision::End()) {
      so->mutable_end();
    } else {
      so->set_revision(o.from.value);
    }
    opts->set_read_direction(o.direction == Direction::kBackwards
                                 ? spb::ReadReq::Options::Backwards
                                 : spb::ReadReq::Options::Forwards);
    opts->set_count(o.max_count);
    opts->mutable_no_filter();
    opts->mutable_uuid_option()->mutable_string();
    return WithRetries([&]() -> Result<std::vector<RecordedEvent>> {
      std::vector<RecordedEvent> out;
      KIROKU_RETURN_IF_ERROR(RunRead(req, [&](const spb::ReadResp& r) -> Status {
        if (r.has_stream_not_found())
          return Status::StreamNotFound("stream '" + stream + "' not found");
        if (r.has_event()) out.push_back(FromProto(r.event().event()));
        return Status::Ok();
      }));
      return out;
    });
  }

  Result<ReadAllResult> ReadAll(const ReadAllOptions& o) override {
    spb::ReadReq req;
    auto* opts = req.mutable_options();
    auto* ao = opts->mutable_all();
    if (o.from == Position::End()) {
      ao->mutable_end();
    } else if (o.from == Position::Start()) {
      ao->mutable_start();
    } else {
      ao->mutable_position()->set_commit_position(o.from.value);
      ao->mutable_position()->set_prepare_position(o.from.value);
    }
    opts->set_read_direction(o.direction == Direction::kBackwards
                                 ? spb::ReadReq::Options::Backwards
                                 : spb::ReadReq::Options::Forwards);
    opts->set_count(o.max_count);
    SetFilter(o.filter, 1, opts);
    opts->mutable_uuid_option()->mutable_string();
    ReadAllResult result;
    KIROKU_RETURN_IF_ERROR(WithRetries([&]() -> Status {
      result.events.clear();
      return RunRead(req, [&](const spb::ReadResp& r) -> Status {
        if (r.has_event()) result.events.push_back(FromProto(r.event().event()));
        return Status::Ok();
      });
    }));
    result.end_of_log = result.events.size() < o.max_count;
    // The protocol has no "next position": continue from the last event's position
    // (inclusive forwards on the server, so skip it; exclusive backwards).
    if (!result.events.empty()) result.next = result.events.back().position;
    return result;
  }

  Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision expected) override {
    return WithRetries([&] { return DeleteOnce(stream, expected); });
  }
  Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision expected) override {
    return WithRetries([&] { return TombstoneOnce(stream, expected); });
  }

 private:
  Result<DeleteResult> DeleteOnce(const std::string& stream, ExpectedRevision expected) {
    grpc::ClientContext ctx;
    Prepare(&ctx, true);
    spb::DeleteReq req;
    req.mutable_options()->mutable_stream_identifier()->set_stream_name(stream);
    SetDeleteExpected(expected, req.mutable_options());
    spb::DeleteResp resp;
    grpc::Status s = streams_->Delete(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s, ctx);
    return DeleteResult{Position(resp.position().commit_position())};
  }

  Result<DeleteResult> TombstoneOnce(const std::string& stream, ExpectedRevision expected) {
    grpc::ClientContext ctx;
    Prepare(&ctx, true);
    spb::TombstoneReq req;
    req.mutable_options()->mutable_stream_identifier()->set_stream_name(stream);
    SetDeleteExpected(expected, req.mutable_options());
    spb::TombstoneResp resp;
    grpc::Status s = streams_->Tombstone(&ctx, req, &resp);
    if (!s.ok()) return FromGrpc(s, ctx);
    return DeleteResult{Position(resp.position().commit_position())};
  }

 public:
  Result<StreamMetadataResult> GetStreamMetadata(const std::string& stream) override {
    ReadStreamOptions o;
    o.direction = Direction::kBackwards;
    o.from = StreamRevision::End();
    o.max_count = 1;
    StreamMetadataResult r;
    auto events = ReadStream(MetadataStreamOf(stream), o);
    if (!events.ok()) {
      if (events.status().code() == StatusCode::kStreamNotFound) return r;
      return events.status();
    }
    if (events->empty()) return r;
    KIROKU_ASSIGN_OR_RETURN(r.metadata, StreamMetadata::FromJson(events->front().data));
    r.metastream_revision = events->front().revision;
    return r;
  }

  Result<AppendResult> SetStreamMetadata(const std::string& stream, ExpectedRevision expected,
                                         const StreamMetadata& metadata) override {
    EventData e;
    e.id = EventId::Random();
    e.type = "$metadata";
    e.data = metadata.ToJson();
    return Append(MetadataStreamOf(stream), expected, {e});
  }

  Status Subscribe(const SubscribeRequest& request, const SubscriptionHandler& handler,
                   const std::atomic<bool>* stop) override {
    spb::ReadReq req;
    auto* opts = req.mutable_options();
    opts->set_read_direction(spb::ReadReq::Options::Forwards);
    opts->mutable_subscription();
    opts->mutable_uuid_option()->mutable_string();
    if (request.all) {
      auto* ao = opts->mutable_all();
      switch (request.start) {
        case SubscribeRequest::Start::kBeginning:
          ao->mutable_start();
          break;
        case SubscribeRequest::Start::kEnd:
          ao->mutable_end();
          break;
        case SubscribeRequest::Start::kAfter:
          ao->mutable_position()->set_commit_position(request.after_position.value);
          ao->mutable_position()->set_prepare_position(request.after_position.value);
          break;
      }
      SetFilter(request.filter, request.checkpoint_interval_multiplier, opts);
    } else {
      auto* so = opts->mutable_stream();
      so->mutable_stream_identifier()->set_stream_name(request.stream);
      switch (request.start) {
        case SubscribeRequest::Start::kBeginning:
          so->mutable_start();
          break;
        case SubscribeRequest::Start::kEnd:
          so->mutable_end();
          break;
        case SubscribeRequest::Start::kAfter:
          so->set_revision(request.after_revision.value);
          break;
      }
      opts->mutable_no_filter();
    }
    grpc::ClientContext ctx;
    Prepare(&ctx, false);
    bool stopped_by_us = false;
    StopWatcher watcher(&ctx, stop);
    auto reader = streams_->Read(&ctx, req);
    spb::ReadResp resp;
    while (reader->Read(&resp)) {
      SubscriptionMessage m;
      if (resp.has_event()) {
        m.kind = SubscriptionMessage::Kind::kEvent;
        m.event = FromProto(resp.event().event());
      } else if (resp.has_caught_up()) {
        m.kind = SubscriptionMessage::Kind::kCaughtUp;
      } else if (resp.has_checkpoint()) {
        m.kind = SubscriptionMessage::Kind::kCheckpoint;
        m.checkpoint = Position(resp.checkpoint().commit_position());
      } else {
        continue;
      }
      if (!handler(m)) {
        stopped_by_us = true;
        ctx.TryCancel();
        break;
      }
    }
    grpc::Status s = reader->Finish();
    watcher.Join();
    if (stopped_by_us || (stop != nullptr && stop->load())) return Status::Ok();
    if (s.ok()) return Status::Closed("the server ended the subscription");
    return FromGrpc(s, ctx);
  }

  Status CreateGroup(const GroupTarget& t, bool from_start) override {
    namespace ppb = ::event_store::client::persistent_subscriptions;
    ppb::CreateReq req;
    auto* o = req.mutable_options();
    o->set_group_name(t.group);
    if (t.all) {
      auto* a = o->mutable_all();
      if (from_start) {
        a->mutable_start();
      } else {
        a->mutable_end();
      }
      a->mutable_no_filter();
    } else {
      auto* st = o->mutable_stream();
      st->mutable_stream_identifier()->set_stream_name(t.stream);
      if (from_start) {
        st->mutable_start();
      } else {
        st->mutable_end();
      }
    }
    // KurrentDB's defaults, as the official clients send them.
    auto* s = o->mutable_settings();
    s->set_max_retry_count(10);
    s->set_min_checkpoint_count(10);
    s->set_max_checkpoint_count(1000);
    s->set_live_buffer_size(500);
    s->set_read_batch_size(20);
    s->set_history_buffer_size(500);
    s->set_message_timeout_ms(30000);
    s->set_checkpoint_after_ms(2000);
    s->set_consumer_strategy("RoundRobin");
    ppb::CreateResp resp;
    grpc::ClientContext ctx;
    Prepare(&ctx, true);
    return FromGrpc(persistent_->Create(&ctx, req, &resp), ctx);
  }

  Status DeleteGroup(const GroupTarget& t) override {
    namespace ppb = ::event_store::client::persistent_subscriptions;
    ppb::DeleteReq req;
    auto* o = req.mutable_options();
    o->set_group_name(t.group);
    if (t.all) {
      o->mutable_all();
    } else {
      o->mutable_stream_identifier()->set_stream_name(t.stream);
    }
    ppb::DeleteResp resp;
    grpc::ClientContext ctx;
    Prepare(&ctx, true);
    return FromGrpc(persistent_->Delete(&ctx, req, &resp), ctx);
  }

  Status SubscribeToGroup(const GroupTarget& t, int32_t buffer_size,
                          const std::function<bool(const GroupEvent&, GroupAcks&)>& handler,
                          const std::atomic<bool>* stop) override {
    namespace ppb = ::event_store::client::persistent_subscriptions;
    grpc::ClientContext ctx;
    Prepare(&ctx, false);
    auto call = persistent_->Read(&ctx);
    ppb::ReadReq first;
    auto* o = first.mutable_options();
    if (t.all) {
      o->mutable_all();
    } else {
      o->mutable_stream_identifier()->set_stream_name(t.stream);
    }
    o->set_group_name(t.group);
    o->set_buffer_size(buffer_size);
    o->mutable_uuid_option()->mutable_string();
    // Acks and nacks are written by the handler on this thread, between reads.
    class Acks final : public GroupAcks {
     public:
      explicit Acks(grpc::ClientReaderWriter<ppb::ReadReq, ppb::ReadResp>* c) : call_(c) {}
      Status Ack(const std::vector<EventId>& ids) override {
        ppb::ReadReq r;
        for (const auto& id : ids) r.mutable_ack()->add_ids()->set_string(id.ToString());
        return Write(r);
      }
      Status Nack(const std::vector<EventId>& ids, GroupNack action,
                  const std::string& reason) override {
        ppb::ReadReq r;
        auto* n = r.mutable_nack();
        for (const auto& id : ids) n->add_ids()->set_string(id.ToString());
        n->set_action(action == GroupNack::kPark    ? ppb::ReadReq::Nack::Park
                      : action == GroupNack::kRetry ? ppb::ReadReq::Nack::Retry
                      : action == GroupNack::kSkip  ? ppb::ReadReq::Nack::Skip
                                                    : ppb::ReadReq::Nack::Stop);
        n->set_reason(reason);
        return Write(r);
      }

     private:
      Status Write(const ppb::ReadReq& r) {
        if (!call_->Write(r)) return Status::IOError("the group subscription is closed");
        return Status::Ok();
      }
      grpc::ClientReaderWriter<ppb::ReadReq, ppb::ReadResp>* call_;
    } acks(call.get());
    bool stopped_by_us = false;
    StopWatcher watcher(&ctx, stop);
    if (call->Write(first)) {
      ppb::ReadResp resp;
      while (call->Read(&resp)) {
        if (!resp.has_event()) continue;  // the confirmation
        GroupEvent ev;
        ev.event = FromProto(resp.event().event());
        if (resp.event().has_link()) ev.link = FromProto(resp.event().link());
        ev.retry_count = resp.event().retry_count();
        if (!handler(ev, acks)) {
          stopped_by_us = true;
          ctx.TryCancel();
          break;
        }
      }
    }
    grpc::Status s = call->Finish();
    watcher.Join();
    if (stopped_by_us || (stop != nullptr && stop->load())) return Status::Ok();
    if (s.ok()) return Status::Closed("the server ended the group subscription");
    return FromGrpc(s, ctx);
  }

 private:
  std::shared_ptr<grpc::Channel> MakeChannel(const Endpoint& e) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, static_cast<int>(cs_.keep_alive_interval.count()));
    args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, static_cast<int>(cs_.keep_alive_timeout.count()));
    args.SetMaxReceiveMessageSize(64 << 20);
    args.SetMaxSendMessageSize(64 << 20);
    return grpc::CreateCustomChannel(e.ToString(), creds_, args);
  }

  // Asks each seed's gossip for the leader (kiroku answers with itself).
  Result<Endpoint> Discover() {
    std::string errors;
    for (const auto& seed : cs_.hosts) {
      auto stub = pb::gossip::Gossip::NewStub(MakeChannel(seed));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + cs_.gossip_timeout);
      pb::gossip::ClusterInfo info;
      grpc::Status s = stub->Read(&ctx, pb::Empty(), &info);
      if (!s.ok()) {
        errors += " " + seed.ToString() + ": " + s.error_message() + ";";
        continue;
      }
      for (const auto& m : info.members()) {
        if (m.is_alive() && m.state() == pb::gossip::MemberInfo::Leader && m.has_http_end_point()) {
          return Endpoint{m.http_end_point().address(),
                          static_cast<uint16_t>(m.http_end_point().port())};
        }
      }
      errors += " " + seed.ToString() + ": no live leader;";
    }
    return Status::IOError("discovery failed:" + errors);
  }

  void Prepare(grpc::ClientContext* ctx, bool deadline) {
    if (deadline) ctx->set_deadline(std::chrono::system_clock::now() + cs_.default_deadline);
    if (!cs_.connection_name.empty()) ctx->AddMetadata("connection-name", cs_.connection_name);
    if (cs_.tls && cs_.username) {
      ctx->AddMetadata("authorization",
                       "Basic " + Base64(*cs_.username + ":" + cs_.password.value_or("")));
    }
  }

  Status RunRead(const spb::ReadReq& req,
                 const std::function<Status(const spb::ReadResp&)>& on_message) {
    grpc::ClientContext ctx;
    Prepare(&ctx, true);
    auto reader = streams_->Read(&ctx, req);
    spb::ReadResp resp;
    Status inner;
    while (inner.ok() && reader->Read(&resp)) inner = on_message(resp);
    if (!inner.ok()) {
      ctx.TryCancel();
      reader->Finish();
      return inner;
    }
    grpc::Status s = reader->Finish();
    return FromGrpc(s, ctx);
  }

  static std::vector<EventData> WithIds(const std::vector<EventData>& events) {
    std::vector<EventData> out = events;
    for (EventData& e : out) {
      if (e.id.IsNil()) e.id = EventId::Random();
    }
    return out;
  }

  // Runs `attempt` until it succeeds, fails for a reason other than a transient one, or
  // maxRetries retries have failed; sleeps backoff * 2^n, jittered to [50%, 100%], between.
  template <typename F>
  auto WithRetries(F attempt) -> decltype(attempt()) {
    auto r = attempt();
    for (int n = 0; n < cs_.max_retries; ++n) {
      const Status& s = [&]() -> const Status& {
        if constexpr (std::is_same_v<decltype(r), Status>) {
          return r;
        } else {
          return r.status();
        }
      }();
      if (!IsTransient(s)) break;
      auto ceiling = cs_.retry_backoff * (1 << std::min(n, 10));
      std::chrono::microseconds sleep;
      {
        std::lock_guard lock(rng_mu_);
        std::uniform_int_distribution<int64_t> d(
            std::chrono::duration_cast<std::chrono::microseconds>(ceiling).count() / 2,
            std::chrono::duration_cast<std::chrono::microseconds>(ceiling).count());
        sleep = std::chrono::microseconds(d(rng_));
      }
      std::this_thread::sleep_for(sleep);
      r = attempt();
    }
    return r;
  }

  ConnectionSettings cs_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::unique_ptr<::kiroku::v1::Snapshots::Stub> snapshots_;
  std::unique_ptr<::event_store::client::persistent_subscriptions::PersistentSubscriptions::Stub>
      persistent_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<spb::Streams::Stub> streams_;
  std::unique_ptr<BatchAppender> batch_;  // declared last: destroyed before the stub
};

}  // namespace

Result<std::unique_ptr<RemoteClient>> RemoteClient::Connect(const std::string& text) {
  KIROKU_ASSIGN_OR_RETURN(ConnectionSettings cs, ParseConnectionString(text));
  auto c = std::make_unique<RemoteClientImpl>(std::move(cs));
  KIROKU_RETURN_IF_ERROR(c->Init());
  return std::unique_ptr<RemoteClient>(std::move(c));
}

}  // namespace kiroku
