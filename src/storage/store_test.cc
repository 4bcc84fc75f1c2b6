// Store API semantics: appends with every expected-revision mode, idempotent retries,
// reads in both directions, $all filters, metadata, soft delete and tombstone, bad input,
// persistence across reopen.
#include "kiroku/store.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "support/test_dir.h"

namespace kiroku {
namespace {

using testing::TestDir;

EventData Ev(std::string type, std::string data = "{}") {
  EventData e;
  e.id = EventId::Random();
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

std::vector<EventData> Evs(int n, const std::string& type = "T") {
  std::vector<EventData> v;
  for (int i = 0; i < n; ++i) v.push_back(Ev(type, "{\"i\":" + std::to_string(i) + "}"));
  return v;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto s = Store::Open(dir_.path(), options_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  std::vector<uint64_t> Revisions(const std::string& stream, ReadStreamOptions o = {}) {
    auto r = store_->ReadStream(stream, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::vector<uint64_t> revs;
    if (r.ok())
      for (auto& e : *r) revs.push_back(e.revision.value);
    return revs;
  }

  TestDir dir_;
  StoreOptions options_;
  std::unique_ptr<Store> store_;
};

TEST_F(StoreTest, AppendAndReadBack) {
  auto events = Evs(3);
  auto ids = std::vector<EventId>{events[0].id, events[1].id, events[2].id};
  auto r = store_->Append("order-1", ExpectedRevision::NoStream(), events);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->current_revision, StreamRevision(2));
  auto read = store_->ReadStream("order-1", {});
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*read)[i].id, ids[i]);
    EXPECT_EQ((*read)[i].revision.value, static_cast<uint64_t>(i));
    EXPECT_EQ((*read)[i].stream, "order-1");
    EXPECT_EQ((*read)[i].type, "T");
    EXPECT_EQ((*read)[i].data, "{\"i\":" + std::to_string(i) + "}");
    EXPECT_GT((*read)[i].created_us, 0);
  }
  EXPECT_EQ(read->back().position, r->position);
  EXPECT_LT((*read)[0].position, (*read)[1].position);
}

TEST_F(StoreTest, ExpectedRevisionModes) {
  // no_stream on a new stream succeeds, then fails with the actual revision.
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::NoStream(), Evs(2)).ok());
  auto r = store_->Append("s", ExpectedRevision::NoStream(), Evs(1));
  ASSERT_EQ(r.status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(r.status().actual_revision(), std::optional<uint64_t>(1));
  // exact
  EXPECT_EQ(store_->Append("s", ExpectedRevision::Exact(StreamRevision(0)), Evs(1)).status().code(),
            StatusCode::kWrongExpectedVersion);
  auto ok = store_->Append("s", ExpectedRevision::Exact(StreamRevision(1)), Evs(1));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->current_revision, StreamRevision(2));
  // stream_exists
  EXPECT_TRUE(store_->Append("s", ExpectedRevision::StreamExists(), Evs(1)).ok());
  auto missing = store_->Append("nope", ExpectedRevision::StreamExists(), Evs(1));
  ASSERT_EQ(missing.status().code(), StatusCode::kWrongExpectedVersion);
  EXPECT_EQ(missing.status().actual_revision(), std::nullopt);
  auto exact_missing = store_->Append("nope", ExpectedRevision::Exact(StreamRevision(0)), Evs(1));
  EXPECT_EQ(exact_missing.status().code(), StatusCode::kWrongExpectedVersion);
  // any
  auto any = store_->Append("s", ExpectedRevision::Any(), Evs(2));
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->current_revision, StreamRevision(5));
  EXPECT_EQ(Revisions("s"), (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
}

TEST_F(StoreTest, IdempotentRetrySameExpectedRevision) {
  auto batch = Evs(3);
  auto first = store_->Append("s", ExpectedRevision::NoStream(), batch);
  ASSERT_TRUE(first.ok());
  // Same ids, same expected revision: success, nothing written twice.
  auto again = store_->Append("s", ExpectedRevision::NoStream(), batch);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->current_revision, first->current_revision);
  EXPECT_EQ(again->position, first->position);
  auto more = Evs(2);
  auto second = store_->Append("s", ExpectedRevision::Exact(StreamRevision(2)), more);
  ASSERT_TRUE(second.ok());
  auto retry = store_->Append("s", ExpectedRevision::Exact(StreamRevision(2)), more);
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ(retry->current_revision, StreamRevision(4));
  // Retry with kAny is idempotent too.
  auto any_batch = Evs(2);
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), any_batch).ok());
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), any_batch).ok());
  EXPECT_EQ(Revisions("s").size(), 7u);
  // Same revision, different ids: a real conflict.
  auto other = store_->Append("s", ExpectedRevision::Exact(StreamRevision(2)), Evs(2));
  EXPECT_EQ(other.status().code(), StatusCode::kWrongExpectedVersion);
  // Retry survives a reopen (ids are in the log).
  Reopen();
  auto after = store_->Append("s", ExpectedRevision::Exact(StreamRevision(2)), more);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(Revisions("s").size(), 7u);
}

