// Streams.Read: reads with a count, and catch-up subscriptions (history, then live).
//
// One message is written at a time; the next page is read from the store only after the
// previous writes completed, so a slow client costs the server one page of memory, never
// more (gRPC flow control pushes back). A caught-up subscription parks in the LiveHub and
// holds no thread until the log grows.
//
// The call is served through the generic (bidi) callback API and answers only after the
// client has half-closed. With the generated server-streaming API the reactor may finish
// before the client's END_STREAM arrives; gRPC core then sends RST_STREAM(NO_ERROR), and
// the Rust client inside @kurrent/kurrentdb-client (which does every read) sometimes turns
// that into a failed read (UnavailableError). KurrentDB (grpc-dotnet) reads a request body
// to its end before running a handler, so its clients never see such a reset.
#pragma once

#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/codegen/proto_utils.h>

#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "server/server_context.h"
#include "streams.pb.h"
#include "subscriptions/catch_up_reader.h"

namespace kiroku::server {

class ReadReactor final : public grpc::ServerGenericBidiReactor {
 public:
  ReadReactor(const ServerDeps& deps, grpc::CallbackServerContext* ctx);
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  using ReadResp = event_store::client::streams::ReadResp;
  struct WakeHandle {
    std::recursive_mutex mu;
    ReadReactor* reactor;  // null once the reactor is done
  };

  // Parses the request; returns a non-OK status to finish with.
  grpc::Status Setup();
  // Runs once the request is in and the client has half-closed.
  void Start();
  // Writes the next queued message, refilling the queue from the store; or parks; or
  // finishes. Called with mu_ held, never while a write is in flight.
  void Step();
  grpc::Status FillReadPage();
  grpc::Status FillSubscription(bool* park);
  void Enqueue(const RecordedEvent& e);
  void EnqueueCheckpoint(Position p);
  void OnWake(bool live);
  void FinishOnce(const grpc::Status& s);

  ServerDeps deps_;
  grpc::CallbackServerContext* ctx_;
  event_store::client::streams::ReadReq req_;
  bool got_request_ = false;
  grpc::ByteBuffer in_;   // the request
  grpc::ByteBuffer out_;  // the message being written
  std::recursive_mutex mu_;
  std::deque<ReadResp> queue_;
  bool writing_ = false, parked_ = false, finished_ = false, cancelled_ = false;
  std::shared_ptr<WakeHandle> handle_;

  // Request, parsed.
  bool subscription_ = false;
  bool all_ = false;
  bool structured_uuid_ = false;
  bool resolve_links_ = false;
  std::string stream_;
  Direction direction_ = Direction::kForwards;
  uint64_t remaining_ = 0;  // count reads
  EventFilter filter_;
  uint64_t checkpoint_interval_ = 0;  // filtered $all subscriptions: records per checkpoint
  // Count reads: where the next page starts.
  StreamRevision next_revision_;
  Position next_position_;
  bool done_reading_ = false;
  // Subscriptions.
  std::unique_ptr<CatchUpReader> catch_up_;
  bool sent_caught_up_ = false;
  std::optional<uint64_t> last_revision_sent_;
  std::optional<Position> last_checkpoint_;
  uint64_t scanned_since_checkpoint_ = 0;  // live filtered $all: records since the last one
  bool checked_metastream_ = false;        // `$$X` reads: X's tombstone was checked
  bool counted_subscription_ = false;      // counted in subscriptions_active
};

}  // namespace kiroku::server
