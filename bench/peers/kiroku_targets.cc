// kiroku as a peer-benchmark target: the embedded store (Store, in this process) and a
// `kiroku serve` over gRPC (RemoteClient). Both append with ExpectedRevision::NoStream() /
// Exact(n), read `$all` with ReadAll in pages, and catch up with EventStore::Subscribe.
#include <atomic>
#include <mutex>
#include <optional>
#include <vector>

#include "event_payload.h"
#include "kiroku/client.h"
#include "kiroku/event_store.h"
#include "kiroku/store.h"
#include "peer_target.h"

namespace kiroku::bench::peers {
namespace {

ExpectedRevision ExpectedOf(const StreamHead& h) {
  return h.version < 0 ? ExpectedRevision::NoStream()
                       : ExpectedRevision::Exact(StreamRevision(static_cast<uint64_t>(h.version)));
}

std::vector<EventData> Events(int count, const std::string& payload) {
  std::vector<EventData> v(static_cast<size_t>(count));
  for (EventData& e : v) {
    e.id = EventId::Random();
    e.type = "LessonCompleted";
    e.content_type = ContentType::kJson;
    e.data = payload;
  }
  return v;
}

Result<StreamHead> HeadAfter(const Result<AppendResult>& r) {
  if (!r.ok()) return r.status();
  return StreamHead{static_cast<int64_t>(r->current_revision.value), 0};
}

// Reads `$all` forwards in pages through any EventStore-like ReadAll.
template <typename ReadAllFn>
Status ReadPages(uint64_t limit, uint64_t page, const ReadVisitor& visit, ReadAllFn read_all) {
  ReadAllOptions o;
  o.from = Position::Start();
  uint64_t seen = 0;
  std::optional<Position> last;
  while (seen < limit) {
    // +1: a remote page starts with the previous page's last event again (see below).
    o.max_count = std::min(page, limit - seen) + (last ? 1 : 0);
    Result<ReadAllResult> r = read_all(o);
    if (!r.ok()) return r.status();
    uint64_t fresh = 0;
    for (const RecordedEvent& e : r->events) {
      // RemoteClient's `next` is the last event's position, which a forwards read returns
      // again (the protocol has no exclusive start); the embedded store's is past it.
      if (last && e.position <= *last) continue;
      if (seen + fresh == limit) break;
      visit(ReadEvent{e.position.value, e.stream, e.type, e.data});
      last = e.position;
      ++fresh;
    }
    seen += fresh;
    o.from = r->next;
    if (fresh == 0) break;
  }
  if (seen < limit) {
    return Status::NotFound("$all ended after " + std::to_string(seen) + " events");
  }
  return Status::Ok();
}

Status CatchUpAll(EventStore* store, uint64_t limit, const ReadVisitor& visit) {
  SubscribeRequest req;
  req.all = true;
  req.start = SubscribeRequest::Start::kBeginning;
  uint64_t seen = 0;
  Status s = store->Subscribe(req, [&](const SubscriptionMessage& m) {
    if (m.kind != SubscriptionMessage::Kind::kEvent) return true;
    visit(ReadEvent{m.event.position.value, m.event.stream, m.event.type, m.event.data});
    return ++seen < limit;
  });
  if (!s.ok()) return s;
  if (seen < limit) return Status::NotFound("subscription ended after " + std::to_string(seen));
  return Status::Ok();
}

class EmbeddedWriter : public PeerWriter {
 public:
  EmbeddedWriter(Store* store, const std::string& payload) : store_(store), payload_(payload) {}
  Result<StreamHead> Append(const std::string& stream, const StreamHead& expected,
                            int count) override {
    return HeadAfter(store_->Append(stream, ExpectedOf(expected), Events(count, payload_)));
  }

 private:
  Store* store_;
  const std::string& payload_;
};

class KirokuEmbedded : public PeerTarget {
 public:
  KirokuEmbedded(std::unique_ptr<Store> store, int payload_bytes)
      : store_(std::move(store)),
        events_(NewEmbeddedEventStoreView(store_.get())),
        payload_(JsonPayload(payload_bytes)) {}