TEST_F(StoreTest, ReadStreamDirectionsAndCounts) {
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(3)).ok());
  ASSERT_TRUE(store_->Append("other", ExpectedRevision::Any(), Evs(2)).ok());
  ReadStreamOptions f;
  f.from = StreamRevision(4);
  f.max_count = 5;
  EXPECT_EQ(Revisions("s", f), (std::vector<uint64_t>{4, 5, 6, 7, 8}));
  ReadStreamOptions b;
  b.direction = Direction::kBackwards;
  b.from = StreamRevision::End();
  b.max_count = 4;
  EXPECT_EQ(Revisions("s", b), (std::vector<uint64_t>{14, 13, 12, 11}));
  b.from = StreamRevision(4);
  b.max_count = 100;
  EXPECT_EQ(Revisions("s", b), (std::vector<uint64_t>{4, 3, 2, 1, 0}));
  f.from = StreamRevision(15);
  EXPECT_TRUE(Revisions("s", f).empty());
  auto missing = store_->ReadStream("missing", {});
  EXPECT_EQ(missing.status().code(), StatusCode::kStreamNotFound);
}

TEST_F(StoreTest, ReadAllOrderFiltersAndPaging) {
  ASSERT_TRUE(store_->Append("learner-1", ExpectedRevision::Any(), {Ev("Joined")}).ok());
  ASSERT_TRUE(store_->Append("group-1", ExpectedRevision::Any(), {Ev("Created")}).ok());
  ASSERT_TRUE(
      store_->Append("learner-2", ExpectedRevision::Any(), {Ev("Joined"), Ev("Lesson")}).ok());
  ReadAllOptions o;
  auto all = store_->ReadAll(o);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->events.size(), 4u);
  EXPECT_TRUE(all->end_of_log);
  for (size_t i = 1; i < all->events.size(); ++i) {
    EXPECT_LT(all->events[i - 1].position, all->events[i].position);
  }
  auto names = [](const ReadAllResult& r) {
    std::vector<std::string> v;
    for (auto& e : r.events) v.push_back(e.stream + "/" + e.type);
    return v;
  };
  o.filter = EventFilter::StreamPrefix({"learner-"});
  EXPECT_EQ(names(*store_->ReadAll(o)),
            (std::vector<std::string>{"learner-1/Joined", "learner-2/Joined", "learner-2/Lesson"}));
  o.filter = EventFilter::EventTypePrefix({"Les", "Cre"});
  EXPECT_EQ(names(*store_->ReadAll(o)),
            (std::vector<std::string>{"group-1/Created", "learner-2/Lesson"}));
  o.filter = EventFilter::StreamRegex("^group-\\d+$");
  EXPECT_EQ(names(*store_->ReadAll(o)), (std::vector<std::string>{"group-1/Created"}));
  o.filter = EventFilter::EventTypeRegex("Join");
  EXPECT_EQ(names(*store_->ReadAll(o)).size(), 2u);
  o.filter = EventFilter::EventTypeRegex("(unclosed");
  EXPECT_EQ(store_->ReadAll(o).status().code(), StatusCode::kInvalidArgument);

  // Paging forwards with `next`, and backwards.
  ReadAllOptions page;
  page.max_count = 3;
  auto p1 = store_->ReadAll(page);
  ASSERT_EQ(p1->events.size(), 3u);
  page.from = p1->next;
  auto p2 = store_->ReadAll(page);
  ASSERT_EQ(p2->events.size(), 1u);
  EXPECT_EQ(p2->events[0].position, all->events[3].position);
  ReadAllOptions back;
  back.direction = Direction::kBackwards;
  back.from = Position::End();
  back.max_count = 3;
  auto b1 = store_->ReadAll(back);
  ASSERT_EQ(b1->events.size(), 3u);
  EXPECT_EQ(b1->events[0].position, all->events[3].position);
  EXPECT_EQ(b1->events[2].position, all->events[1].position);
  back.from = b1->next;
  auto b2 = store_->ReadAll(back);
  ASSERT_EQ(b2->events.size(), 1u);
  EXPECT_EQ(b2->events[0].position, all->events[0].position);
  // From a position that is not an event's.
  ReadAllOptions bad;
  bad.from = Position(all->events[1].position.value + 3);
  EXPECT_EQ(store_->ReadAll(bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, BackwardsAllAcrossSegmentsAndSparseEntries) {
  options_.segment_size = 64 * 1024;
  Reopen();
  const std::string payload(900, 'x');
  int total = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<EventData> batch;
    for (int j = 0; j < 1 + i % 4; ++j) batch.push_back(Ev("T", "\"" + payload + "\""));
    total += static_cast<int>(batch.size());
    ASSERT_TRUE(store_->Append("s-" + std::to_string(i % 7), ExpectedRevision::Any(), batch).ok());
  }
  EXPECT_GT(store_->Stats().segments, 3u);
  auto fwd = store_->ReadAll({});
  ASSERT_TRUE(fwd.ok());
  ASSERT_EQ(fwd->events.size(), static_cast<size_t>(total));
  ReadAllOptions back;
  back.direction = Direction::kBackwards;
  back.from = Position::End();
  back.max_count = 37;
  std::vector<Position> seen;
  while (true) {
    auto r = store_->ReadAll(back);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (auto& e : r->events) seen.push_back(e.position);
    if (r->events.size() < back.max_count) break;
    back.from = r->next;
  }
  ASSERT_EQ(seen.size(), fwd->events.size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i], fwd->events[fwd->events.size() - 1 - i].position);
  }
  Reopen();
  EXPECT_EQ(store_->ReadAll({})->events.size(), static_cast<size_t>(total));
}

