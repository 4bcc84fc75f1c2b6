// Shared by the recovery and corruption tests (recovery_test.cc, corruption_test.cc): raw
// access to segment files, a store with a known history, and the checks of what survives.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/coding.h"
#include "kiroku/store.h"
#include "storage/log_format.h"
#include "support/test_dir.h"

namespace kiroku::recovery_testing {

namespace fs = std::filesystem;
using ::kiroku::testing::CopyTree;
using ::kiroku::testing::RemoveTree;
using ::kiroku::testing::TestDir;

// ---- files ----

inline std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// Segment files of a store, oldest first.
inline std::vector<std::string> SegmentPaths(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir + "/log")) {
    std::string name = e.path().filename().string();
    if (name.size() == log_format::kSegmentNameDigits + 4 && name.ends_with(".log")) {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline uint64_t SegmentBase(const std::string& path) {
  return std::stoull(fs::path(path).filename().string().substr(0, log_format::kSegmentNameDigits));
}

// Every file of the log directory (lost+found included) with its contents.
inline std::map<std::string, std::string> LogFiles(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/log")) {
    if (e.is_regular_file()) out[e.path().string()] = ReadBytes(e.path().string());
  }
  return out;
}

struct RecordSpan {
  uint64_t offset;  // in the segment file
  uint64_t size;    // header included
};

// Record boundaries of an undamaged segment image.
inline std::vector<RecordSpan> RecordsOf(const std::string& segment) {
  std::vector<RecordSpan> out;
  uint64_t off = log_format::kSegmentHeaderSize;
  while (off + log_format::kRecordHeaderSize <= segment.size()) {
    uint64_t size = log_format::kRecordHeaderSize + coding::DecodeFixed32(segment.data() + off);
    out.push_back({off, size});
    off += size;
  }
  EXPECT_EQ(off, segment.size()) << "segment image does not end at a record boundary";
  return out;
}

// Runs fn(k) for every k in [0, n) on a few threads. Each case works on its own copy of a
// store, and the time goes into waiting for fsync, so cases overlap well.
inline void ParallelFor(uint64_t n, const std::function<void(uint64_t)>& fn) {
  std::atomic<uint64_t> next{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (uint64_t k = next++; k < n; k = next++) fn(k);
    });
  }
  for (std::thread& w : workers) w.join();
}

// ---- store helpers ----

inline std::unique_ptr<Store> OpenStore(const std::string& dir, StoreOptions options = {}) {
  auto r = Store::Open(dir, options);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  return std::move(r).value();
}

struct Written {
  std::string stream;
  uint64_t revision;
  EventId id;
  std::string data;
};

inline EventData MakeEvent(const std::string& data) {
  EventData e;
  e.id = EventId::Random();
  e.type = "Tested";
  e.content_type = ContentType::kBinary;
  e.data = data;
  return e;
}

// Appends one event and records what was acknowledged.
inline void AppendOne(Store* store, const std::string& stream, const std::string& data,
                      std::vector<Written>* log) {
  EventData e = MakeEvent(data);
  EventId id = e.id;
  std::vector<EventData> batch;
  batch.push_back(std::move(e));
  auto r = store->Append(stream, ExpectedRevision::Any(), std::move(batch));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  log->push_back({stream, r->current_revision.value, id, data});
}

inline std::vector<RecordedEvent> ReadAllForwards(Store* store) {
  auto r = store->ReadAll(ReadAllOptions{});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r->events : std::vector<RecordedEvent>{};
}

// The store holds exactly `expected`, in this order in $all, and each stream reads back the
// same events.
inline void ExpectExactly(Store* store, const std::vector<Written>& expected) {
  std::vector<RecordedEvent> all = ReadAllForwards(store);
  ASSERT_EQ(all.size(), expected.size());
  std::map<std::string, std::vector<const Written*>> by_stream;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].id, expected[i].id) << "event " << i;
    EXPECT_EQ(all[i].stream, expected[i].stream) << "event " << i;
    EXPECT_EQ(all[i].revision.value, expected[i].revision) << "event " << i;
    EXPECT_EQ(all[i].data, expected[i].data) << "event " << i;
    by_stream[expected[i].stream].push_back(&expected[i]);
  }
  for (const auto& [stream, events] : by_stream) {
    auto r = store->ReadStream(stream, ReadStreamOptions{});
    ASSERT_TRUE(r.ok()) << stream << ": " << r.status().ToString();
    ASSERT_EQ(r->size(), events.size()) << stream;
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ((*r)[i].id, events[i]->id) << stream << "@" << i;
      EXPECT_EQ((*r)[i].revision.value, i) << stream;
      EXPECT_EQ((*r)[i].data, events[i]->data) << stream << "@" << i;
    }
    auto head = store->StreamHead(stream);
    ASSERT_TRUE(head.ok()) << head.status().ToString();
    ASSERT_TRUE(head->has_value()) << stream;
    EXPECT_EQ((*head)->value, events.size() - 1) << stream;
  }
}

// Events with distinct, recognisable payloads.
inline std::string Payload(int i) { return "payload-" + std::to_string(i) + "-abcdefgh"; }

// Builds a store with `events_before` events (three streams), closes it and snapshots its
// directory into `snapshot`: the snapshot's index covers exactly those events. Then reopens
// the original, runs `then` (which appends more) and closes it again.
template <typename Then>
void BuildWithSnapshot(const std::string& dir, const std::string& snapshot, int events_before,
                       std::vector<Written>* log, Then then, StoreOptions options = {}) {
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < events_before; ++i) {
      AppendOne(store.get(), "s-" + std::to_string(i % 3), Payload(i), log);
    }
  }
  CopyTree(dir, snapshot);
  auto store = OpenStore(dir, options);
  ASSERT_NE(store, nullptr);
  then(store.get());
}

inline bool HasLostAndFound(const std::string& dir) {
  std::error_code ec;
  return fs::exists(dir + "/log/lost+found", ec) && !fs::is_empty(dir + "/log/lost+found", ec);
}

// After a recovery that cut the tail: the store holds exactly `expected`, `check` passes on
// the recovered files, a new event goes to the next revision of "s-0", and after another
// restart everything is still there.
template <typename Check>
void ExpectRecoversTo(const std::string& dir, std::vector<Written> expected, Check check,
                      StoreOptions options = {}) {
  uint64_t next_rev = 0;
  for (const Written& w : expected) {
    if (w.stream == "s-0") next_rev = w.revision + 1;
  }
  ASSERT_GT(next_rev, 0u);
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    ExpectExactly(store.get(), expected);
    check(store.get());
    std::vector<EventData> batch;
    batch.push_back(MakeEvent("after-recovery"));
    EventId id = batch[0].id;
    auto r = store->Append("s-0", ExpectedRevision::Exact(StreamRevision(next_rev - 1)),
                           std::move(batch));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->current_revision.value, next_rev);
    expected.push_back({"s-0", next_rev, id, "after-recovery"});
  }
  auto store = OpenStore(dir, options);
  ASSERT_NE(store, nullptr);
  ExpectExactly(store.get(), expected);
}

}  // namespace kiroku::recovery_testing
