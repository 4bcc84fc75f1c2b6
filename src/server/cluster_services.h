// ServerFeatures (what the clients may use), Gossip (a single-node "cluster", so
// esdb+discover:// and multi-host connection strings work) and Streams.Read, all served
// through one generic callback service that answers only after the client half-closed (see
// read_reactor.h for why: the Rust client inside @kurrent/kurrentdb-client calls these
// three). See docs/protocol/kurrentdb-grpc.md sections 1.2 and 1.3.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include "gossip.grpc.pb.h"
#include "server/server_context.h"
#include "serverfeatures.grpc.pb.h"

namespace kiroku::server {

// The version kiroku reports: clients gate features (caught-up messages, ...) on >= 23.10.
inline constexpr const char* kReportedServerVersion = "24.10.0";

// The ServerFeatures.GetSupportedMethods answer.
void FillSupportedMethods(event_store::client::server_features::SupportedMethods* resp);

// Routes Streams.Read, ServerFeatures.GetSupportedMethods and Gossip.Read; any other method
// that reaches it is UNIMPLEMENTED. Read is marked generic in StreamsService; the
// ServerFeatures and Gossip services are not registered.
class HalfCloseFirstService final : public grpc::CallbackGenericService {
 public:
  // `deps` is borrowed and read on every call (the port is known only after start).
  explicit HalfCloseFirstService(const ServerDeps* deps);
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override;

 private:
  void FillGossip(event_store::client::gossip::ClusterInfo* resp) const;

  const ServerDeps* deps_;
  EventId instance_id_;
};

}  // namespace kiroku::server
