// RemoteClient over gRPC sync stubs generated from proto/ (the KurrentDB client protocol).
#include <grpcpp/grpcpp.h>

#include <thread>

#include "client/connection_string.h"
#include "gossip.grpc.pb.h"
#include "kiroku/client.h"
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
    default:
      return Status::IOError("gRPC " + std::to_string(s.error_code()) + ": " + s.error_message());
  }
}

RecordedEvent FromProto(const spb::ReadResp::ReadEvent::RecordedEvent& r) {
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

void SetExpected(ExpectedRevision e, spb::AppendReq::Options* o) {
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

class RemoteClientImpl final : public RemoteClient {
 public:
  explicit RemoteClientImpl(ConnectionSettings cs) : cs_(std::move(cs)) {}

  Status Init() {
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
    return Status::Ok();
  }

  Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                              const std::vector<EventData>& events) override {
    grpc::ClientContext ctx;
    Prepare(&ctx, true);
    spb::AppendResp resp;
    auto writer = streams_->Append(&ctx, &resp);
    spb::AppendReq req;
    req.mutable_options()->mutable_stream_identifier()->set_stream_name(stream);
    SetExpected(expected, req.mutable_options());
    bool ok = writer->Write(req);
    for (const auto& e : events) {
      if (!ok) break;
      spb::AppendReq m;
      auto* p = m.mutable_proposed_message();
      p->mutable_id()->set_string(e.id.IsNil() ? EventId::Random().ToString() : e.id.ToString());
      (*p->mutable_metadata())["type"] = e.type;
      (*p->mutable_metadata())["content-type"] =
          e.content_type == ContentType::kJson ? "application/json" : "application/octet-stream";
      p->set_data(e.data);
      p->set_custom_metadata(e.metadata);
      ok = writer->Write(m);
    }
    writer->WritesDone();
    grpc::Status s = writer->Finish();
    if (!s.ok()) return FromGrpc(s, ctx);
    if (resp.has_wrong_expected_version()) {
      const auto& w = resp.wrong_expected_version();
      std::optional<uint64_t> actual;
      if (w.has_current_revision()) actual = w.current_revision();
      return Status::WrongExpectedVersion("append to '" + stream + "' expected " +
                                              expected.ToString() + ", actual " +
                                              (actual ? std::to_string(*actual) : "no stream"),
                                          actual);
    }
    AppendResult r;
    r.current_revision = StreamRevision(resp.success().current_revision());
    r.position = Position(resp.success().position().commit_position());
    return r;
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
    std::vector<RecordedEvent> out;
    KIROKU_RETURN_IF_ERROR(RunRead(req, [&](const spb::ReadResp& r) -> Status {
      if (r.has_stream_not_found())
        return Status::StreamNotFound("stream '" + stream + "' not found");
      if (r.has_event()) out.push_back(FromProto(r.event().event()));
      return Status::Ok();
    }));
    return out;
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
    KIROKU_RETURN_IF_ERROR(RunRead(req, [&](const spb::ReadResp& r) -> Status {
      if (r.has_event()) result.events.push_back(FromProto(r.event().event()));
      return Status::Ok();
    }));
    result.end_of_log = result.events.size() < o.max_count;
    // The protocol has no "next position": continue from the last event's position
    // (inclusive forwards on the server, so skip it; exclusive backwards).
    if (!result.events.empty()) result.next = result.events.back().position;
    return result;
  }

  Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision expected) override {
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

  Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision expected) override {
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

  Status Subscribe(const SubscribeRequest& request,
                   const std::function<bool(const SubscriptionMessage&)>& handler,
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
    std::atomic<bool> finished{false};
    bool stopped_by_us = false;
    std::thread watcher;
    if (stop != nullptr) {
      watcher = std::thread([&] {
        while (!finished.load()) {
          if (stop->load()) {
            ctx.TryCancel();
            return;
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      });
    }
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
    finished = true;
    if (watcher.joinable()) watcher.join();
    if (stopped_by_us || (stop != nullptr && stop->load())) return Status::Ok();
    if (s.ok()) return Status::Closed("the server ended the subscription");
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

  ConnectionSettings cs_;
  std::shared_ptr<grpc::ChannelCredentials> creds_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<spb::Streams::Stub> streams_;
};

}  // namespace

Result<std::unique_ptr<RemoteClient>> RemoteClient::Connect(const std::string& text) {
  KIROKU_ASSIGN_OR_RETURN(ConnectionSettings cs, ParseConnectionString(text));
  auto c = std::make_unique<RemoteClientImpl>(std::move(cs));
  KIROKU_RETURN_IF_ERROR(c->Init());
  return std::unique_ptr<RemoteClient>(std::move(c));
}

}  // namespace kiroku
