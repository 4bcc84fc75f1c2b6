// ConsumerGroup on a real store, pumped by hand: the checkpoint covers only a finished
// prefix and survives a reload; retries end in the parked stream; a member that leaves
// gives its events to another; reset restarts delivery. (The gRPC side and the official
// client are tested in tests/node/persistent.test.mjs.)
#include "subscriptions/consumer_group.h"

#include <gtest/gtest.h>

#include <mutex>

#include "support/test_dir.h"

namespace kiroku {
namespace {

class RecordingMember final : public GroupMember {
 public:
  void Deliver(std::vector<GroupMessagePtr> messages) override {
    std::lock_guard lock(mu);
    for (auto& m : messages) got.push_back(std::move(m));
  }
  void Drop(const Status& why) override {
    std::lock_guard lock(mu);
    dropped = why.ToString();
  }
  std::vector<uint64_t> Revisions() {
    std::lock_guard lock(mu);
    std::vector<uint64_t> out;
    for (const auto& m : got) out.push_back(m->event.revision.value);
    return out;
  }
  std::mutex mu;
  std::vector<GroupMessagePtr> got;
  std::string dropped;
};

class ConsumerGroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Open(dir_.path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
    std::vector<EventData> events;
    for (int i = 0; i < 10; ++i) {
      EventData e;
      e.id = EventId::Random();
      e.type = "Tick";
      e.data = "{\"i\":" + std::to_string(i) + "}";
      events.push_back(e);
    }
    ASSERT_TRUE(store_->Append("orders-1", ExpectedRevision::Any(), events).ok());
    key_.stream = "orders-1";
    key_.group = "g";
    settings_.start = GroupStart{GroupStart::Kind::kStart, 0};
  }

