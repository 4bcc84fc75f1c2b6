// Repository<GroupChat> against both EventStore implementations: the embedded store (real
// store files in a temporary directory) and RemoteClient against a real `kiroku serve`
// process started for the suite. Every TEST_P runs once per backend.
//
//  - the group chat's rules (members only, authors only, a deleted chat rejects all);
//  - property: state from snapshot + tail == state from a full replay, for random command
//    sequences and several snapshot intervals;
//  - many threads commanding one aggregate: all succeed through conflict retries, nothing
//    lost, revisions contiguous;
//  - a snapshot whose schema version the codec does not know (or cannot decode) is ignored;
//  - keep-last-K and truncate-before-snapshot;
//  - catch-up subscriptions and OpenEventStore through the same interface.
#include "kiroku/aggregate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "aggregate/group_chat.h"
#include "kiroku/client.h"
#include "kiroku/event_store.h"
#include "support/process.h"
#include "support/test_dir.h"

namespace kiroku {
namespace {

using groupchat::GroupChat;
using testing::ServerProcess;
using testing::TestDir;
namespace gc = groupchat;

const std::string kBin = KIROKU_BIN;

enum class Backend { kEmbedded, kRemote };

std::string Unique(const std::string& prefix) {
  return prefix + EventId::Random().ToString().substr(0, 8);
}

// One store per backend for the whole suite; each test uses its own aggregate ids.
class Backends {
 public:
  static Backends& Get() {
    static Backends b;  // test-suite fixture state, created on first use
    return b;
  }
  EventStore* embedded() { return embedded_.get(); }
  EventStore* remote() { return remote_.get(); }
  const std::string& url() const { return url_; }
  const std::string& error() const { return error_; }
  TestDir& dir() { return dir_; }

 private:
  Backends() {
    auto e = OpenEventStore("embedded:" + dir_.Sub("embedded"));
    if (!e.ok()) {
      error_ = e.status().ToString();
      return;
    }
    embedded_ = std::move(e).value();
    server_ = std::make_unique<ServerProcess>(kBin, dir_.Sub("server"));
    if (!server_->Start(&error_)) return;
    url_ = server_->url();
    auto r = OpenEventStore(url_);
    if (!r.ok()) {
      error_ = r.status().ToString();
      return;
    }
    remote_ = std::move(r).value();
  }
  TestDir dir_;
  std::unique_ptr<EventStore> embedded_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<EventStore> remote_;
  std::string url_, error_;
};

class RepositoryTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    store_ =
        GetParam() == Backend::kEmbedded ? Backends::Get().embedded() : Backends::Get().remote();
    ASSERT_NE(store_, nullptr) << Backends::Get().error();
  }
  EventStore* store_ = nullptr;
};

using ChatRepository = Repository<GroupChat>;

