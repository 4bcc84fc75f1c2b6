// Fault injection through the Env seam (FaultInjectionEnv): failed fsyncs, a full disk,
// short writes and power loss. The rule under test: an append that returned OK survives
// everything; one that failed leaves no trace, and the store carries on.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kiroku/env.h"
#include "common/fault_injection_env.h"
#include "kiroku/store.h"
#include "support/test_dir.h"

namespace kiroku {
namespace {

namespace fs = std::filesystem;
using ::kiroku::testing::CopyTree;
using ::kiroku::testing::TestDir;

// ---- helpers ----

EventData MakeEvent(const std::string& data) {
  EventData e;
  e.id = EventId::Random();
  e.type = "Tested";
  e.content_type = ContentType::kBinary;
  e.data = data;
  return e;
}

std::vector<EventData> One(const EventData& e) { return std::vector<EventData>{e}; }

std::unique_ptr<Store> OpenStore(const std::string& dir, StoreOptions options = {}) {
  auto r = Store::Open(dir, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

// Segment files of a store, oldest first.
std::vector<std::string> SegmentPaths(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir + "/log")) {
    if (e.path().extension() == ".log") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// path -> size of every segment file.
std::map<std::string, uint64_t> SegmentSizes(const std::string& dir) {
  std::map<std::string, uint64_t> out;
  for (const std::string& p : SegmentPaths(dir)) out[p] = fs::file_size(p);
  return out;
}

// An acknowledged event: where the store said it put it.
struct Acked {
  EventId id;
  std::string stream;
  uint64_t revision;
};

// Records the acknowledged events of an append of `events` that returned `r`.
void RecordAck(const std::vector<EventData>& events, const std::string& stream,
               const AppendResult& r, std::vector<Acked>* out) {
  const uint64_t first = r.current_revision.value + 1 - events.size();
  for (size_t i = 0; i < events.size(); ++i) out->push_back({events[i].id, stream, first + i});
}

// $all holds exactly the acknowledged events (in acknowledgement order when `ordered`), at
// the revisions the store gave; every stream reads back contiguous revisions from 0 that
// agree with $all; `never` ids are nowhere.
void ExpectExactly(Store* store, const std::vector<Acked>& acked, const std::set<EventId>& never,
                   bool ordered = true) {
  auto all = store->ReadAll(ReadAllOptions{});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_EQ(all->events.size(), acked.size());
  std::map<EventId, const Acked*> by_id;
  for (const Acked& a : acked) by_id[a.id] = &a;
  ASSERT_EQ(by_id.size(), acked.size()) << "duplicate ids acknowledged";
  std::map<std::string, std::vector<const RecordedEvent*>> streams;
  for (size_t i = 0; i < all->events.size(); ++i) {
    const RecordedEvent& e = all->events[i];
    EXPECT_EQ(never.count(e.id), 0u)
        << "a failed append's event is in the store: " << e.stream << "@" << e.revision.value;
    auto it = by_id.find(e.id);
    ASSERT_NE(it, by_id.end()) << "unknown event " << e.stream << "@" << e.revision.value;
    EXPECT_EQ(e.stream, it->second->stream);
    EXPECT_EQ(e.revision.value, it->second->revision) << e.stream;
    if (ordered) {
      EXPECT_EQ(e.id, acked[i].id) << "event " << i;
    }
    streams[e.stream].push_back(&e);
  }
  for (const auto& [name, events] : streams) {
    auto r = store->ReadStream(name, ReadStreamOptions{});
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    ASSERT_EQ(r->size(), events.size()) << name;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ((*r)[i].revision.value, i) << name;
      EXPECT_EQ((*r)[i].id, events[i]->id) << name << "@" << i;
      EXPECT_EQ((*r)[i].position, events[i]->position) << name << "@" << i;
    }
    auto head = store->StreamHead(name);
    ASSERT_TRUE(head.ok() && head->has_value()) << name;
    EXPECT_EQ((*head)->value, events.size() - 1) << name;
  }
}

void ExpectVerifies(const std::string& dir) {
  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const std::string& p : report->problems) ADD_FAILURE() << "verify: " << p;
  EXPECT_GT(report->records, 0u);
}

class FaultTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions o;
    o.env = &env_;
    return o;
  }

  TestDir tmp_;
  const std::string dir_ = tmp_.Sub("store");
  std::unique_ptr<Env> posix_ = NewPosixEnv();
  FaultInjectionEnv env_{posix_.get()};
};

// ---- failed fsync ----

