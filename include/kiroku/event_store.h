// EventStore: the one interface an application codes against, implemented by the embedded
// store (an adapter over kiroku::Store, library kiroku_embedded) and by the remote client
// (RemoteClient in client.h, library kiroku_client). OpenEventStore picks one from a
// configuration string, so moving from embedded to a server is a configuration change:
//
//   OpenEventStore("embedded:/var/lib/app/events")      // in-process store in that directory
//   OpenEventStore("esdb://events.internal:2113?tls=false&maxRetries=5")  // a kiroku server
//
// Semantics are those of store.h for both implementations: atomic appends with expected
// revisions, idempotent retries by event id, snapshots written in the same transaction as
// the events they cover (AppendWithSnapshot), catch-up subscriptions without gap or
// duplicate at the switch to live.
//
// Thread-safety: every method may be called from any number of threads at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
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

using SubscriptionHandler = std::function<bool(const SubscriptionMessage&)>;

class EventStore {
 public:
  virtual ~EventStore() = default;

  // Atomic append with optimistic concurrency (store.h). Events with a nil id get a random
  // one; give ids yourself to make a retried append idempotent.
  virtual Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                                      const std::vector<EventData>& events) = 0;
  // Append plus a snapshot of the stream's state as of its last event after the append, in
  // one atomic transaction (Store::AppendWithSnapshot). `events` may be empty.
  virtual Result<AppendResult> AppendWithSnapshot(const std::string& stream,
                                                  ExpectedRevision expected,
                                                  const std::vector<EventData>& events,
                                                  const SnapshotData& snapshot,
                                                  const SnapshotOptions& options) = 0;
  // The newest snapshot covering a revision <= at_or_below; nullopt if none.
  virtual Result<std::optional<StoredSnapshot>> LoadSnapshot(const std::string& stream,
                                                             StreamRevision at_or_below) = 0;
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
  // `stop` becomes true (checked at least every 200 ms), or the source ends it (the
  // returned Status says why; OK for a requested stop).
  virtual Status Subscribe(const SubscribeRequest& request, const SubscriptionHandler& handler,
                           const std::atomic<bool>* stop = nullptr) = 0;
};

// ---- the embedded implementation (link kiroku_embedded) ----

// An EventStore over an open embedded store; owns it.
std::unique_ptr<EventStore> NewEmbeddedEventStore(std::unique_ptr<Store> store);
// As above, borrowing `store`, which must outlive the result.
std::unique_ptr<EventStore> NewEmbeddedEventStoreView(Store* store);

// Opens an EventStore from configuration (link kiroku_embedded, which brings both):
//  - "embedded:<dir>" (or "embedded://<dir>"): Store::Open(dir, store_options);
//  - any connection string RemoteClient::Connect accepts (esdb://, kurrentdb://, ...).
Result<std::unique_ptr<EventStore>> OpenEventStore(const std::string& target,
                                                   const StoreOptions& store_options = {});

}  // namespace kiroku
