// Recovery from torn tails: the last record, a new segment, or a batch cut at every byte.
// Each test builds a store, damages its files the way a crash would, reopens it and checks
// exactly what survives and that the cut bytes are kept in lost+found.
#include <gtest/gtest.h>

#include "storage/recovery_test_util.h"

namespace kiroku {
namespace {

using namespace ::kiroku::recovery_testing;  // NOLINT: the shared test vocabulary

// ---- torn tails ----

// The last record torn at every byte: recovery cuts it, keeps the cut bytes in lost+found,
// keeps every earlier event, and the store goes on.
TEST(RecoveryTest, TornLastRecordAtEveryByte) {
  TestDir t;
  const std::string dir = t.Sub("store"), snap = t.Sub("snap");
  constexpr int kBefore = 11;
  std::vector<Written> log;
  BuildWithSnapshot(dir, snap, kBefore, &log, [&](Store* s) { AppendOne(s, "s-0", "z", &log); });
  ASSERT_EQ(log.size(), static_cast<size_t>(kBefore + 1));
  std::vector<std::string> segs = SegmentPaths(dir);
  ASSERT_EQ(segs.size(), 1u);
  const std::string seg_name = fs::path(segs[0]).filename().string();
  const std::string full = ReadBytes(segs[0]);
  const uint64_t old_size = ReadBytes(snap + "/log/" + seg_name).size();
  ASSERT_GT(full.size(), old_size);
  const uint64_t last_size = full.size() - old_size;
  std::vector<Written> before(log.begin(), log.end() - 1);

  ParallelFor(last_size + 1, [&](uint64_t k) {
    SCOPED_TRACE("torn after " + std::to_string(k) + " of " + std::to_string(last_size) +
                 " bytes of the last record");
    const std::string d = t.Sub("k" + std::to_string(k));
    CopyTree(snap, d);
    WriteBytes(d + "/log/" + seg_name, full.substr(0, old_size + k));
    if (k == last_size) {
      auto store = OpenStore(d);
      ASSERT_NE(store, nullptr);
      ExpectExactly(store.get(), log);
      return;
    }
    ExpectRecoversTo(d, before, [&](Store* store) {
      EXPECT_EQ(store->LogEnd().value, SegmentBase(segs[0]) + old_size);
      EXPECT_EQ(ReadBytes(d + "/log/" + seg_name), full.substr(0, old_size));
      if (k > 0) {
        // The cut bytes are kept, not deleted.
        std::string kept =
            ReadBytes(d + "/log/lost+found/" + seg_name + "." + std::to_string(old_size) + ".torn");
        EXPECT_EQ(kept, full.substr(old_size, k));
      }
    });
    RemoveTree(d);
  });
}

// The append that rolls to a new segment, torn at every byte of the new file (its header
// included): the new segment is cut back or recreated and nothing earlier is lost.
TEST(RecoveryTest, TornNewSegmentAtEveryByte) {
  TestDir t;
  const std::string dir = t.Sub("store"), snap = t.Sub("snap");
  StoreOptions options;
  options.segment_size = 1024;
  std::vector<Written> log;
  {
    // Fill segments until the active one is full: the next append rolls.
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    for (int i = 0;; ++i) {
      AppendOne(store.get(), "s-" + std::to_string(i % 3), Payload(i), &log);
      std::vector<std::string> segs = SegmentPaths(dir);
      if (segs.size() >= 2 && fs::file_size(segs.back()) >= options.segment_size) break;
      ASSERT_LT(i, 1000);
    }
  }
  CopyTree(dir, snap);
  const size_t old_segments = SegmentPaths(dir).size();
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    AppendOne(store.get(), "s-0", "n", &log);
  }
  std::vector<std::string> segs = SegmentPaths(dir);
  ASSERT_EQ(segs.size(), old_segments + 1);
  const std::string new_name = fs::path(segs.back()).filename().string();
  const std::string full = ReadBytes(segs.back());
  ASSERT_GT(full.size(), log_format::kSegmentHeaderSize);
  std::vector<Written> before(log.begin(), log.end() - 1);