TEST_F(StoreTest, MetadataMaxCountTruncateBeforeMaxAge) {
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(10)).ok());
  StreamMetadata m;
  m.max_count = 3;
  m.custom_json = R"({"owner":"team-a"})";
  auto set = store_->SetStreamMetadata("s", ExpectedRevision::NoStream(), m);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(Revisions("s"), (std::vector<uint64_t>{7, 8, 9}));
  auto got = store_->GetStreamMetadata("s");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metadata, m);
  EXPECT_EQ(got->metastream_revision, StreamRevision(0));
  // Wrong expected revision on the metadata stream.
  EXPECT_EQ(store_->SetStreamMetadata("s", ExpectedRevision::NoStream(), m).status().code(),
            StatusCode::kWrongExpectedVersion);
  StreamMetadata tb;
  tb.truncate_before = StreamRevision(5);
  ASSERT_TRUE(store_->SetStreamMetadata("s", ExpectedRevision::Exact(StreamRevision(0)), tb).ok());
  EXPECT_EQ(Revisions("s"), (std::vector<uint64_t>{5, 6, 7, 8, 9}));
  ReadStreamOptions b;
  b.direction = Direction::kBackwards;
  b.from = StreamRevision::End();
  EXPECT_EQ(Revisions("s", b), (std::vector<uint64_t>{9, 8, 7, 6, 5}));
  StreamMetadata age;
  age.max_age = std::chrono::seconds(1);
  ASSERT_TRUE(store_->SetStreamMetadata("s", ExpectedRevision::Any(), age).ok());
  EXPECT_EQ(Revisions("s").size(), 10u);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(Revisions("s").empty());
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(1)).ok());
  EXPECT_EQ(Revisions("s"), (std::vector<uint64_t>{10}));
  // Metadata survives reopen.
  Reopen();
  EXPECT_EQ(store_->GetStreamMetadata("s")->metadata, age);
  // Invalid metadata documents are rejected.
  EXPECT_EQ(
      store_->Append("$$s", ExpectedRevision::Any(), {Ev("$metadata", "not json")}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Append("$$s", ExpectedRevision::Any(), {Ev("$metadata", R"({"$maxCount":-1})")})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, SoftDeleteThenRecreate) {
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(3)).ok());
  StreamMetadata m;
  m.custom_json = R"({"k":1})";
  ASSERT_TRUE(store_->SetStreamMetadata("s", ExpectedRevision::Any(), m).ok());
  EXPECT_EQ(store_->Delete("s", ExpectedRevision::Exact(StreamRevision(1))).status().code(),
            StatusCode::kWrongExpectedVersion);
  ASSERT_TRUE(store_->Delete("s", ExpectedRevision::Exact(StreamRevision(2))).ok());
  EXPECT_EQ(store_->ReadStream("s", {}).status().code(), StatusCode::kStreamNotFound);
  Reopen();
  EXPECT_EQ(store_->ReadStream("s", {}).status().code(), StatusCode::kStreamNotFound);
  // Appending again continues the revisions; old events stay hidden; custom metadata kept.
  auto r = store_->Append("s", ExpectedRevision::NoStream(), Evs(2));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->current_revision, StreamRevision(4));
  EXPECT_EQ(Revisions("s"), (std::vector<uint64_t>{3, 4}));
  auto meta = store_->GetStreamMetadata("s");
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta->metadata.truncate_before, StreamRevision(3));
  EXPECT_EQ(meta->metadata.custom_json, R"({"k":1})");
  // $all still holds every event (soft delete hides, it does not erase).
  ReadAllOptions o;
  o.filter = EventFilter::StreamRegex("^s$");
  EXPECT_EQ(store_->ReadAll(o)->events.size(), 5u);
}