  Result<std::unique_ptr<PeerWriter>> NewWriter() override {
    return std::unique_ptr<PeerWriter>(new EmbeddedWriter(store_.get(), payload_));
  }
  Status ReadAll(uint64_t limit, uint64_t page, const ReadVisitor& visit) override {
    return ReadPages(limit, page, visit,
                     [&](const ReadAllOptions& o) { return store_->ReadAll(o); });
  }
  Status CatchUp(uint64_t limit, const ReadVisitor& visit) override {
    return CatchUpAll(events_.get(), limit, visit);
  }
  Result<DurabilityInfo> Durability() override {
    return DurabilityInfo{"fdatasync per commit group",
                          "Durability::kSyncEveryGroup: the committer fdatasyncs each group of "
                          "appends before acknowledging any of them",
                          true};
  }
  std::string Notes() const override {
    return "Store in this process; Append with ExpectedRevision NoStream/Exact; ReadAll pages; "
           "EventStore::Subscribe($all) for catch-up";
  }

 private:
  std::unique_ptr<Store> store_;
  std::unique_ptr<EventStore> events_;
  std::string payload_;
};

class GrpcWriter : public PeerWriter {
 public:
  GrpcWriter(RemoteClient* client, const std::string& payload)
      : client_(client), payload_(payload) {}
  Result<StreamHead> Append(const std::string& stream, const StreamHead& expected,
                            int count) override {
    return HeadAfter(client_->Append(stream, ExpectedOf(expected), Events(count, payload_)));
  }

 private:
  RemoteClient* client_;
  const std::string& payload_;
};

class KirokuGrpc : public PeerTarget {
 public:
  KirokuGrpc(std::vector<std::unique_ptr<RemoteClient>> clients, int payload_bytes)
      : clients_(std::move(clients)), payload_(JsonPayload(payload_bytes)) {}

  Result<std::unique_ptr<PeerWriter>> NewWriter() override {
    RemoteClient* c = clients_[next_.fetch_add(1) % clients_.size()].get();
    return std::unique_ptr<PeerWriter>(new GrpcWriter(c, payload_));
  }
  Status ReadAll(uint64_t limit, uint64_t page, const ReadVisitor& visit) override {
    return ReadPages(limit, page, visit,
                     [&](const ReadAllOptions& o) { return clients_[0]->ReadAll(o); });
  }
  Status CatchUp(uint64_t limit, const ReadVisitor& visit) override {
    return CatchUpAll(clients_[0].get(), limit, visit);
  }
  Result<DurabilityInfo> Durability() override {
    return DurabilityInfo{"fdatasync per commit group",
                          "kiroku serve --durability sync: fdatasync of each commit group "
                          "before the append's response",
                          true};
  }
  std::string Notes() const override {
    return "kiroku serve on loopback, RemoteClient (KurrentDB gRPC protocol), " +
           std::to_string(clients_.size()) +
           " channels shared by the writers; Append with expected revision; ReadAll pages; "
           "Subscribe($all) for catch-up";
  }

 private:
  std::vector<std::unique_ptr<RemoteClient>> clients_;
  std::atomic<size_t> next_{0};
  std::string payload_;
};

}  // namespace

Result<std::unique_ptr<PeerTarget>> OpenKirokuEmbedded(const TargetOptions& o) {
  if (o.kiroku_dir.empty()) return Status::InvalidArgument("kiroku-embedded needs --kiroku-dir");
  StoreOptions so;
  so.durability = Durability::kSyncEveryGroup;
  auto store = Store::Open(o.kiroku_dir, so);
  if (!store.ok()) return store.status();
  return std::unique_ptr<PeerTarget>(new KirokuEmbedded(std::move(store).value(), o.payload_bytes));
}

Result<std::unique_ptr<PeerTarget>> OpenKirokuGrpc(const TargetOptions& o) {
  if (o.url.empty()) return Status::InvalidArgument("kiroku-grpc needs --url esdb://...");
  std::vector<std::unique_ptr<RemoteClient>> clients;
  for (int i = 0; i < std::max(o.connections, 1); ++i) {
    auto c = RemoteClient::Connect(o.url);
    if (!c.ok()) return c.status();
    clients.push_back(std::move(c).value());
  }
  return std::unique_ptr<PeerTarget>(new KirokuGrpc(std::move(clients), o.payload_bytes));
}

}  // namespace kiroku::bench::peers
