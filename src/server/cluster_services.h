// ServerFeatures (what the clients may use) and Gossip (a single-node "cluster", so
// esdb+discover:// and multi-host connection strings work). See
// docs/protocol/kurrentdb-grpc.md sections 1.2 and 1.3.
#pragma once

#include "gossip.grpc.pb.h"
#include "server/server_context.h"
#include "serverfeatures.grpc.pb.h"

namespace kiroku::server {

// The version kiroku reports: clients gate features (caught-up messages, ...) on >= 23.10.
inline constexpr const char* kReportedServerVersion = "24.10.0";

class ServerFeaturesService final
    : public event_store::client::server_features::ServerFeatures::CallbackService {
 public:
  grpc::ServerUnaryReactor* GetSupportedMethods(
      grpc::CallbackServerContext* ctx, const event_store::client::Empty* req,
      event_store::client::server_features::SupportedMethods* resp) override;
};

class GossipService final : public event_store::client::gossip::Gossip::CallbackService {
 public:
  // `deps` is borrowed and read on every call (the port is known only after start).
  explicit GossipService(const ServerDeps* deps);
  grpc::ServerUnaryReactor* Read(grpc::CallbackServerContext* ctx,
                                 const event_store::client::Empty* req,
                                 event_store::client::gossip::ClusterInfo* resp) override;

 private:
  const ServerDeps* deps_;
  EventId instance_id_;
};

}  // namespace kiroku::server