TEST_F(FaultTest, FailedSyncFailsTheAppendAndLeavesNoTrace) {
  std::vector<Acked> acked;
  EventData failed = MakeEvent("will-not-be-durable");
  EventData good = MakeEvent("good");
  {
    auto store = OpenStore(dir_, Options());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 3; ++i) {
      EventData e = MakeEvent("e" + std::to_string(i));
      auto r = store->Append("s", ExpectedRevision::Any(), One(e));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      RecordAck(One(e), "s", *r, &acked);
    }
    const Position end_before = store->LogEnd();
    const auto sizes_before = SegmentSizes(dir_);

    env_.FailNextSyncs(1);
    auto r = store->Append("s", ExpectedRevision::Exact(StreamRevision(2)), One(failed));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
    EXPECT_NE(r.status().message().find("fdatasync"), std::string::npos) << r.status().ToString();
    EXPECT_EQ(store->Stats().sync_failures, 1u);

    // Nothing moved: not the log end, not the files, not the stream head.
    EXPECT_EQ(store->LogEnd(), end_before);
    EXPECT_EQ(SegmentSizes(dir_), sizes_before);
    auto head = store->StreamHead("s");
    ASSERT_TRUE(head.ok() && head->has_value());
    EXPECT_EQ((*head)->value, 2u);
    ExpectExactly(store.get(), acked, {failed.id});

    // The next append takes the revision the failed one would have had.
    auto ok = store->Append("s", ExpectedRevision::Exact(StreamRevision(2)), One(good));
    ASSERT_TRUE(ok.ok()) << ok.status().ToString();
    EXPECT_EQ(ok->current_revision.value, 3u);
    EXPECT_EQ(ok->position, end_before);
    RecordAck(One(good), "s", *ok, &acked);
    ExpectExactly(store.get(), acked, {failed.id});
  }
  auto store = OpenStore(dir_);
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), acked, {failed.id});
  // Re-sending the failed event writes it once, as new: it was never committed.
  auto again = store->Append("s", ExpectedRevision::Exact(StreamRevision(3)), One(failed));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->current_revision.value, 4u);
  RecordAck(One(failed), "s", *again, &acked);
  ExpectExactly(store.get(), acked, {});
  store.reset();
  ExpectVerifies(dir_);
}

// When even the truncation after a failed sync cannot be made durable, the store stops
// taking writes (reads go on); a restart recovers.
TEST_F(FaultTest, FailedCleanupAfterFailedSyncStopsWritesUntilReopen) {
  std::vector<Acked> acked;
  std::set<EventId> failed;
  {
    auto store = OpenStore(dir_, Options());
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 2; ++i) {
      EventData e = MakeEvent("e" + std::to_string(i));
      auto r = store->Append("s", ExpectedRevision::Any(), One(e));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      RecordAck(One(e), "s", *r, &acked);
    }
    env_.FailNextSyncs(2);  // the group's sync, then the sync of its truncation
    for (int i = 0; i < 3; ++i) {
      EventData e = MakeEvent("refused" + std::to_string(i));
      failed.insert(e.id);
      auto r = store->Append("s", ExpectedRevision::Any(), One(e));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
    }
    ExpectExactly(store.get(), acked, failed);
  }
  auto store = OpenStore(dir_, Options());
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), acked, failed);
  EventData e = MakeEvent("after-restart");
  auto r = store->Append("s", ExpectedRevision::Exact(StreamRevision(1)), One(e));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  RecordAck(One(e), "s", *r, &acked);
  ExpectExactly(store.get(), acked, failed);
}

