// kiroku.v1.Snapshots (proto/kiroku_snapshots.proto): AppendWithSnapshot and Load over
// gRPC, mapped one to one onto Store::AppendWithSnapshot and Store::LoadSnapshot. Errors
// carry the same statuses and `exception` trailers as the Streams service (ToGrpcStatus),
// so the C++ client maps them back to the same kiroku Status codes.
//
// A callback-API service like the rest of the server; each call blocks its callback thread
// until the committer acknowledges it (as Streams.Delete does); group commit batches
// concurrent calls. Thread-safe; borrows the ServerDeps, which must outlive it.
#pragma once

#include "kiroku_snapshots.grpc.pb.h"
#include "server/server_context.h"

namespace kiroku::server {

class SnapshotsService final : public ::kiroku::v1::Snapshots::CallbackService {
 public:
  explicit SnapshotsService(const ServerDeps* deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* AppendWithSnapshot(grpc::CallbackServerContext* ctx,
                                               const ::kiroku::v1::AppendWithSnapshotReq* req,
                                               ::kiroku::v1::AppendWithSnapshotResp* resp) override;
  grpc::ServerUnaryReactor* Load(grpc::CallbackServerContext* ctx,
                                 const ::kiroku::v1::LoadSnapshotReq* req,
                                 ::kiroku::v1::LoadSnapshotResp* resp) override;

 private:
  grpc::Status DoAppend(grpc::ServerContextBase* ctx,
                        const ::kiroku::v1::AppendWithSnapshotReq* req,
                        ::kiroku::v1::AppendWithSnapshotResp* resp);
  grpc::Status DoLoad(grpc::ServerContextBase* ctx, const ::kiroku::v1::LoadSnapshotReq* req,
                      ::kiroku::v1::LoadSnapshotResp* resp);

  const ServerDeps* deps_;
};

}  // namespace kiroku::server
