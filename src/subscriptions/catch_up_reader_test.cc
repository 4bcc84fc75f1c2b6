// Catch-up then live while appends race the switch: every event exactly once, in order.
#include "subscriptions/catch_up_reader.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "support/test_dir.h"

namespace kiroku {
namespace {

EventData Ev(const std::string& type, int i) {
  EventData e;
  e.id = EventId::Random();
  e.type = type;
  e.data = "{\"i\":" + std::to_string(i) + "}";
  return e;
}

class CatchUpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.path());
    ASSERT_TRUE(s.ok());
    store_ = std::move(s).value();
  }
  // Appends `total` events in random batches to streams a-0..a-4 (type Even/Odd by index).
  void Writer(int total, int start_index) {
    int i = start_index;
    unsigned seed = 7;
    while (i < start_index + total) {
      int n = 1 + static_cast<int>((seed = seed * 1103515245 + 12345) >> 16) % 7;
      n = std::min(n, start_index + total - i);
      std::vector<EventData> batch;
      for (int k = 0; k < n; ++k, ++i) batch.push_back(Ev(i % 2 ? "Odd" : "Even", i));
      ASSERT_TRUE(
          store_->Append("a-" + std::to_string(i % 5), ExpectedRevision::Any(), batch).ok());
      if (i % 50 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
  // Reads until `want` events arrived; returns them.
  std::vector<RecordedEvent> Subscribe(SubscriptionSource src, size_t want, size_t batch) {
    CatchUpReader reader(store_.get(), std::move(src));
    std::vector<RecordedEvent> got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
      auto b = reader.Next(std::min(batch, want - got.size()), 1000);
      EXPECT_TRUE(b.ok()) << b.status().ToString();
      if (!b.ok()) break;
      for (auto& e : b->events) got.push_back(std::move(e));
      if (b->caught_up && b->events.empty()) {
        store_->WaitForAppend(reader.seen_log_end(), std::chrono::milliseconds(100));
      }
    }
    return got;
  }

  testing::TestDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(CatchUpTest, AllStreamRacingAppendsExactlyOnceInOrder) {
  Writer(500, 0);  // history
  std::thread writer([&] { Writer(3000, 500); });
  SubscriptionSource src;
  src.all = true;
  auto got = Subscribe(src, 3500, 64);
  writer.join();
  ASSERT_EQ(got.size(), 3500u);
  auto all = store_->ReadAll({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->events.size(), got.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, all->events[i].id) << i;
    if (i > 0) {
      EXPECT_LT(got[i - 1].position, got[i].position);
    }
  }
}

TEST_F(CatchUpTest, FilteredAllAndResumeAfterPosition) {
  std::thread writer([&] { Writer(2000, 0); });
  SubscriptionSource src;
  src.all = true;
  src.filter = EventFilter::EventTypePrefix({"Odd"});
  auto odd = Subscribe(src, 1000, 33);
  writer.join();
  ASSERT_EQ(odd.size(), 1000u);
  for (auto& e : odd) EXPECT_EQ(e.type, "Odd");
  // Resume after the 500th odd event: exactly the remaining 500.
  SubscriptionSource resume = src;
  resume.start = SubscriptionSource::Start::kAfter;
  resume.from_position = odd[499].position;
  auto rest = Subscribe(resume, 500, 50);
  ASSERT_EQ(rest.size(), 500u);
  EXPECT_EQ(rest.front().id, odd[500].id);
  EXPECT_EQ(rest.back().id, odd.back().id);
}

TEST_F(CatchUpTest, StreamSubscriptionFromStartAndFromEnd) {
  Writer(100, 0);
  auto head = store_->StreamHead("a-3");
  ASSERT_TRUE(head.ok() && head->has_value());
  const uint64_t first_live = (*head)->value + 1;
  SubscriptionSource from_end;
  from_end.stream = "a-3";
  from_end.start = SubscriptionSource::Start::kEnd;
  std::vector<RecordedEvent> live;
  std::thread sub([&] { live = Subscribe(from_end, 200, 10); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  Writer(1000, 100);
  sub.join();
  ASSERT_EQ(live.size(), 200u);
  EXPECT_EQ(live.front().revision.value, first_live);
  for (size_t i = 1; i < live.size(); ++i) {
    EXPECT_EQ(live[i].revision.value, live[i - 1].revision.value + 1);
  }
  SubscriptionSource from_start;
  from_start.stream = "a-3";
  auto all = Subscribe(from_start, first_live + 200, 7);
  ASSERT_EQ(all.size(), first_live + 200);
  EXPECT_EQ(all[first_live].id, live[0].id);
}

TEST_F(CatchUpTest, SubscriptionToMissingStreamWaitsForIt) {
  SubscriptionSource src;
  src.stream = "later";
  std::vector<RecordedEvent> got;
  std::thread sub([&] { got = Subscribe(src, 3, 10); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(
      store_->Append("later", ExpectedRevision::NoStream(), {Ev("X", 0), Ev("X", 1), Ev("X", 2)})
          .ok());
  sub.join();
  EXPECT_EQ(got.size(), 3u);
}

TEST_F(CatchUpTest, TombstonedStreamEndsWithStreamDeleted) {
  ASSERT_TRUE(store_->Append("gone", ExpectedRevision::Any(), {Ev("X", 0)}).ok());
  ASSERT_TRUE(store_->Tombstone("gone", ExpectedRevision::Any()).ok());
  SubscriptionSource src;
  src.stream = "gone";
  CatchUpReader reader(store_.get(), src);
  auto b = reader.Next(10, 100);
  EXPECT_EQ(b.status().code(), StatusCode::kStreamDeleted);
}

}  // namespace
}  // namespace kiroku