// Many appenders, some blocking and some async, while syncs keep failing now and then
// (sometimes the sync before a segment roll): exactly the acknowledged events survive.
TEST_F(FaultTest, ConcurrentAppendersWhileSyncsFail) {
  StoreOptions options = Options();
  options.segment_size = 16 * 1024;
  constexpr int kThreads = 4;
  constexpr int kAppendsPerThread = 120;
  std::mutex mu;
  std::vector<Acked> acked;  // guarded by mu
  std::set<EventId> failed;  // guarded by mu
  std::atomic<int> failures{0};
  std::atomic<int> running{kThreads};
  int injected = 0;
  {
    auto store = OpenStore(dir_, options);
    ASSERT_NE(store, nullptr);
    auto on_result = [&](const std::vector<EventData>& events, const std::string& stream,
                         const Result<AppendResult>& r) {
      std::lock_guard lock(mu);
      if (r.ok()) {
        RecordAck(events, stream, *r, &acked);
      } else {
        EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
        for (const EventData& e : events) failed.insert(e.id);
        ++failures;
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kAppendsPerThread; ++i) {
          const std::string stream = "c-" + std::to_string((t + i) % 3);
          std::vector<EventData> events;
          for (int n = 0; n <= (i + t) % 4; ++n) {
            events.push_back(MakeEvent(std::string(40 + 13 * n, 'a' + t)));
          }
          if (t == 0) {
            // Async: callbacks run on the committer thread.
            std::promise<void> done;
            store->AppendAsync(stream, ExpectedRevision::Any(), events,
                               [&, events, stream](Result<AppendResult> r) {
                                 on_result(events, stream, r);
                                 done.set_value();
                               });
            done.get_future().wait();
          } else {
            on_result(events, stream, store->Append(stream, ExpectedRevision::Any(), events));
          }
        }
        --running;
      });
    }
    // Inject a failing sync, wait until some append has failed from it, repeat.
    while (running > 0 && injected < 25) {
      int seen = failures;
      env_.FailNextSyncs(1);
      ++injected;
      while (running > 0 && failures == seen) {
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    for (std::thread& th : threads) th.join();
    env_.FailNextSyncs(0);
    EXPECT_GT(failures.load(), 0);
    EXPECT_GT(acked.size(), 0u);
    ExpectExactly(store.get(), acked, failed, /*ordered=*/false);
  }
  ASSERT_GT(SegmentPaths(dir_).size(), 1u);
  auto store = OpenStore(dir_);
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), acked, failed, /*ordered=*/false);
  store.reset();
  ExpectVerifies(dir_);
}

// ---- full disk ----

TEST_F(FaultTest, NoSpaceFailsAppendsCleanlyAndWritesResumeWhenSpaceReturns) {
  std::vector<Acked> acked;
  std::set<EventId> failed;
  auto append = [&](Store* store, std::vector<EventData> events) -> Status {
    auto r = store->Append("s", ExpectedRevision::Any(), events);
    if (r.ok()) {
      RecordAck(events, "s", *r, &acked);
      return Status::Ok();
    }
    for (const EventData& e : events) failed.insert(e.id);
    return r.status();
  };
  {
    auto store = OpenStore(dir_, Options());
    ASSERT_NE(store, nullptr);
    const std::string data(100, 'd');
    uint64_t before = store->LogEnd().value;
    ASSERT_TRUE(append(store.get(), One(MakeEvent(data))).ok());
    const uint64_t record = store->LogEnd().value - before;  // every event here is this size
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(append(store.get(), One(MakeEvent(data))).ok());

    // Room for three more records and a bit: the fourth append hits the wall.
    env_.SetSpaceBudget(static_cast<int64_t>(3 * record + 10));
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(append(store.get(), One(MakeEvent(data))).ok());
    const Position end = store->LogEnd();
    const auto sizes = SegmentSizes(dir_);
    for (int i = 0; i < 3; ++i) {
      std::vector<EventData> events{MakeEvent(data)};
      if (i == 2) events.push_back(MakeEvent(data));  // a batch fails as a whole
      Status s = append(store.get(), events);
      ASSERT_FALSE(s.ok());
      EXPECT_EQ(s.code(), StatusCode::kIOError) << s.ToString();
      EXPECT_NE(s.message().find("No space left on device"), std::string::npos) << s.ToString();
      EXPECT_EQ(store->LogEnd(), end);
      EXPECT_EQ(SegmentSizes(dir_), sizes);  // the partial write was cut off
    }
    // Reads keep working, in every direction.
    ExpectExactly(store.get(), acked, failed);
    ReadAllOptions back;
    back.direction = Direction::kBackwards;
    back.from = Position::End();
    auto r = store->ReadAll(back);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->events.size(), acked.size());

    env_.SetSpaceBudget(-1);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(append(store.get(), One(MakeEvent(data))).ok());
    ASSERT_EQ(acked.size(), 12u);
    for (size_t i = 0; i < acked.size(); ++i) EXPECT_EQ(acked[i].revision, i);  // contiguous
    ExpectExactly(store.get(), acked, failed);
  }
  auto store = OpenStore(dir_);
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), acked, failed);
  store.reset();
  ExpectVerifies(dir_);
}

