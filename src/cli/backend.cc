#include "cli/backend.h"

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "subscriptions/catch_up_reader.h"

namespace kiroku::cli {
namespace {

class EmbeddedBackend final : public Backend {
 public:
  explicit EmbeddedBackend(std::unique_ptr<Store> s) : store_(std::move(s)) {}
  Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                              std::vector<EventData> events) override {
    return store_->Append(stream, expected, std::move(events));
  }
  Result<std::vector<RecordedEvent>> ReadStream(const std::string& stream,
                                                const ReadStreamOptions& o) override {
    return store_->ReadStream(stream, o);
  }
  Result<ReadAllResult> ReadAll(const ReadAllOptions& o) override { return store_->ReadAll(o); }
  Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision e) override {
    return store_->Delete(stream, e);
  }
  Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision e) override {
    return store_->Tombstone(stream, e);
  }
  Result<StreamMetadataResult> GetStreamMetadata(const std::string& stream) override {
    return store_->GetStreamMetadata(stream);
  }
  Result<AppendResult> SetStreamMetadata(const std::string& stream, ExpectedRevision e,
                                         const StreamMetadata& m) override {
    return store_->SetStreamMetadata(stream, e, m);
  }
  Status Subscribe(const SubscribeRequest& r,
                   const std::function<bool(const SubscriptionMessage&)>& handler,
                   const std::atomic<bool>* stop) override {
    SubscriptionSource src;
    src.all = r.all;
    src.stream = r.stream;
    src.filter = r.filter;
    src.start = r.start == SubscribeRequest::Start::kBeginning
                    ? SubscriptionSource::Start::kBeginning
                : r.start == SubscribeRequest::Start::kEnd ? SubscriptionSource::Start::kEnd
                                                           : SubscriptionSource::Start::kAfter;
    src.from_position = r.after_position;
    src.from_revision = r.after_revision;
    CatchUpReader reader(store_.get(), src);
    bool caught_up_sent = false;
    while (stop == nullptr || !stop->load()) {
      KIROKU_ASSIGN_OR_RETURN(CatchUpBatch b, reader.Next(256, 4096));
      for (auto& e : b.events) {
        SubscriptionMessage m;
        m.event = std::move(e);
        if (!handler(m)) return Status::Ok();
      }
      if (b.caught_up) {
        if (!caught_up_sent) {
          caught_up_sent = true;
          SubscriptionMessage m;
          m.kind = SubscriptionMessage::Kind::kCaughtUp;
          if (!handler(m)) return Status::Ok();
        }
        if (b.events.empty()) {
          store_->WaitForAppend(reader.seen_log_end(), std::chrono::milliseconds(200));
        }
      }
    }
    return Status::Ok();
  }

 private:
  std::unique_ptr<Store> store_;
};

class RemoteBackend final : public Backend {
 public:
  explicit RemoteBackend(std::unique_ptr<RemoteClient> c) : c_(std::move(c)) {}
  Result<AppendResult> Append(const std::string& stream, ExpectedRevision expected,
                              std::vector<EventData> events) override {
    return c_->Append(stream, expected, events);
  }
  Result<std::vector<RecordedEvent>> ReadStream(const std::string& stream,
                                                const ReadStreamOptions& o) override {
    return c_->ReadStream(stream, o);
  }
  Result<ReadAllResult> ReadAll(const ReadAllOptions& o) override { return c_->ReadAll(o); }
  Result<DeleteResult> Delete(const std::string& stream, ExpectedRevision e) override {
    return c_->Delete(stream, e);
  }
  Result<DeleteResult> Tombstone(const std::string& stream, ExpectedRevision e) override {
    return c_->Tombstone(stream, e);
  }
  Result<StreamMetadataResult> GetStreamMetadata(const std::string& stream) override {
    return c_->GetStreamMetadata(stream);
  }
  Result<AppendResult> SetStreamMetadata(const std::string& stream, ExpectedRevision e,
                                         const StreamMetadata& m) override {
    return c_->SetStreamMetadata(stream, e, m);
  }
  Status Subscribe(const SubscribeRequest& r,
                   const std::function<bool(const SubscriptionMessage&)>& handler,
                   const std::atomic<bool>* stop) override {
    return c_->Subscribe(r, handler, stop);
  }

 private:
  std::unique_ptr<RemoteClient> c_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenBackend(const BackendFlags& f) {
  if (!f.url.empty()) {
    KIROKU_ASSIGN_OR_RETURN(auto client, RemoteClient::Connect(f.url));
    return std::unique_ptr<Backend>(new RemoteBackend(std::move(client)));
  }
  if (f.data_dir.empty()) {
    return Status::InvalidArgument(
        "give --url esdb://host:2113?tls=false (a server) or --data DIR (embedded)");
  }
  KIROKU_ASSIGN_OR_RETURN(auto store, OpenStoreForCli(f.data_dir, f.durability));
  return std::unique_ptr<Backend>(new EmbeddedBackend(std::move(store)));
}

void AddBackendFlags(CLI::App* cmd, BackendFlags* flags) {
  cmd->add_option("--url", flags->url,
                  "Server connection string, e.g. esdb://127.0.0.1:2113?tls=false")
      ->envname("KIROKU_URL");
  cmd->add_option("--data", flags->data_dir, "Data directory of an embedded store (no server)");
  cmd->add_option("--durability", flags->durability, "Embedded: sync | interval | none")
      ->default_val("sync");
}

}  // namespace kiroku::cli
