#include "server/grpc_convert.h"

#include "streams.pb.h"

namespace kiroku::server {

std::optional<EventId> FromProtoUuid(const pb::UUID& u) {
  if (u.has_string()) return EventId::Parse(u.string());
  if (u.has_structured()) {
    std::array<uint8_t, 16> b;
    uint64_t hi = static_cast<uint64_t>(u.structured().most_significant_bits());
    uint64_t lo = static_cast<uint64_t>(u.structured().least_significant_bits());
    for (int i = 0; i < 8; ++i) {
      b[i] = static_cast<uint8_t>(hi >> (56 - 8 * i));
      b[8 + i] = static_cast<uint8_t>(lo >> (56 - 8 * i));
    }
    return EventId(b);
  }
  return std::nullopt;
}

void ToProtoUuid(const EventId& id, bool structured, pb::UUID* out) {
  if (!structured) {
    out->set_string(id.ToString());
    return;
  }
  uint64_t hi = 0, lo = 0;
  for (int i = 0; i < 8; ++i) {
    hi = hi << 8 | id.bytes()[i];
    lo = lo << 8 | id.bytes()[8 + i];
  }
  out->mutable_structured()->set_most_significant_bits(static_cast<int64_t>(hi));
  out->mutable_structured()->set_least_significant_bits(static_cast<int64_t>(lo));
}

int64_t UnixMicrosToTicks(int64_t us) { return us * 10; }

namespace {
// Streams and PersistentSubscriptions each declare their own RecordedEvent with the same
// fields.
template <typename Out>
void FillRecorded(const RecordedEvent& e, bool structured_uuid, Out* out) {
  ToProtoUuid(e.id, structured_uuid, out->mutable_id());
  out->mutable_stream_identifier()->set_stream_name(e.stream);
  out->set_stream_revision(e.revision.value);
  out->set_prepare_position(e.position.value);
  out->set_commit_position(e.position.value);
  auto& md = *out->mutable_metadata();
  md["type"] = e.type;
  md["content-type"] =
      e.content_type == ContentType::kJson ? "application/json" : "application/octet-stream";
  md["created"] = std::to_string(UnixMicrosToTicks(e.created_us));
  out->set_custom_metadata(e.metadata);
  out->set_data(e.data);
}
}  // namespace

void ToProtoRecorded(const RecordedEvent& e, bool structured_uuid,
                     spb::ReadResp::ReadEvent::RecordedEvent* out) {
  FillRecorded(e, structured_uuid, out);
}

void ToProtoRecorded(
    const RecordedEvent& e, bool structured_uuid,
    ::event_store::client::persistent_subscriptions::ReadResp::ReadEvent::RecordedEvent* out) {
  FillRecorded(e, structured_uuid, out);
}

template <typename Proposed>
std::optional<ProposedError> FromProposed(const Proposed& m, EventData* out) {
  auto id = FromProtoUuid(m.id());
  if (!id) {
    return ProposedError{
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "proposed message has no valid id"), ""};
  }
  auto type = m.metadata().find("type");
  auto ct = m.metadata().find("content-type");
  if (type == m.metadata().end() || ct == m.metadata().end()) {
    std::string missing;
    if (type == m.metadata().end()) missing = "type";
    if (ct == m.metadata().end()) missing += missing.empty() ? "content-type" : ",content-type";
    return ProposedError{grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                      "Missing required metadata property: " + missing),
                         missing};
  }
  out->id = *id;
  out->type = type->second;
  out->content_type = ct->second == "application/json" ? ContentType::kJson : ContentType::kBinary;
  out->data = m.data();
  out->metadata = m.custom_metadata();
  return std::nullopt;
}

template std::optional<ProposedError> FromProposed(const spb::AppendReq::ProposedMessage&,
                                                   EventData*);
template std::optional<ProposedError> FromProposed(const spb::BatchAppendReq::ProposedMessage&,
                                                   EventData*);

int64_t ExpectedVersionNumber(ExpectedRevision e) {
  switch (e.kind()) {
    case ExpectedRevision::Kind::kAny:
      return -2;
    case ExpectedRevision::Kind::kNoStream:
      return -1;
    case ExpectedRevision::Kind::kStreamExists:
      return -4;
    case ExpectedRevision::Kind::kExact:
      return static_cast<int64_t>(e.revision().value);
  }
  return -2;
}

grpc::Status ToGrpcStatus(const Status& s, grpc::ServerContextBase* ctx, const std::string& stream,
                          ExpectedRevision expected, uint64_t max_append_size) {
  using grpc::StatusCode;
  switch (s.code()) {
    case kiroku::StatusCode::kOk:
      return grpc::Status::OK;
    case kiroku::StatusCode::kStreamDeleted:
      ctx->AddTrailingMetadata("exception", "stream-deleted");
      ctx->AddTrailingMetadata("stream-name", stream);
      return grpc::Status(StatusCode::FAILED_PRECONDITION,
                          "Event stream '" + stream + "' is deleted.");
    case kiroku::StatusCode::kWrongExpectedVersion: {
      auto actual = s.actual_revision();
      ctx->AddTrailingMetadata("exception", "wrong-expected-version");
      ctx->AddTrailingMetadata("stream-name", stream);
      ctx->AddTrailingMetadata("expected-version", std::to_string(ExpectedVersionNumber(expected)));
      ctx->AddTrailingMetadata("actual-version", actual ? std::to_string(*actual) : "");
      return grpc::Status(StatusCode::FAILED_PRECONDITION,
                          "WrongExpectedVersion. Stream: " + stream +
                              ", Expected version: " + expected.ToString() +
                              ", Actual version: " + (actual ? std::to_string(*actual) : "none"));
    }
    case kiroku::StatusCode::kStreamNotFound:
      ctx->AddTrailingMetadata("exception", "stream-not-found");
      ctx->AddTrailingMetadata("stream-name", stream);
      return grpc::Status(StatusCode::NOT_FOUND, "Event stream '" + stream + "' is not found.");
    case kiroku::StatusCode::kMaximumAppendSizeExceeded:
      ctx->AddTrailingMetadata("exception", "maximum-append-size-exceeded");
      ctx->AddTrailingMetadata("maximum-append-size", std::to_string(max_append_size));
      return grpc::Status(
          StatusCode::INVALID_ARGUMENT,
          "Maximum Append Size of " + std::to_string(max_append_size) + " Exceeded.");
    case kiroku::StatusCode::kInvalidArgument:
      return grpc::Status(StatusCode::INVALID_ARGUMENT, s.message());
    case kiroku::StatusCode::kNotFound:
      return grpc::Status(StatusCode::NOT_FOUND, s.message());
    case kiroku::StatusCode::kClosed:
      return grpc::Status(StatusCode::UNAVAILABLE, "Server Is Shutting Down: " + s.message());
    case kiroku::StatusCode::kAlreadyExists:
      return grpc::Status(StatusCode::ALREADY_EXISTS, s.message());
    case kiroku::StatusCode::kBusy:
      return grpc::Status(StatusCode::FAILED_PRECONDITION, s.message());
    case kiroku::StatusCode::kIOError:
    case kiroku::StatusCode::kCorruption:
      // ABORTED keeps the Rust client from dropping its connection (it does on INTERNAL);
      // the append or read was not done and may be retried.
      return grpc::Status(StatusCode::ABORTED, s.ToString());
  }
  return grpc::Status(StatusCode::ABORTED, s.ToString());
}

}  // namespace kiroku::server