// The disk fills up while a new segment is being created (before, inside or just after its
// header). The append fails; with space back the store goes on, whether it keeps running or
// restarts with the half-made segment file on disk.
TEST_F(FaultTest, NoSpaceWhileRollingToANewSegment) {
  for (int64_t budget : {0, 10, 40}) {
    for (bool restart : {false, true}) {
      SCOPED_TRACE("budget " + std::to_string(budget) + (restart ? ", restart" : ", continue"));
      TestDir tmp;
      const std::string dir = tmp.Sub("store");
      StoreOptions options = Options();
      options.segment_size = 1024;
      std::vector<Acked> acked;
      std::set<EventId> failed;
      auto store = OpenStore(dir, options);
      ASSERT_NE(store, nullptr);
      for (int i = 0; fs::file_size(SegmentPaths(dir).back()) < options.segment_size; ++i) {
        EventData e = MakeEvent(std::string(60, 'x'));
        auto r = store->Append("s-" + std::to_string(i % 2), ExpectedRevision::Any(), One(e));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        RecordAck(One(e), "s-" + std::to_string(i % 2), *r, &acked);
      }
      const size_t segments = SegmentPaths(dir).size();
      env_.SetSpaceBudget(budget);
      EventData refused = MakeEvent("refused");
      failed.insert(refused.id);
      auto r = store->Append("s-0", ExpectedRevision::Any(), One(refused));
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
      EXPECT_NE(r.status().message().find("No space left on device"), std::string::npos)
          << r.status().ToString();
      ExpectExactly(store.get(), acked, failed);
      if (restart) {
        store.reset();
        // Whatever the failed roll left behind is at most a partial header.
        std::vector<std::string> segs = SegmentPaths(dir);
        ASSERT_GE(segs.size(), segments);
        if (segs.size() > segments) {
          EXPECT_LT(fs::file_size(segs.back()), static_cast<uint64_t>(budget) + 1);
        }
        env_.SetSpaceBudget(-1);
        store = OpenStore(dir, options);
        ASSERT_NE(store, nullptr);
        ExpectExactly(store.get(), acked, failed);
      } else {
        env_.SetSpaceBudget(-1);
      }
      for (int i = 0; i < 20; ++i) {
        EventData e = MakeEvent(std::string(60, 'y'));
        auto ok = store->Append("s-0", ExpectedRevision::Any(), One(e));
        ASSERT_TRUE(ok.ok()) << ok.status().ToString();
        RecordAck(One(e), "s-0", *ok, &acked);
      }
      EXPECT_GT(SegmentPaths(dir).size(), segments);
      store.reset();
      store = OpenStore(dir);
      ASSERT_NE(store, nullptr);
      ExpectExactly(store.get(), acked, failed);
      store.reset();
      ExpectVerifies(dir);
    }
  }
}

// ---- short writes ----

TEST_F(FaultTest, ShortWriteFailsTheAppendAndNothingPartialIsVisible) {
  std::vector<Acked> acked;
  std::set<EventId> failed;
  {
    auto store = OpenStore(dir_, Options());
    ASSERT_NE(store, nullptr);
    const std::string data(50, 'q');
    uint64_t before = store->LogEnd().value;
    EventData first = MakeEvent(data);
    auto r0 = store->Append("s", ExpectedRevision::NoStream(), One(first));
    ASSERT_TRUE(r0.ok()) << r0.status().ToString();
    RecordAck(One(first), "s", *r0, &acked);
    const uint64_t record = store->LogEnd().value - before;

    // Cuts inside the header, at its end, in the body, one byte short, and "all written
    // but reported as failed"; for one event and for a three-event batch.
    for (uint64_t k : {uint64_t{0}, uint64_t{1}, uint64_t{8}, uint64_t{9}, uint64_t{30}, record - 1,
                       record, record + 5, 2 * record + 3, 3 * record}) {
      for (size_t batch : {size_t{1}, size_t{3}}) {
        if (batch == 1 && k > record) continue;
        SCOPED_TRACE("short write after " + std::to_string(k) + " bytes, batch " +
                     std::to_string(batch));
        const Position end = store->LogEnd();
        const auto sizes = SegmentSizes(dir_);
        const uint64_t head = acked.back().revision;
        std::vector<EventData> events;
        for (size_t i = 0; i < batch; ++i) events.push_back(MakeEvent(data));
        env_.FailNextAppendAfter(k);
        auto r = store->Append("s", ExpectedRevision::Exact(StreamRevision(head)), events);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.status().code(), StatusCode::kIOError) << r.status().ToString();
        for (const EventData& e : events) failed.insert(e.id);
        EXPECT_EQ(store->LogEnd(), end);
        EXPECT_EQ(SegmentSizes(dir_), sizes);
        ExpectExactly(store.get(), acked, failed);
        // The same expected revision works on the next try.
        auto ok = store->Append("s", ExpectedRevision::Exact(StreamRevision(head)), events);
        ASSERT_TRUE(ok.ok()) << ok.status().ToString();
        for (const EventData& e : events) failed.erase(e.id);
        RecordAck(events, "s", *ok, &acked);
        EXPECT_EQ(ok->current_revision.value, head + batch);
      }
    }
    ExpectExactly(store.get(), acked, failed);
  }
  auto store = OpenStore(dir_);
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), acked, failed);
  store.reset();
  ExpectVerifies(dir_);
}

