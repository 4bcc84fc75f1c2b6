// Property test: many threads appending to overlapping streams with random expected
// revisions (and idempotent retries). Checks that every success had the right expected
// revision, revisions are contiguous, $all order equals commit order, and no event id is
// stored twice.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "kiroku/store.h"
#include "support/test_dir.h"

namespace kiroku {
namespace {

struct Outcome {
  std::string stream;
  ExpectedRevision expected = ExpectedRevision::Any();
  std::vector<EventId> ids;
  Result<AppendResult> result = Status::Closed("not run");
  int thread = 0;
  int seq = 0;  // order within the thread
};

TEST(ConcurrencyTest, OverlappingWritersKeepStreamsConsistent) {
  testing::TestDir dir;
  auto opened = Store::Open(dir.path());
  ASSERT_TRUE(opened.ok());
  std::unique_ptr<Store> store = std::move(opened).value();

  constexpr int kThreads = 8, kOpsPerThread = 250, kStreams = 12;
  std::vector<std::vector<Outcome>> per_thread(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(1000 + t);
      for (int i = 0; i < kOpsPerThread; ++i) {
        Outcome o;
        o.thread = t;
        o.seq = i;
        o.stream = "acct-" + std::to_string(rng() % kStreams);
        std::vector<EventData> batch;
        int n = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < n; ++k) {
          EventData e;
          e.id = EventId::Random();
          e.type = "Deposited";
          e.data = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
          o.ids.push_back(e.id);
          batch.push_back(std::move(e));
        }
        auto head = store->StreamHead(o.stream);
        ASSERT_TRUE(head.ok());
        switch (rng() % 5) {
          case 0:
            o.expected = ExpectedRevision::Any();
            break;
          case 1:
            o.expected = ExpectedRevision::NoStream();
            break;
          case 2:
            o.expected = ExpectedRevision::StreamExists();
            break;
          default:  // usually right, sometimes stale
            o.expected = *head ? ExpectedRevision::Exact(**head) : ExpectedRevision::NoStream();
        }
        o.result = store->Append(o.stream, o.expected, batch);
        if (o.result.ok() && rng() % 8 == 0) {
          // Client retry of an acknowledged append: must be a no-op success.
          auto retry = store->Append(o.stream, o.expected, batch);
          ASSERT_TRUE(retry.ok()) << retry.status().ToString();
          EXPECT_EQ(retry->current_revision, o.result->current_revision);
          EXPECT_EQ(retry->position, o.result->position);
        }
        per_thread[t].push_back(std::move(o));
      }
    });
  }
  for (auto& th : threads) th.join();

  auto check = [&](Store* s) {
    auto all = s->ReadAll({});
    ASSERT_TRUE(all.ok());
    std::set<EventId> seen_ids;
    std::map<std::string, uint64_t> next_rev;
    std::map<EventId, const RecordedEvent*> by_id;
    for (size_t i = 0; i < all->events.size(); ++i) {
      const auto& e = all->events[i];
      EXPECT_TRUE(seen_ids.insert(e.id).second) << "duplicate event id " << e.id.ToString();
      EXPECT_EQ(e.revision.value, next_rev[e.stream]++) << e.stream;
      if (i > 0) {
        EXPECT_LT(all->events[i - 1].position, e.position);
      }
      by_id[e.id] = &e;
    }
    size_t successes = 0, conflicts = 0;
    for (const auto& outcomes : per_thread) {
      Position last_position;
      for (const auto& o : outcomes) {
        if (!o.result.ok()) {
          ASSERT_EQ(o.result.status().code(), StatusCode::kWrongExpectedVersion)
              << o.result.status().ToString();
          ++conflicts;
          // Every id of a failed append is absent.
          for (const auto& id : o.ids) EXPECT_EQ(by_id.count(id), 0u);
          continue;
        }
        ++successes;
        // The batch is stored contiguously in the stream, in order, as acknowledged.
        const RecordedEvent* first = by_id.at(o.ids.front());
        for (size_t k = 0; k < o.ids.size(); ++k) {
          const RecordedEvent* e = by_id.at(o.ids[k]);
          EXPECT_EQ(e->stream, o.stream);
          EXPECT_EQ(e->revision.value, first->revision.value + k);
        }
        const RecordedEvent* last = by_id.at(o.ids.back());
        EXPECT_EQ(last->revision, o.result->current_revision);
        EXPECT_EQ(last->position, o.result->position);
        // The expected revision held at commit time.
        switch (o.expected.kind()) {
          case ExpectedRevision::Kind::kExact:
            EXPECT_EQ(first->revision.value, o.expected.revision().value + 1);
            break;
          case ExpectedRevision::Kind::kNoStream:
            EXPECT_EQ(first->revision.value, 0u);
            break;
          case ExpectedRevision::Kind::kStreamExists:
            EXPECT_GT(first->revision.value, 0u);
            break;
          case ExpectedRevision::Kind::kAny:
            break;
        }
        // Commit order: one thread's sequential appends land in increasing positions.
        EXPECT_LT(last_position, o.result->position);
        last_position = o.result->position;
      }
    }
    EXPECT_GT(successes, 100u);
    EXPECT_GT(conflicts, 10u);  // the workload really did contend
    size_t stored = 0;
    for (const auto& outcomes : per_thread)
      for (const auto& o : outcomes)
        if (o.result.ok()) stored += o.ids.size();
    EXPECT_EQ(stored, all->events.size());
  };
  check(store.get());
  store.reset();
  auto reopened = Store::Open(dir.path());
  ASSERT_TRUE(reopened.ok());
  check(reopened->get());
}

}  // namespace
}  // namespace kiroku
