// Conversions between kiroku's engine types and the KurrentDB client protocol messages,
// and the mapping of engine errors to what the official clients expect (gRPC status +
// `exception` trailers; see docs/protocol/kurrentdb-grpc.md section 2).
#pragma once

#include <grpcpp/grpcpp.h>

#include <optional>
#include <string>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "kiroku/store.h"
#include "persistent.pb.h"
#include "shared.pb.h"
#include "streams.pb.h"

namespace kiroku::server {

namespace pb = ::event_store::client;
namespace spb = ::event_store::client::streams;

// UUID messages in either form.
std::optional<EventId> FromProtoUuid(const pb::UUID& u);
void ToProtoUuid(const EventId& id, bool structured, pb::UUID* out);

// 100 ns ticks since the Unix epoch, as the clients' "created" metadata and gossip use.
int64_t UnixMicrosToTicks(int64_t us);

// Fills a ReadResp.ReadEvent.RecordedEvent from a stored event.
void ToProtoRecorded(const RecordedEvent& e, bool structured_uuid,
                     spb::ReadResp::ReadEvent::RecordedEvent* out);
// The same for persistent subscriptions' copy of the message.
void ToProtoRecorded(
    const RecordedEvent& e, bool structured_uuid,
    ::event_store::client::persistent_subscriptions::ReadResp::ReadEvent::RecordedEvent* out);

// A proposed message -> EventData. Errors mirror the server's: missing "type" or
// "content-type" is INVALID_ARGUMENT with exception missing-required-metadata-property.
struct ProposedError {
  grpc::Status status;
  std::string missing;  // "type,content-type" style list, when that is the error
};
template <typename Proposed>
std::optional<ProposedError> FromProposed(const Proposed& m, EventData* out);

// The signed "expected-version" value of the trailers: revision, or -1 no stream,
// -2 any, -4 stream exists.
int64_t ExpectedVersionNumber(ExpectedRevision e);

// Status -> gRPC status, adding the clients' trailers to `ctx`. `stream` names the stream
// for stream-deleted / wrong-expected-version trailers.
grpc::Status ToGrpcStatus(const Status& s, grpc::ServerContextBase* ctx, const std::string& stream,
                          ExpectedRevision expected, uint64_t max_append_size);

}  // namespace kiroku::server