// Handles a command that must be accepted.
void Accept(ChatRepository& repo, const std::string& id, const gc::Command& c) {
  auto r = repo.Handle(id, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_FALSE(r->rejected.has_value()) << r->rejected->code << ": " << r->rejected->message;
}

// Handles a command that must be rejected with `code`, and checks nothing was written.
void Reject(ChatRepository& repo, EventStore* store, const std::string& id, const gc::Command& c,
            const std::string& code) {
  auto before = store->ReadStream(ChatRepository::StreamOf(id), ReadStreamOptions{});
  auto r = repo.Handle(id, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->rejected.has_value()) << "expected " << code;
  EXPECT_EQ(r->rejected->code, code);
  EXPECT_EQ(r->events_written, 0u);
  auto after = store->ReadStream(ChatRepository::StreamOf(id), ReadStreamOptions{});
  ASSERT_EQ(before.ok(), after.ok());
  if (before.ok()) {
    EXPECT_EQ(before->size(), after->size());
  }
}

TEST_P(RepositoryTest, GroupChatRules) {
  ChatRepository repo(store_, RepositoryOptions{.snapshot_every = 4});
  const std::string id = Unique("rules-");
  Reject(repo, store_, id, gc::Post{"alice", "hi"}, "no_such_chat");
  Reject(repo, store_, id, gc::Create{"", "alice"}, "invalid_name");
  Accept(repo, id, gc::Create{"Team", "alice"});
  Reject(repo, store_, id, gc::Create{"Again", "alice"}, "already_exists");
  Reject(repo, store_, id, gc::Post{"bob", "let me in"}, "not_a_member");
  Reject(repo, store_, id, gc::AddMember{"carol", "bob"}, "not_a_member");
  Accept(repo, id, gc::AddMember{"bob", "alice"});
  Accept(repo, id, gc::Post{"bob", "hello"});  // message 0
  Accept(repo, id, gc::Post{"alice", "hey"});  // message 1
  Reject(repo, store_, id, gc::Edit{0, "hacked", "alice"}, "not_author");
  Accept(repo, id, gc::Edit{0, "hello all", "bob"});
  Reject(repo, store_, id, gc::DeleteMessage{0, "alice"}, "not_author");
  Accept(repo, id, gc::DeleteMessage{1, "alice"});
  Reject(repo, store_, id, gc::Edit{1, "undo", "alice"}, "no_such_message");
  Reject(repo, store_, id, gc::Post{"bob", ""}, "empty_message");
  Accept(repo, id, gc::Rename{"Team A", "bob"});
  // No-op commands are accepted without events.
  auto same = repo.Handle(id, gc::Rename{"Team A", "alice"});
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->rejected);
  EXPECT_EQ(same->events_written, 0u);
  Accept(repo, id, gc::RemoveMember{"bob", "alice"});
  Reject(repo, store_, id, gc::Post{"bob", "still here?"}, "not_a_member");
  Reject(repo, store_, id, gc::RemoveMember{"bob", "alice"}, "not_a_member");

  auto loaded = repo.Load(id);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const gc::State& s = loaded->state;
  EXPECT_EQ(s.name, "Team A");
  EXPECT_EQ(s.members, std::set<std::string>{"alice"});
  ASSERT_EQ(s.messages.size(), 2u);
  EXPECT_EQ(s.messages.at(0).text, "hello all");
  EXPECT_TRUE(s.messages.at(1).deleted);
  // created + added(alice) + added(bob) + 2 posts + edit + delete + rename + removed = 9
  EXPECT_EQ(loaded->revision, std::optional<StreamRevision>(StreamRevision(8)));
  // snapshot_every = 4: snapshots when the count reached 4 and 8 (revisions 3 and 7).
  EXPECT_EQ(loaded->snapshot_revision, std::optional<StreamRevision>(StreamRevision(7)));
  EXPECT_EQ(loaded->events_replayed, 1u);

  Accept(repo, id, gc::DeleteChat{"alice"});
  Reject(repo, store_, id, gc::Post{"alice", "anyone?"}, "chat_deleted");
  Reject(repo, store_, id, gc::Rename{"X", "alice"}, "chat_deleted");
  Reject(repo, store_, id, gc::AddMember{"dave", "alice"}, "chat_deleted");
  Reject(repo, store_, id, gc::Create{"Reborn", "alice"}, "chat_deleted");
  Reject(repo, store_, id, gc::DeleteChat{"alice"}, "chat_deleted");
}

// A random command: mostly valid, sometimes not (rejections must not disturb anything).
gc::Command RandomCommand(std::mt19937_64& rng, const gc::State& s) {
  static const char* kPeople[] = {"alice", "bob", "carol", "dave", "erin"};
  auto person = [&] { return std::string(kPeople[rng() % 5]); };
  auto msg_id = [&]() -> uint64_t { return s.next_message_id ? rng() % s.next_message_id : 0; };
  if (!s.created) return gc::Create{"room-" + std::to_string(rng() % 100), person()};
  switch (rng() % 20) {
    case 0:
      return gc::Rename{"name-" + std::to_string(rng() % 10), person()};
    case 1:
    case 2:
    case 3:
      return gc::AddMember{person(), person()};
    case 4:
      return gc::RemoveMember{person(), person()};
    case 5:
    case 6:
      return gc::Edit{msg_id(), "edited " + std::to_string(rng() % 1000), person()};
    case 7:
      return gc::DeleteMessage{msg_id(), person()};
    case 8:
      if (rng() % 10 == 0) return gc::DeleteChat{person()};
      [[fallthrough]];
    default:
      return gc::Post{person(), "msg \"" + std::to_string(rng()) + "\" \xe2\x9c\x93"};
  }
}

