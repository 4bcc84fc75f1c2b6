#include "server/cluster_services.h"

#include <chrono>

#include "server/grpc_convert.h"

namespace kiroku::server {

grpc::ServerUnaryReactor* ServerFeaturesService::GetSupportedMethods(
    grpc::CallbackServerContext* ctx, const event_store::client::Empty*,
    event_store::client::server_features::SupportedMethods* resp) {
  // Lower-case names, as the real server sends and .NET compares case-sensitively.
  struct Entry {
    const char* service;
    const char* method;
    std::vector<const char*> features;
  };
  const char* kStreams = "event_store.client.streams.streams";
  const std::vector<Entry> entries = {
      {kStreams, "read", {"position", "events"}},
      {kStreams, "append", {}},
      {kStreams, "batchappend", {"deadline_duration"}},
      {kStreams, "delete", {}},
      {kStreams, "tombstone", {}},
      {"event_store.client.server_features.serverfeatures", "getsupportedmethods", {}},
      {"event_store.client.gossip.gossip", "read", {}},
  };
  for (const auto& e : entries) {
    auto* m = resp->add_methods();
    m->set_service_name(e.service);
    m->set_method_name(e.method);
    for (const char* f : e.features) m->add_features(f);
  }
  resp->set_event_store_server_version(kReportedServerVersion);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

GossipService::GossipService(const ServerDeps* deps)
    : deps_(deps), instance_id_(EventId::Random()) {}

grpc::ServerUnaryReactor* GossipService::Read(grpc::CallbackServerContext* ctx,
                                              const event_store::client::Empty*,
                                              event_store::client::gossip::ClusterInfo* resp) {
  auto* m = resp->add_members();
  ToProtoUuid(instance_id_, false, m->mutable_instance_id());
  auto now = std::chrono::system_clock::now().time_since_epoch();
  m->set_time_stamp(
      UnixMicrosToTicks(std::chrono::duration_cast<std::chrono::microseconds>(now).count()));
  m->set_state(event_store::client::gossip::MemberInfo::Leader);
  m->set_is_alive(true);
  m->mutable_http_end_point()->set_address(deps_->advertised_host);
  m->mutable_http_end_point()->set_port(deps_->advertised_port);
  auto* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace kiroku::server
