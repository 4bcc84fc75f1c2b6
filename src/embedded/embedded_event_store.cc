// EventStore over the embedded engine (event_store.h), and OpenEventStore, which picks the
// embedded or the remote implementation from a configuration string. This file links the
// engine (kiroku_subscriptions, kiroku_storage), so it is its own library, kiroku_embedded:
// the remote client (kiroku_client) stays free of the engine.
#include <memory>
#include <variant>

#include "kiroku/client.h"
#include "kiroku/event_store.h"
#include "subscriptions/catch_up_reader.h"

namespace kiroku {
namespace {

class EmbeddedEventStore final : public EventStore {
 public:
  EmbeddedEventStore(std::unique_ptr<Store> owned, Store* store)
      : owned_(std::move(owned)), store_(store) {}

  Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                              const std::vector<EventData>& events) override {
    return store_->Append(stream, expected, events);
  }
  Result<AppendResult> AppendWithSnapshot(const std::string& stream, ExpectedRevision expected,
                                          const std::vector<EventData>& events,
                                          const SnapshotData& snapshot,
                                          const SnapshotOptions& options) override {
    return store_->AppendWithSnapshot(stream, expected, events, snapshot, options);
  }
  Result<std::optional<StoredSnapshot>> LoadSnapshot(const std::string& stream,
                                                     StreamRevision at_or_below) override {
    return store_->LoadSnapshot(stream, at_or_below);
  }
  Result<std::vector<RecordedEvent>> ReadStream(const std::string& stream,
                                                const ReadStreamOptions& options) override {
    return store_->ReadStream(stream, options);
  }
  Result<ReadAllResult> ReadAll(const ReadAllOptions& options) override {
    return store_->ReadAll(options);
  }
  Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision expected) override {
    return store_->Delete(stream, expected);
  }
  Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision expected) override {
    return store_->Tombstone(stream, expected);
  }
  Result<StreamMetadataResult> GetStreamMetadata(const std::string& stream) override {
    return store_->GetStreamMetadata(stream);
  }
  Result<AppendResult> SetStreamMetadata(const std::string& stream, ExpectedRevision expected,
                                         const StreamMetadata& metadata) override {
    return store_->SetStreamMetadata(stream, expected, metadata);
  }

  // The same CatchUpReader the server's subscriptions use: history, then live, read from
  // the log at the subscriber's pace, with no gap or duplicate at the switch.
  Status Subscribe(const SubscribeRequest& request, const SubscriptionHandler& handler,
                   const std::atomic<bool>* stop) override {
    SubscriptionSource src;
    src.all = request.all;
    src.stream = request.stream;
    src.filter = request.filter;
    switch (request.start) {
      case SubscribeRequest::Start::kBeginning:
        src.start = SubscriptionSource::Start::kBeginning;
        break;
      case SubscribeRequest::Start::kEnd:
        src.start = SubscriptionSource::Start::kEnd;
        break;
      case SubscribeRequest::Start::kAfter:
        src.start = SubscriptionSource::Start::kAfter;
        src.from_position = request.after_position;
        src.from_revision = request.after_revision;
        break;
    }
    CatchUpReader reader(store_, src);
    bool caught_up_sent = false;
    const size_t checkpoint_every =
        32 * std::max<uint32_t>(1, request.checkpoint_interval_multiplier);
    while (stop == nullptr || !stop->load()) {
      KIROKU_ASSIGN_OR_RETURN(CatchUpBatch batch, reader.Next(256, 4096));
      for (RecordedEvent& e : batch.events) {
        SubscriptionMessage m;
        m.kind = SubscriptionMessage::Kind::kEvent;
        m.event = std::move(e);
        if (!handler(m)) return Status::Ok();
        if (stop != nullptr && stop->load()) return Status::Ok();
      }
      if (request.all && request.filter.target != EventFilter::Target::kNone && batch.checkpoint &&
          batch.scanned >= checkpoint_every) {
        SubscriptionMessage m;
        m.kind = SubscriptionMessage::Kind::kCheckpoint;
        m.checkpoint = *batch.checkpoint;
        if (!handler(m)) return Status::Ok();
      }
      if (batch.caught_up) {
        if (!caught_up_sent) {
          caught_up_sent = true;
          SubscriptionMessage m;
          m.kind = SubscriptionMessage::Kind::kCaughtUp;
          if (!handler(m)) return Status::Ok();
        }
        store_->WaitForAppend(reader.seen_log_end(), std::chrono::milliseconds(200));
      }
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<Store> owned_;
  Store* store_;
};

}  // namespace

std::unique_ptr<EventStore> NewEmbeddedEventStore(std::unique_ptr<Store> store) {
  Store* raw = store.get();
  return std::make_unique<EmbeddedEventStore>(std::move(store), raw);
}

std::unique_ptr<EventStore> NewEmbeddedEventStoreView(Store* store) {
  return std::make_unique<EmbeddedEventStore>(nullptr, store);
}

Result<std::unique_ptr<EventStore>> OpenEventStore(const std::string& target,
                                                   const StoreOptions& store_options) {
  constexpr std::string_view kEmbedded = "embedded:";
  if (target.starts_with(kEmbedded)) {
    std::string dir = target.substr(kEmbedded.size());
    if (dir.starts_with("//")) dir = dir.substr(2);
    if (dir.empty()) return Status::InvalidArgument("'" + target + "' names no directory");
    KIROKU_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(dir, store_options));
    return NewEmbeddedEventStore(std::move(store));
  }
  KIROKU_ASSIGN_OR_RETURN(std::unique_ptr<RemoteClient> client, RemoteClient::Connect(target));
  return std::unique_ptr<EventStore>(std::move(client));
}

}  // namespace kiroku