  ParallelFor(full.size() + 1, [&](uint64_t k) {
    SCOPED_TRACE("new segment torn after " + std::to_string(k) + " of " +
                 std::to_string(full.size()) + " bytes");
    const std::string d = t.Sub("k" + std::to_string(k));
    CopyTree(snap, d);
    WriteBytes(d + "/log/" + new_name, full.substr(0, k));
    if (k == full.size()) {
      auto store = OpenStore(d, options);
      ASSERT_NE(store, nullptr);
      ExpectExactly(store.get(), log);
      return;
    }
    ExpectRecoversTo(
        d, before,
        [&](Store* store) {
          // Cut back to (or recreated as) an empty segment: just its header.
          EXPECT_EQ(ReadBytes(d + "/log/" + new_name),
                    full.substr(0, log_format::kSegmentHeaderSize));
          EXPECT_EQ(store->LogEnd().value,
                    SegmentBase(segs.back()) + log_format::kSegmentHeaderSize);
        },
        options);
    RemoveTree(d);
  });
}

// A crash while rolling, on a file system that shows blocks never written as zeroes: the
// new segment exists but its header (and whatever followed) reads as zero bytes. Nothing in
// it was ever synced, so it is recreated, its bytes kept in lost+found.
TEST(RecoveryTest, NewSegmentThatReadsAsZeroesIsRecreated) {
  TestDir t;
  const std::string dir = t.Sub("store");
  StoreOptions options;
  options.segment_size = 1024;
  std::vector<Written> log;
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    while (SegmentPaths(dir).size() < 2 ||
           fs::file_size(SegmentPaths(dir).back()) < options.segment_size) {
      AppendOne(store.get(), "s-" + std::to_string(log.size() % 3), Payload(log.size()), &log);
      ASSERT_LT(log.size(), 1000u);
    }
  }
  const std::vector<std::string> segs = SegmentPaths(dir);
  const uint64_t next_base = SegmentBase(segs.back()) + fs::file_size(segs.back());
  const std::string name =
      std::string(20 - std::to_string(next_base).size(), '0') + std::to_string(next_base) + ".log";
  for (uint64_t zeroes : {uint64_t{32}, uint64_t{100}, uint64_t{4096}}) {
    SCOPED_TRACE(std::to_string(zeroes) + " zero bytes");
    const std::string d = t.Sub("z" + std::to_string(zeroes));
    CopyTree(dir, d);
    WriteBytes(d + "/log/" + name, std::string(zeroes, '\0'));
    ExpectRecoversTo(
        d, log,
        [&](Store* store) {
          EXPECT_EQ(fs::file_size(d + "/log/" + name), log_format::kSegmentHeaderSize);
          EXPECT_EQ(store->LogEnd().value, next_base + log_format::kSegmentHeaderSize);
          EXPECT_EQ(ReadBytes(d + "/log/lost+found/" + name + ".0.torn"),
                    std::string(zeroes, '\0'));
        },
        options);
  }
  // Zeroes where the header should be but a valid record after them: that is damage, not
  // an interrupted roll, and the store refuses to open.
  const std::string d = t.Sub("rot");
  CopyTree(dir, d);
  std::string last = ReadBytes(segs.back());
  std::string damaged = std::string(log_format::kSegmentHeaderSize, '\0') +
                        last.substr(log_format::kSegmentHeaderSize);
  WriteBytes(d + "/log/" + fs::path(segs.back()).filename().string(), damaged);
  auto r = Store::Open(d, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
  EXPECT_EQ(ReadBytes(d + "/log/" + fs::path(segs.back()).filename().string()), damaged);
}

// A multi-event append torn anywhere, record boundaries inside it included, is dropped as a
// whole: never a prefix of the batch.
TEST(RecoveryTest, TornBatchIsDroppedWhole) {
  TestDir t;
  const std::string dir = t.Sub("store"), snap = t.Sub("snap");
  constexpr int kBatch = 3;
  std::vector<Written> log;
  BuildWithSnapshot(dir, snap, 7, &log, [&](Store* s) {
    std::vector<EventData> batch;
    for (int i = 0; i < kBatch; ++i) batch.push_back(MakeEvent(std::to_string(i)));
    std::vector<EventData> copy = batch;
    auto r = s->Append("batch", ExpectedRevision::NoStream(), std::move(copy));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (int i = 0; i < kBatch; ++i) {
      log.push_back({"batch", static_cast<uint64_t>(i), batch[i].id, batch[i].data});
    }
  });
  std::vector<std::string> segs = SegmentPaths(dir);
  ASSERT_EQ(segs.size(), 1u);
  const std::string seg_name = fs::path(segs[0]).filename().string();
  const std::string full = ReadBytes(segs[0]);
  const uint64_t old_size = ReadBytes(snap + "/log/" + seg_name).size();
  std::vector<Written> before(log.begin(), log.end() - kBatch);
  std::set<uint64_t> boundaries;
  for (const RecordSpan& r : RecordsOf(full)) boundaries.insert(r.offset);
  int boundary_cuts = 0;
  for (uint64_t k = 1; k < full.size() - old_size; ++k)
    boundary_cuts += boundaries.count(old_size + k);
  EXPECT_EQ(boundary_cuts, kBatch - 1);  // cuts exactly between records are among the cases

  ParallelFor(full.size() - old_size + 1, [&](uint64_t k) {
    SCOPED_TRACE("batch torn after " + std::to_string(k) + " bytes");
    const std::string d = t.Sub("k" + std::to_string(k));
    CopyTree(snap, d);
    WriteBytes(d + "/log/" + seg_name, full.substr(0, old_size + k));
    {
      auto store = OpenStore(d);
      ASSERT_NE(store, nullptr);
      if (old_size + k == full.size()) {
        ExpectExactly(store.get(), log);
      } else {
        ExpectExactly(store.get(), before);
        auto r = store->ReadStream("batch", ReadStreamOptions{});
        EXPECT_EQ(r.status().code(), StatusCode::kStreamNotFound);
        auto head = store->StreamHead("batch");
        ASSERT_TRUE(head.ok());
        EXPECT_FALSE(head->has_value());
        // The batch can be written again from scratch.
        std::vector<EventData> again;
        again.push_back(MakeEvent("retry"));
        auto a = store->Append("batch", ExpectedRevision::NoStream(), std::move(again));
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        EXPECT_EQ(a->current_revision.value, 0u);
      }
    }
    RemoveTree(d);
  });
}

}  // namespace
}  // namespace kiroku