TEST_P(RepositoryTest, SnapshotPlusTailEqualsFullReplay) {
  const uint64_t intervals[] = {1, 2, 3, 5, 8, 13};
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    for (uint64_t every : intervals) {
      SCOPED_TRACE("seed " + std::to_string(seed) + ", snapshot every " + std::to_string(every));
      std::mt19937_64 rng(seed * 1000 + every);
      ChatRepository repo(store_, RepositoryOptions{.snapshot_every = every});
      const std::string id = Unique("prop-");
      gc::State model;  // what the aggregate should be, folded in memory
      uint64_t events = 0;
      for (int i = 0; i < 40; ++i) {
        gc::Command c = RandomCommand(rng, model);
        auto decision = GroupChat::Decide(model, c);
        auto r = repo.Handle(id, c);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        ASSERT_EQ(r->rejected.has_value(), decision.rejected());
        if (!decision.rejected()) {
          for (const auto& e : decision.events()) GroupChat::Apply(model, e);
          events += decision.events().size();
        }
        auto with = repo.Load(id);
        auto without = repo.LoadWithoutSnapshot(id);
        ASSERT_TRUE(with.ok()) << with.status().ToString();
        ASSERT_TRUE(without.ok()) << without.status().ToString();
        ASSERT_EQ(with->state, without->state) << "after command " << i;
        ASSERT_EQ(with->state, model) << "after command " << i;
        ASSERT_EQ(with->revision, without->revision);
        ASSERT_FALSE(with->snapshot_ignored);
        if (events >= every) {
          // The newest snapshot is at the last multiple-of-`every` crossing, so the tail is
          // shorter than one interval plus one command's events.
          ASSERT_TRUE(with->snapshot_revision.has_value()) << "after command " << i;
          EXPECT_LE(with->events_replayed, every + 2);
        } else {
          EXPECT_FALSE(with->snapshot_revision.has_value());
        }
        EXPECT_EQ(without->events_replayed, events);
      }
    }
  }
}