TEST_F(StoreTest, TombstoneIsForever) {
  ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(2)).ok());
  EXPECT_EQ(store_->Tombstone("s", ExpectedRevision::NoStream()).status().code(),
            StatusCode::kWrongExpectedVersion);
  ASSERT_TRUE(store_->Tombstone("s", ExpectedRevision::Any()).ok());
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(store_->ReadStream("s", {}).status().code(), StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->Append("s", ExpectedRevision::Any(), Evs(1)).status().code(),
              StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->Append("s", ExpectedRevision::NoStream(), Evs(1)).status().code(),
              StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->Delete("s", ExpectedRevision::Any()).status().code(),
              StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->Tombstone("s", ExpectedRevision::Any()).status().code(),
              StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->GetStreamMetadata("s").status().code(), StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->ReadStream("$$s", {}).status().code(), StatusCode::kStreamDeleted);
    EXPECT_EQ(store_->SetStreamMetadata("s", ExpectedRevision::Any(), {}).status().code(),
              StatusCode::kStreamDeleted);
    Reopen();
  }
  // The tombstone event is in $all with KurrentDB's type.
  auto all = store_->ReadAll({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->events.back().type, "$streamDeleted");
}

TEST_F(StoreTest, BadInputIsInvalidArgument) {
  auto code = [&](std::string_view stream, std::vector<EventData> ev) {
    return store_->Append(stream, ExpectedRevision::Any(), std::move(ev)).status().code();
  };
  EXPECT_EQ(code("", Evs(1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(std::string(5000, 'a'), Evs(1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("bad\xff\xfe", Evs(1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("overlong\xc0\xaf", Evs(1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("s", {}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("s", {Ev("")}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("s", {Ev("bad\xff")}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code("$all", Evs(1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(std::string("nul\0x", 5), Evs(1)), StatusCode::kInvalidArgument);
  // Default event size limit is 16 MiB.
  EXPECT_EQ(code("s", {Ev("Big", std::string((16u << 20) + 1, 'x'))}),
            StatusCode::kInvalidArgument);
  auto status =
      store_->Append("s", ExpectedRevision::Any(), {Ev("Big", std::string(17u << 20, 'x'))})
          .status();
  EXPECT_NE(status.message().find("maximum event size"), std::string::npos) << status.ToString();
  // UTF-8 names and a large-but-legal event are fine.
  EXPECT_TRUE(store_->Append("学習-1", ExpectedRevision::Any(), Evs(1)).ok());
  EXPECT_TRUE(
      store_->Append("s", ExpectedRevision::Any(), {Ev("Big", std::string(1u << 20, 'x'))}).ok());
  // Nothing invalid was written.
  EXPECT_EQ(store_->ReadAll({})->events.size(), 2u);
}

TEST_F(StoreTest, ConfigurableSizeLimits) {
  options_.max_event_size = 1000;
  options_.max_append_size = 2500;
  Reopen();
  EXPECT_EQ(store_->Append("s", ExpectedRevision::Any(), {Ev("T", std::string(1001, 'x'))})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  std::vector<EventData> three;
  for (int i = 0; i < 3; ++i) three.push_back(Ev("T", std::string(900, 'x')));
  EXPECT_EQ(store_->Append("s", ExpectedRevision::Any(), three).status().code(),
            StatusCode::kMaximumAppendSizeExceeded);
  three.pop_back();
  EXPECT_TRUE(store_->Append("s", ExpectedRevision::Any(), three).ok());
}

TEST_F(StoreTest, PersistsAcrossReopenAndSegments) {
  options_.segment_size = 8192;
  Reopen();
  std::vector<EventId> ids;
  for (int i = 0; i < 200; ++i) {
    auto batch = Evs(1 + i % 5);
    for (auto& e : batch) ids.push_back(e.id);
    ASSERT_TRUE(store_->Append("s-" + std::to_string(i % 13), ExpectedRevision::Any(), batch).ok());
  }
  uint64_t segments = store_->Stats().segments;
  EXPECT_GT(segments, 3u);
  Position end = store_->LogEnd();
  Reopen();
  EXPECT_EQ(store_->LogEnd(), end);
  EXPECT_EQ(store_->Stats().segments, segments);
  auto all = store_->ReadAll({});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->events.size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(all->events[i].id, ids[i]);
  // Reopen again with paranoid checks: every segment verified.
  options_.paranoid_checks = true;
  Reopen();
  EXPECT_EQ(store_->ReadAll({})->events.size(), ids.size());
  store_.reset();
  auto report = VerifyStore(dir_.path());
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->records, ids.size());
}

TEST_F(StoreTest, SecondOpenOfSameDirectoryFails) {
  auto second = Store::Open(dir_.path());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("locked"), std::string::npos);
}

TEST_F(StoreTest, AsyncAppendsCompleteInOrderPerStream) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0;
  std::vector<uint64_t> revs(100);
  for (int i = 0; i < 100; ++i) {
    store_->AppendAsync("s", ExpectedRevision::Any(), Evs(1), [&, i](Result<AppendResult> r) {
      std::lock_guard lock(mu);
      ASSERT_TRUE(r.ok());
      revs[i] = r->current_revision.value;
      ++done;
      cv.notify_all();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done == 100; });
  for (int i = 0; i < 100; ++i) EXPECT_EQ(revs[i], static_cast<uint64_t>(i));
}

TEST_F(StoreTest, DurabilityModesDecideWhenToSync) {
  // Default: one fdatasync per commit group, before the acknowledgement.
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(1)).ok());
  EXPECT_EQ(store_->Stats().syncs, store_->Stats().commit_groups);
  EXPECT_EQ(store_->Stats().commit_groups, 5u);

  options_.durability = Durability::kNoSync;
  Reopen();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(1)).ok());
  EXPECT_EQ(store_->Stats().syncs, 0u);

  options_.durability = Durability::kSyncInterval;
  options_.sync_interval = std::chrono::milliseconds(20);
  Reopen();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(store_->Append("s", ExpectedRevision::Any(), Evs(1)).ok());
  // The background interval sync happens even with no further appends.
  for (int i = 0; i < 100 && store_->Stats().syncs == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(store_->Stats().syncs, 1u);
  EXPECT_LT(store_->Stats().syncs, 5u);
  Reopen();
  EXPECT_EQ(Revisions("s").size(), 15u);
}

}  // namespace
}  // namespace kiroku
