#include "server/snapshots_service.h"

#include "server/grpc_convert.h"

namespace kiroku::server {
namespace {

namespace v1 = ::kiroku::v1;

Result<ExpectedRevision> FromProtoExpected(const v1::ExpectedRevision& e) {
  switch (e.kind_case()) {
    case v1::ExpectedRevision::kRevision:
      return ExpectedRevision::Exact(StreamRevision(e.revision()));
    case v1::ExpectedRevision::kAny:
      return ExpectedRevision::Any();
    case v1::ExpectedRevision::kNoStream:
      return ExpectedRevision::NoStream();
    case v1::ExpectedRevision::kStreamExists:
      return ExpectedRevision::StreamExists();
    case v1::ExpectedRevision::KIND_NOT_SET:
      break;
  }
  return Status::InvalidArgument("expected revision is missing");
}

}  // namespace

grpc::ServerUnaryReactor* SnapshotsService::AppendWithSnapshot(grpc::CallbackServerContext* ctx,
                                                               const v1::AppendWithSnapshotReq* req,
                                                               v1::AppendWithSnapshotResp* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(DoAppend(ctx, req, resp));
  return reactor;
}

grpc::ServerUnaryReactor* SnapshotsService::Load(grpc::CallbackServerContext* ctx,
                                                 const v1::LoadSnapshotReq* req,
                                                 v1::LoadSnapshotResp* resp) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(DoLoad(ctx, req, resp));
  return reactor;
}

grpc::Status SnapshotsService::DoAppend(grpc::ServerContextBase* ctx,
                                        const v1::AppendWithSnapshotReq* req,
                                        v1::AppendWithSnapshotResp* resp) {
  auto expected = FromProtoExpected(req->expected());
  if (!expected.ok()) {
    return ToGrpcStatus(expected.status(), ctx, req->stream(), ExpectedRevision::Any(),
                        deps_->max_append_size);
  }
  std::vector<EventData> events;
  events.reserve(req->events_size());
  for (const v1::ProposedEvent& p : req->events()) {
    EventData e;
    if (!p.id().empty()) {
      auto id = EventId::Parse(p.id());
      if (!id) {
        return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed event id " + p.id());
      }
      e.id = *id;
    }
    e.type = p.type();
    e.content_type = p.json() ? ContentType::kJson : ContentType::kBinary;
    e.data = p.data();
    e.metadata = p.metadata();
    events.push_back(std::move(e));
  }
  SnapshotData snap;
  snap.schema_version = req->snapshot().schema_version();
  snap.content_type = req->snapshot().json() ? ContentType::kJson : ContentType::kBinary;
  snap.data = req->snapshot().data();
  SnapshotOptions options;
  options.keep_last = req->keep_last();
  options.truncate_before = req->truncate_before();
  auto r = deps_->store->AppendWithSnapshot(req->stream(), *expected, std::move(events),
                                            std::move(snap), options);
  if (!r.ok()) {
    if (deps_->metrics) deps_->metrics->appends_rejected++;
    return ToGrpcStatus(r.status(), ctx, req->stream(), *expected, deps_->max_append_size);
  }
  resp->set_current_revision(r->current_revision.value);
  resp->set_position(r->position.value);
  return grpc::Status::OK;
}

grpc::Status SnapshotsService::DoLoad(grpc::ServerContextBase* ctx, const v1::LoadSnapshotReq* req,
                                      v1::LoadSnapshotResp* resp) {
  const StreamRevision at_or_below =
      req->has_at_or_below() ? StreamRevision(req->at_or_below()) : StreamRevision::End();
  auto r = deps_->store->LoadSnapshot(req->stream(), at_or_below);
  if (!r.ok()) {
    return ToGrpcStatus(r.status(), ctx, req->stream(), ExpectedRevision::Any(),
                        deps_->max_append_size);
  }
  if (!r->has_value()) {
    resp->set_found(false);
    return grpc::Status::OK;
  }
  StoredSnapshot& s = **r;
  resp->set_found(true);
  resp->set_revision(s.revision.value);
  resp->set_schema_version(s.schema_version);
  resp->set_json(s.content_type == ContentType::kJson);
  resp->set_data(std::move(s.data));
  resp->set_position(s.position.value);
  resp->set_created_us(s.created_us);
  return grpc::Status::OK;
}

}  // namespace kiroku::server