TEST_P(RepositoryTest, ManyThreadsOnOneAggregateLoseNothing) {
  RepositoryOptions o;
  o.snapshot_every = 7;
  o.max_attempts = 1000;  // bounded, but far beyond what 8 writers need
  ChatRepository repo(store_, o);
  const std::string id = Unique("busy-");
  Accept(repo, id, gc::Create{"Busy", "w0"});
  constexpr int kThreads = 8, kPerThread = 15;
  for (int w = 1; w < kThreads; ++w) {
    Accept(repo, id, gc::AddMember{"w" + std::to_string(w), "w0"});
  }
  std::atomic<int> failures{0}, retried{0};
  std::mutex failure_mu;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = repo.Handle(
            id, gc::Post{"w" + std::to_string(w), std::to_string(w) + "/" + std::to_string(i)});
        if (!r.ok() || r->rejected || r->events_written != 1) {
          std::lock_guard lock(failure_mu);
          if (failures++ == 0) {
            first_failure = !r.ok()       ? r.status().ToString()
                            : r->rejected ? r->rejected->code
                                          : "wrote " + std::to_string(r->events_written);
          }
        } else if (r->attempts > 1) {
          ++retried;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << first_failure;
  auto loaded = repo.Load(id);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const gc::State& s = loaded->state;
  ASSERT_EQ(s.messages.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> texts;
  std::map<std::string, int> last_seen;  // each writer's messages appear in its own order
  for (const auto& [mid, m] : s.messages) {
    EXPECT_EQ(mid, texts.size());
    texts.insert(m.text);
    const int i = std::stoi(m.text.substr(m.text.find('/') + 1));
    auto it = last_seen.find(m.author);
    if (it != last_seen.end()) {
      EXPECT_GT(i, it->second) << m.author;
    }
    last_seen[m.author] = i;
  }
  EXPECT_EQ(texts.size(), static_cast<size_t>(kThreads * kPerThread));
  // Revisions contiguous from 0: create + kThreads members + every post.
  auto events = store_->ReadStream(ChatRepository::StreamOf(id), ReadStreamOptions{});
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  const size_t expected = 1 + kThreads + kThreads * kPerThread;
  ASSERT_EQ(events->size(), expected);
  for (size_t i = 0; i < events->size(); ++i) EXPECT_EQ((*events)[i].revision.value, i);
  auto full = repo.LoadWithoutSnapshot(id);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->state, s);
  EXPECT_TRUE(loaded->snapshot_revision.has_value());
  std::cout << "[ info ] " << retried.load() << " of " << kThreads * kPerThread
            << " commands needed a retry\n";
}

TEST_P(RepositoryTest, UnknownOrUnreadableSnapshotIsIgnored) {
  using V1 = Repository<GroupChat, JsonEventCodec<gc::Event>, JsonSnapshotCodec<gc::State, 1>>;
  using V2 = Repository<GroupChat, JsonEventCodec<gc::Event>, JsonSnapshotCodec<gc::State, 2>>;
  V1 v1(store_, RepositoryOptions{.snapshot_every = 3});
  V2 v2(store_, RepositoryOptions{.snapshot_every = 3});
  const std::string id = Unique("schema-");
  ASSERT_TRUE(v1.Handle(id, gc::Create{"Old", "alice"}).ok());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(v1.Handle(id, gc::Post{"alice", "m"}).ok());
  auto old = v1.Load(id);
  ASSERT_TRUE(old.ok());
  ASSERT_TRUE(old->snapshot_revision.has_value());
  auto snap = store_->LoadSnapshot(V1::StreamOf(id), StreamRevision::End());
  ASSERT_TRUE(snap.ok() && snap->has_value());
  EXPECT_EQ((*snap)->schema_version, 1u);

  auto fresh = v2.Load(id);
  ASSERT_TRUE(fresh.ok()) << fresh.status().ToString();
  EXPECT_TRUE(fresh->snapshot_ignored);
  EXPECT_FALSE(fresh->snapshot_revision.has_value());
  EXPECT_EQ(fresh->events_replayed, 8u);  // full replay
  EXPECT_EQ(fresh->state, old->state);
  // v2 goes on and writes its own snapshots, which v2 then uses.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(v2.Handle(id, gc::Post{"alice", "n"}).ok());
  auto v2_again = v2.Load(id);
  ASSERT_TRUE(v2_again.ok());
  EXPECT_FALSE(v2_again->snapshot_ignored);
  EXPECT_TRUE(v2_again->snapshot_revision.has_value());

  // A snapshot with a known schema version but an unreadable payload is ignored too.
  auto head = v2_again->revision;
  ASSERT_TRUE(store_
                  ->AppendWithSnapshot(V2::StreamOf(id), ExpectedRevision::Exact(*head), {},
                                       SnapshotData{2, ContentType::kJson, "{not json"}, {})
                  .ok());
  auto garbled = v2.Load(id);
  ASSERT_TRUE(garbled.ok()) << garbled.status().ToString();
  EXPECT_TRUE(garbled->snapshot_ignored);
  EXPECT_EQ(garbled->state, v2_again->state);
}

TEST_P(RepositoryTest, KeepLastSnapshotsAndTruncateBefore) {
  RepositoryOptions o;
  o.snapshot_every = 2;
  o.keep_snapshots = 2;
  o.truncate_before_snapshot = true;
  ChatRepository repo(store_, o);
  const std::string id = Unique("trunc-");
  Accept(repo, id, gc::Create{"T", "alice"});  // 2 events: snapshot at revision 1
  for (int i = 0; i < 9; ++i) Accept(repo, id, gc::Post{"alice", std::to_string(i)});
  const std::string stream = ChatRepository::StreamOf(id);
  auto loaded = repo.Load(id);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->state.messages.size(), 9u);
  EXPECT_EQ(loaded->revision, std::optional<StreamRevision>(StreamRevision(10)));
  EXPECT_EQ(loaded->snapshot_revision, std::optional<StreamRevision>(StreamRevision(9)));
  // Only the newest 2 snapshots stay readable.
  auto snaps = store_->ReadStream(SnapshotStreamOf(stream), ReadStreamOptions{});
  ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
  EXPECT_EQ(snaps->size(), 2u);
  // The stream reads from the newest snapshot's revision on.
  auto events = store_->ReadStream(stream, ReadStreamOptions{});
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_EQ(events->front().revision.value, 9u);
  // Without the snapshot the history is gone, and Load says so instead of folding a part.
  auto partial = repo.LoadWithoutSnapshot(id);
  EXPECT_EQ(partial.status().code(), StatusCode::kCorruption);
}

