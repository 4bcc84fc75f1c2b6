// KurrentDB's persistent subscriptions service
// (event_store.client.persistent_subscriptions.PersistentSubscriptions) and kiroku's
// kiroku.v1.ConsumerGroups (Reset), over ConsumerGroups (src/subscriptions).
//
// Read is a bidi stream: options first, then acks/nacks from the client while the server
// writes a confirmation and then events. Each Read call is one group member whose
// in-flight limit is the client's buffer_size. Errors carry the official clients'
// trailers (docs/protocol/kurrentdb-grpc.md section 2.1 and 7).
#pragma once

#include "kiroku_groups.grpc.pb.h"
#include "persistent.grpc.pb.h"
#include "server/server_context.h"
#include "subscriptions/consumer_groups.h"

namespace kiroku::server {

namespace ppb = ::event_store::client::persistent_subscriptions;

class PersistentService final : public ppb::PersistentSubscriptions::CallbackService {
 public:
  explicit PersistentService(const ServerDeps& deps) : deps_(deps) {}

  grpc::ServerUnaryReactor* Create(grpc::CallbackServerContext* ctx, const ppb::CreateReq* req,
                                   ppb::CreateResp* resp) override;
  grpc::ServerUnaryReactor* Update(grpc::CallbackServerContext* ctx, const ppb::UpdateReq* req,
                                   ppb::UpdateResp* resp) override;
  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* ctx, const ppb::DeleteReq* req,
                                   ppb::DeleteResp* resp) override;
  grpc::ServerBidiReactor<ppb::ReadReq, ppb::ReadResp>* Read(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* ctx, const ppb::GetInfoReq* req,
                                    ppb::GetInfoResp* resp) override;
  grpc::ServerUnaryReactor* ReplayParked(grpc::CallbackServerContext* ctx,
                                         const ppb::ReplayParkedReq* req,
                                         ppb::ReplayParkedResp* resp) override;
  grpc::ServerUnaryReactor* List(grpc::CallbackServerContext* ctx, const ppb::ListReq* req,
                                 ppb::ListResp* resp) override;
  grpc::ServerUnaryReactor* RestartSubsystem(grpc::CallbackServerContext* ctx,
                                             const ::event_store::client::Empty* req,
                                             ::event_store::client::Empty* resp) override;

 private:
  ServerDeps deps_;
};

class GroupAdminService final : public ::kiroku::v1::ConsumerGroups::CallbackService {
 public:
  explicit GroupAdminService(const ServerDeps& deps) : deps_(deps) {}
  grpc::ServerUnaryReactor* Reset(grpc::CallbackServerContext* ctx,
                                  const ::kiroku::v1::ResetGroupReq* req,
                                  ::kiroku::v1::ResetGroupResp* resp) override;

 private:
  ServerDeps deps_;
};

// A group's figures as KurrentDB's SubscriptionInfo (GetInfo, List).
void ToProtoInfo(const GroupInfo& info, ppb::SubscriptionInfo* out);

}  // namespace kiroku::server
