// The KurrentDB Streams service (event_store.client.streams.Streams) over kiroku's store:
// Append, BatchAppend, Delete, Tombstone. Read is marked generic here and served by
// HalfCloseFirstService (cluster_services.h, read_reactor.h). Callback API: no thread
// is held while an append waits for its fdatasync.
#pragma once

#include "server/server_context.h"
#include "streams.grpc.pb.h"

namespace kiroku::server {

class StreamsService final : public event_store::client::streams::Streams::WithGenericMethod_Read<
                                 event_store::client::streams::Streams::CallbackService> {
 public:
  explicit StreamsService(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerReadReactor<event_store::client::streams::AppendReq>* Append(
      grpc::CallbackServerContext* ctx, event_store::client::streams::AppendResp* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx,
                                   const event_store::client::streams::DeleteReq* req,
                                   event_store::client::streams::DeleteResp* resp) override;
  grpc::ServerUnaryReactor* Tombstone(grpc::CallbackServerContext* ctx,
                                      const event_store::client::streams::TombstoneReq* req,
                                      event_store::client::streams::TombstoneResp* resp) override;
  grpc::ServerBidiReactor<event_store::client::streams::BatchAppendReq,
                          event_store::client::streams::BatchAppendResp>*
  BatchAppend(grpc::CallbackServerContext* ctx) override;

 private:
  ServerDeps deps_;
};

}  // namespace kiroku::server