TEST_P(RepositoryTest, CatchUpSubscriptionThroughEventStore) {
  ChatRepository repo(store_);
  const std::string id = Unique("sub-");
  Accept(repo, id, gc::Create{"S", "alice"});
  Accept(repo, id, gc::Post{"alice", "one"});
  SubscribeRequest req;
  req.stream = ChatRepository::StreamOf(id);
  std::vector<std::string> seen;
  bool caught_up = false;
  std::thread later;
  Status s = store_->Subscribe(req, [&](const SubscriptionMessage& m) {
    if (m.kind == SubscriptionMessage::Kind::kCaughtUp && !caught_up) {
      caught_up = true;
      EXPECT_EQ(seen.size(), 3u);  // ChatCreated, MemberAdded, MessagePosted
      later = std::thread([&] { Accept(repo, id, gc::Post{"alice", "live"}); });
    }
    if (m.kind == SubscriptionMessage::Kind::kEvent) seen.push_back(m.event.type);
    return seen.size() < 4;
  });
  if (later.joinable()) later.join();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(caught_up);
  EXPECT_EQ(seen, (std::vector<std::string>{"ChatCreated", "MemberAdded", "MessagePosted",
                                            "MessagePosted"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, RepositoryTest,
                         ::testing::Values(Backend::kEmbedded, Backend::kRemote),
                         [](const ::testing::TestParamInfo<Backend>& i) {
                           return i.param == Backend::kEmbedded ? "Embedded" : "Remote";
                         });

// ---- configuration: the same application code on either implementation ----

// What an application would write: it only knows a target string.
Result<gc::State> RunApp(const std::string& target, const std::string& id) {
  KIROKU_ASSIGN_OR_RETURN(std::unique_ptr<EventStore> store, OpenEventStore(target));
  ChatRepository repo(store.get(), RepositoryOptions{.snapshot_every = 2});
  KIROKU_RETURN_IF_ERROR(repo.Handle(id, gc::Create{"Cfg", "alice"}).status());
  KIROKU_RETURN_IF_ERROR(repo.Handle(id, gc::Post{"alice", "x"}).status());
  KIROKU_ASSIGN_OR_RETURN(auto loaded, repo.Load(id));
  return loaded.state;
}

TEST(OpenEventStoreTest, SameCodeEmbeddedOrRemote) {
  TestDir t;
  auto embedded = RunApp("embedded:" + t.Sub("app"), "cfg");
  ASSERT_TRUE(embedded.ok()) << embedded.status().ToString();
  ASSERT_NE(Backends::Get().remote(), nullptr) << Backends::Get().error();
  const std::string id = Unique("cfg-");
  auto remote = RunApp(Backends::Get().url(), id);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();
  EXPECT_EQ(*embedded, *remote);
  EXPECT_EQ(embedded->messages.size(), 1u);
  EXPECT_FALSE(OpenEventStore("embedded:").ok());
  EXPECT_EQ(OpenEventStore("http://nope").status().code(), StatusCode::kInvalidArgument);
}

// ---- transient errors: the remote client retries ----

TEST(RemoteRetryTest, RetriesUntilTheServerIsBack) {
  TestDir t;
  auto server = std::make_unique<ServerProcess>(kBin, t.Sub("data"));
  std::string err;
  ASSERT_TRUE(server->Start(&err)) << err;
  const int port = server->port();
  ASSERT_EQ(server->Stop(), 0);
  const std::string base = "esdb://127.0.0.1:" + std::to_string(port) + "?tls=false";
  // Without retries an append to a stopped server fails at once with a transient error.
  auto no_retry = RemoteClient::Connect(base + "&maxRetries=0");
  ASSERT_TRUE(no_retry.ok());
  EventData e;
  e.type = "T";
  e.data = "{}";
  auto failed = (*no_retry)->Append("r", ExpectedRevision::Any(), {e});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), StatusCode::kIOError);
  // With retries, the server coming back on the same port while the client backs off
  // (0.1 + 0.2 + 0.4 + ... s, up to ~25 s in all) lets the same call succeed.
  auto client = RemoteClient::Connect(base + "&maxRetries=8&retryBackoff=100");
  ASSERT_TRUE(client.ok());
  ServerProcess again(kBin, t.Sub("data"), {"--port", std::to_string(port)});
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::string e2;
    EXPECT_TRUE(again.Start(&e2)) << e2;
  });
  auto ok = (*client)->Append("r", ExpectedRevision::Any(), {e});
  restart.join();
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto read = (*client)->ReadStream("r", ReadStreamOptions{});
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->size(), 1u);  // retried, not duplicated
  again.Stop();
}

}  // namespace
}  // namespace kiroku