// ---- power loss ----

TEST_F(FaultTest, DropUnsyncedDataAfterCleanCloseLosesNothing) {
  StoreOptions options = Options();
  options.segment_size = 2048;
  std::vector<Acked> acked;
  {
    auto store = OpenStore(dir_, options);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 60; ++i) {
      std::vector<EventData> events;
      for (int n = 0; n <= i % 3; ++n) events.push_back(MakeEvent("p" + std::to_string(i)));
      const std::string stream = "p-" + std::to_string(i % 4);
      auto r = store->Append(stream, ExpectedRevision::Any(), events);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      RecordAck(events, stream, *r, &acked);
    }
  }
  const auto sizes = SegmentSizes(dir_);
  ASSERT_GT(sizes.size(), 2u);
  for (const auto& [path, size] : sizes) EXPECT_EQ(env_.SyncedSize(path), size) << path;
  ASSERT_TRUE(env_.DropUnsyncedData().ok());
  EXPECT_EQ(SegmentSizes(dir_), sizes);
  auto store = OpenStore(dir_);
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), acked, {});
  store.reset();
  ExpectVerifies(dir_);
}

// Power loss while the store runs: the directory is copied as it is on disk at that moment
// and each log file cut to what was synced (the page cache is gone). The index in the copy
// is whatever RocksDB had flushed, so the reopened store replays the log.
// - Syncing every group: every acknowledged event survives.
// - Syncing on an interval (that never comes): what survives is a prefix of the appends, up
//   to the last sync (segment rolls sync), and the store opens consistently.
TEST_F(FaultTest, PowerLossWhileRunning) {
  for (Durability durability : {Durability::kSyncEveryGroup, Durability::kSyncInterval}) {
    SCOPED_TRACE(DurabilityName(durability));
    TestDir tmp;
    const std::string dir = tmp.Sub("store"), crashed = tmp.Sub("crashed");
    StoreOptions options = Options();
    options.segment_size = 1024;
    std::vector<Acked> acked;
    {
      auto store = OpenStore(dir, options);  // an earlier, cleanly closed session
      ASSERT_NE(store, nullptr);
      for (int i = 0; i < 10; ++i) {
        EventData e = MakeEvent("early" + std::to_string(i));
        auto r = store->Append("p-" + std::to_string(i % 2), ExpectedRevision::Any(), One(e));
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        RecordAck(One(e), "p-" + std::to_string(i % 2), *r, &acked);
      }
    }
    const size_t early = acked.size();
    options.durability = durability;
    options.sync_interval = std::chrono::hours(1);
    {
      auto store = OpenStore(dir, options);
      ASSERT_NE(store, nullptr);
      for (int i = 0; i < 50; ++i) {
        std::vector<EventData> events;
        for (int n = 0; n <= i % 3; ++n) events.push_back(MakeEvent("late" + std::to_string(i)));
        const std::string stream = "p-" + std::to_string(i % 3);
        auto r = store->Append(stream, ExpectedRevision::Any(), events);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        RecordAck(events, stream, *r, &acked);
      }
      // The machine loses power now.
      CopyTree(dir, crashed);
      for (const std::string& path : SegmentPaths(dir)) {
        std::string copy = crashed + "/log/" + fs::path(path).filename().string();
        uint64_t synced = env_.SyncedSize(path);
        if (fs::file_size(copy) > synced) fs::resize_file(copy, synced);
      }
    }
    auto store = OpenStore(crashed);
    ASSERT_NE(store, nullptr);
    auto all = store->ReadAll(ReadAllOptions{});
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    const size_t survived = all->events.size();
    if (durability == Durability::kSyncEveryGroup) {
      EXPECT_EQ(survived, acked.size());
    } else {
      EXPECT_GE(survived, early);         // synced at the clean close
      EXPECT_LT(survived, acked.size());  // the unsynced tail is gone
      EXPECT_GT(survived, early);         // but what a roll synced is there
    }
    // What survived is exactly a prefix of the acknowledged appends.
    std::vector<Acked> prefix(acked.begin(), acked.begin() + static_cast<long>(survived));
    std::set<EventId> lost;
    for (size_t i = survived; i < acked.size(); ++i) lost.insert(acked[i].id);
    ExpectExactly(store.get(), prefix, lost);
    // And it goes on from there.
    EventData e = MakeEvent("after-power-loss");
    auto r = store->Append("p-0", ExpectedRevision::Any(), One(e));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    store.reset();
    ExpectVerifies(crashed);
  }
}

}  // namespace
}  // namespace kiroku