  std::shared_ptr<ConsumerGroup> Make() {
    auto g = std::make_shared<ConsumerGroup>(store_.get(), key_, settings_, [] {});
    EXPECT_TRUE(g->Load().ok());
    return g;
  }
  static void PumpUntil(ConsumerGroup& g, const std::function<bool()>& done) {
    for (int i = 0; i < 2000 && !done(); ++i) {
      bool caught_up;
      if (!g.Pump(&caught_up)) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(done());
  }
  static EventId IdOf(RecordingMember& m, uint64_t revision) {
    std::lock_guard lock(m.mu);
    for (const auto& x : m.got) {
      if (x->event.revision.value == revision) return x->AckId();
    }
    ADD_FAILURE() << "revision " << revision << " was not delivered";
    return EventId();
  }

  testing::TestDir dir_;
  std::unique_ptr<Store> store_;
  GroupKey key_;
  GroupSettings settings_;
};

TEST_F(ConsumerGroupTest, CheckpointCoversOnlyTheFinishedPrefixAndSurvivesReload) {
  settings_.min_checkpoint_count = 1;
  settings_.max_checkpoint_count = 1;
  auto g = Make();
  auto m = std::make_shared<RecordingMember>();
  ASSERT_TRUE(g->Join(m, 100, "test", "").ok());
  PumpUntil(*g, [&] { return m->Revisions().size() == 10; });
  g->Ack(1, {IdOf(*m, 1), IdOf(*m, 2)});  // out of order: nothing before them is done
  bool caught_up;
  g->Pump(&caught_up);
  EXPECT_FALSE(g->Info().last_finished.has_value());
  g->Ack(1, {IdOf(*m, 0)});
  PumpUntil(*g, [&] { return g->Info().last_checkpointed == std::optional<uint64_t>(2); });
  g->Ack(1, {IdOf(*m, 4)});  // 3 still out
  ASSERT_TRUE(g->Flush().ok());
  g->Shutdown(Status::Closed("test"));

  auto again = Make();
  auto m2 = std::make_shared<RecordingMember>();
  ASSERT_TRUE(again->Join(m2, 100, "test", "").ok());
  PumpUntil(*again, [&] { return m2->Revisions().size() == 7; });
  EXPECT_EQ(m2->Revisions(), (std::vector<uint64_t>{3, 4, 5, 6, 7, 8, 9}));
}

TEST_F(ConsumerGroupTest, RetriesThenParksAndReplayDeliversAgain) {
  settings_.max_retry_count = 1;
  auto g = Make();
  auto m = std::make_shared<RecordingMember>();
  ASSERT_TRUE(g->Join(m, 1, "test", "").ok());  // one at a time: revision 0 first
  PumpUntil(*g, [&] { return m->Revisions().size() == 1; });
  g->Nack(1, {IdOf(*m, 0)}, NackAction::kRetry, "no");
  PumpUntil(*g, [&] { return m->Revisions().size() == 2; });
  {
    std::lock_guard lock(m->mu);
    EXPECT_EQ(m->got[1]->event.revision.value, 0u);
    EXPECT_EQ(m->got[1]->retry_count, 1);
  }
  g->Nack(1, {IdOf(*m, 0)}, NackAction::kRetry, "still no");  // retries exhausted: parked
  PumpUntil(*g, [&] { return g->Info().parked == 1; });
  auto parked = store_->ReadStream(key_.ParkedStream(), {});
  ASSERT_TRUE(parked.ok());
  ASSERT_EQ(parked->size(), 1u);
  EXPECT_EQ(parked->front().data, "0@orders-1");
  // Revision 1 is next; then the replay brings revision 0 back with its link.
  PumpUntil(*g, [&] { return m->Revisions().size() == 3; });
  EXPECT_EQ(m->Revisions()[2], 1u);
  ASSERT_TRUE(g->ReplayParked(std::nullopt).ok());
  g->Ack(1, {IdOf(*m, 1)});
  PumpUntil(*g, [&] { return m->Revisions().size() == 4; });
  {
    std::lock_guard lock(m->mu);
    EXPECT_EQ(m->got[3]->event.revision.value, 0u);
    ASSERT_TRUE(m->got[3]->link.has_value());
    g->Ack(1, {m->got[3]->AckId()});
  }
  PumpUntil(*g, [&] { return g->Info().parked == 0; });
}

TEST_F(ConsumerGroupTest, AMemberThatLeavesGivesItsEventsToAnother) {
  auto g = Make();
  auto a = std::make_shared<RecordingMember>();
  ASSERT_TRUE(g->Join(a, 5, "a", "").ok());
  PumpUntil(*g, [&] { return a->Revisions().size() == 5; });
  auto b = std::make_shared<RecordingMember>();
  ASSERT_TRUE(g->Join(b, 100, "b", "").ok());
  PumpUntil(*g, [&] { return b->Revisions().size() == 5; });  // 5..9
  g->Leave(1);
  PumpUntil(*g, [&] { return b->Revisions().size() == 10; });
  auto revs = b->Revisions();
  EXPECT_EQ(std::vector<uint64_t>(revs.begin() + 5, revs.end()),
            (std::vector<uint64_t>{0, 1, 2, 3, 4}));
  std::lock_guard lock(b->mu);
  for (size_t i = 5; i < 10; ++i) EXPECT_EQ(b->got[i]->retry_count, 1);
}

TEST_F(ConsumerGroupTest, ResetRestartsDeliveryAndIsDurable) {
  auto g = Make();
  auto m = std::make_shared<RecordingMember>();
  ASSERT_TRUE(g->Join(m, 100, "m", "").ok());
  PumpUntil(*g, [&] { return m->Revisions().size() == 10; });
  ASSERT_TRUE(g->Reset(GroupStart{GroupStart::Kind::kAt, 7}).ok());
  PumpUntil(*g, [&] { return m->Revisions().size() == 13; });
  auto revs = m->Revisions();
  EXPECT_EQ(std::vector<uint64_t>(revs.begin() + 10, revs.end()), (std::vector<uint64_t>{7, 8, 9}));
  g->Shutdown(Status::Closed("test"));
  // Nothing acked since the reset: a reload starts at 7 again.
  auto again = Make();
  auto m2 = std::make_shared<RecordingMember>();
  ASSERT_TRUE(again->Join(m2, 100, "m", "").ok());
  PumpUntil(*again, [&] { return m2->Revisions().size() == 3; });
  EXPECT_EQ(m2->Revisions(), (std::vector<uint64_t>{7, 8, 9}));
}

TEST_F(ConsumerGroupTest, MaxSubscriberCountRefusesExtraMembers) {
  settings_.max_subscriber_count = 1;
  auto g = Make();
  ASSERT_TRUE(g->Join(std::make_shared<RecordingMember>(), 10, "a", "").ok());
  auto second = g->Join(std::make_shared<RecordingMember>(), 10, "b", "");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kBusy);
}

}  // namespace
}  // namespace kiroku
