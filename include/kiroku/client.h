// A C++ client for a kiroku (or KurrentDB) server over the KurrentDB gRPC client protocol.
// Same value types as the embedded store (event.h, store.h), so code can move between
// embedded and remote. Connection strings as the official clients: esdb://host:2113?tls=false.
//
// Thread-safety: one RemoteClient may be used from many threads at once (gRPC channels
// multiplex). Each call has the connection string's defaultDeadline unless it streams.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku {

// What a catch-up subscription delivers to its handler, in order.
struct SubscriptionMessage {
  enum class Kind { kEvent, kCaughtUp, kCheckpoint } kind = Kind::kEvent;
  RecordedEvent event;  // kEvent
  Position checkpoint;  // kCheckpoint
};

struct SubscribeRequest {
  bool all = false;
  std::string stream;  // when !all
  EventFilter filter;  // when all
  // Exclusive start, as in KurrentDB: kAfter delivers events after the given revision or
  // position; kBeginning from the first; kEnd only new ones.
  enum class Start { kBeginning, kEnd, kAfter } start = Start::kBeginning;
  StreamRevision after_revision;
  Position after_position;
  uint32_t checkpoint_interval_multiplier = 1;  // filtered $all
};

class RemoteClient {
 public:
  // Parses the connection string and creates the channel (it connects lazily).
  static Result<std::unique_ptr<RemoteClient>> Connect(const std::string& connection_string);
  virtual ~RemoteClient() = default;

  virtual Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                                      const std::vector<EventData>& events) = 0;
  virtual Result<std::vector<RecordedEvent>> ReadStream(const std::string& stream,
                                                        const ReadStreamOptions& options) = 0;
  virtual Result<ReadAllResult> ReadAll(const ReadAllOptions& options) = 0;
  virtual Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision expected) = 0;
  virtual Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision expected) = 0;
  virtual Result<StreamMetadataResult> GetStreamMetadata(const std::string& stream) = 0;
  virtual Result<AppendResult> SetStreamMetadata(const std::string& stream,
                                                 ExpectedRevision expected,
                                                 const StreamMetadata& metadata) = 0;
  // Runs a catch-up subscription on the calling thread until the handler returns false,
  // `stop` becomes true (checked at least every 200 ms), or the server ends it (the
  // returned Status says why; OK for a requested stop).
  virtual Status Subscribe(const SubscribeRequest& request,
                           const std::function<bool(const SubscriptionMessage&)>& handler,
                           const std::atomic<bool>* stop = nullptr) = 0;
};

}  // namespace kiroku
