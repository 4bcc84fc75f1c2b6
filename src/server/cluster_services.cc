#include "server/cluster_services.h"

#include <chrono>
#include <functional>

#include "server/grpc_convert.h"
#include "server/read_reactor.h"

namespace kiroku::server {
namespace {

// A unary call over the generic API: one request message, then the client's half-close,
// then the answer.
class UnaryAfterHalfClose final : public grpc::ServerGenericBidiReactor {
 public:
  explicit UnaryAfterHalfClose(std::function<grpc::Status(grpc::ByteBuffer*)> answer)
      : answer_(std::move(answer)) {
    StartRead(&in_);
  }

  void OnReadDone(bool ok) override {
    if (ok) {
      if (++messages_ > 1) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "one request message expected"));
        return;
      }
      StartRead(&in_);
      return;
    }
    if (messages_ != 1) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "one request message expected"));
      return;
    }
    grpc::Status s = answer_(&out_);
    if (!s.ok()) {
      Finish(s);
      return;
    }
    StartWriteAndFinish(&out_, grpc::WriteOptions(), grpc::Status::OK);
  }

  void OnDone() override { delete this; }

 private:
  std::function<grpc::Status(grpc::ByteBuffer*)> answer_;
  grpc::ByteBuffer in_;
  grpc::ByteBuffer out_;
  int messages_ = 0;
};

template <typename Message>
grpc::Status Serialize(const Message& m, grpc::ByteBuffer* out) {
  bool own_buffer = false;
  return grpc::SerializationTraits<Message>::Serialize(m, out, &own_buffer);
}

}  // namespace

void FillSupportedMethods(event_store::client::server_features::SupportedMethods* resp) {
  // Lower-case names, as the real server sends and .NET compares case-sensitively.
  struct Entry {
    const char* service;
    const char* method;
    std::vector<const char*> features;
  };
  const char* kStreams = "event_store.client.streams.streams";
  const char* kPersistent = "event_store.client.persistent_subscriptions.persistentsubscriptions";
  const std::vector<Entry> entries = {
      {kStreams, "read", {"position", "events"}},
      {kStreams, "append", {}},
      {kStreams, "batchappend", {"deadline_duration"}},
      {kStreams, "delete", {}},
      {kStreams, "tombstone", {}},
      {"event_store.client.server_features.serverfeatures", "getsupportedmethods", {}},
      {"event_store.client.gossip.gossip", "read", {}},
      // Persistent subscriptions: every method with "stream" and "all", as KurrentDB.
      {kPersistent, "create", {"stream", "all"}},
      {kPersistent, "update", {"stream", "all"}},
      {kPersistent, "delete", {"stream", "all"}},
      {kPersistent, "read", {"stream", "all"}},
      {kPersistent, "getinfo", {"stream", "all"}},
      {kPersistent, "replayparked", {"stream", "all"}},
      {kPersistent, "list", {"stream", "all"}},
      {kPersistent, "restartsubsystem", {"stream", "all"}},
  };
  for (const auto& e : entries) {
    auto* m = resp->add_methods();
    m->set_service_name(e.service);
    m->set_method_name(e.method);
    for (const char* f : e.features) m->add_features(f);
  }
  resp->set_event_store_server_version(kReportedServerVersion);
}

HalfCloseFirstService::HalfCloseFirstService(const ServerDeps* deps)
    : deps_(deps), instance_id_(EventId::Random()) {}

void HalfCloseFirstService::FillGossip(event_store::client::gossip::ClusterInfo* resp) const {
  auto* m = resp->add_members();
  ToProtoUuid(instance_id_, false, m->mutable_instance_id());
  auto now = std::chrono::system_clock::now().time_since_epoch();
  m->set_time_stamp(
      UnixMicrosToTicks(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
  m->set_state(event_store::client::gossip::MemberInfo::Leader);
  m->set_is_alive(true);
  m->mutable_http_end_point()->set_address(deps_->advertised_host);
  m->mutable_http_end_point()->set_port(deps_->advertised_port);
}

grpc::ServerGenericBidiReactor* HalfCloseFirstService::CreateReactor(
    grpc::GenericCallbackServerContext* ctx) {
  const std::string& method = ctx->method();
  if (method == "/event_store.client.streams.Streams/Read") {
    return new ReadReactor(*deps_, ctx);
  }
  if (method == "/event_store.client.server_features.ServerFeatures/GetSupportedMethods") {
    return new UnaryAfterHalfClose([](grpc::ByteBuffer* out) {
      event_store::client::server_features::SupportedMethods resp;
      FillSupportedMethods(&resp);
      return Serialize(resp, out);
    });
  }
  if (method == "/event_store.client.gossip.Gossip/Read") {
    return new UnaryAfterHalfClose([this](grpc::ByteBuffer* out) {
      event_store::client::gossip::ClusterInfo resp;
      FillGossip(&resp);
      return Serialize(resp, out);
    });
  }
  return grpc::CallbackGenericService::CreateReactor(ctx);  // UNIMPLEMENTED
}

}  // namespace kiroku::server
