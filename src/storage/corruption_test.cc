// Recovery from damage that is not a torn tail: flipped bytes in sealed and active segments,
// an index ahead of its log, and reindexing. Each test damages a store's files the way a bad
// disk would, reopens it and checks what is refused, what is reported (file and offset), and
// that damaged files are left as they were.
#include <gtest/gtest.h>

#include "storage/recovery_test_util.h"

namespace kiroku {
namespace {

using namespace ::kiroku::recovery_testing;  // NOLINT: the shared test vocabulary

// ---- flipped bytes ----

struct Damage {
  std::string path;      // segment file
  uint64_t offset;       // of the damaged record in the file
  RecordedEvent victim;  // the event the record held
};

// Flips one byte inside the body of record `index` of `path`; returns what was damaged.
Damage FlipBodyByte(const std::string& path, size_t index, const std::vector<RecordedEvent>& all) {
  std::string bytes = ReadBytes(path);
  std::vector<RecordSpan> recs = RecordsOf(bytes);
  EXPECT_LT(index, recs.size());
  const RecordSpan r = recs.at(index);
  bytes[r.offset + r.size - 3] ^= 0x20;  // inside the event data
  WriteBytes(path, bytes);
  Damage d{path, r.offset, {}};
  const uint64_t position = SegmentBase(path) + r.offset;
  for (const RecordedEvent& e : all) {
    if (e.position.value == position) d.victim = e;
  }
  EXPECT_EQ(d.victim.position.value, position) << "no event at the damaged record";
  return d;
}

// "<file> at offset <n>" appears in `message`.
void ExpectNamesDamage(const std::string& message, const Damage& d) {
  EXPECT_NE(message.find(d.path), std::string::npos) << message;
  EXPECT_NE(message.find("offset " + std::to_string(d.offset)), std::string::npos) << message;
}

// Every read that would return the damaged event fails with Corruption naming the place,
// never returns its bytes; reads that do not touch it still work.
void ExpectDamageReported(Store* store, const Damage& d,
                          const std::vector<RecordedEvent>& all_before) {
  auto stream = store->ReadStream(d.victim.stream, ReadStreamOptions{});
  ASSERT_EQ(stream.status().code(), StatusCode::kCorruption) << stream.status().ToString();
  ExpectNamesDamage(stream.status().message(), d);

  ReadStreamOptions at;
  at.from = d.victim.revision;
  at.max_count = 1;
  auto one = store->ReadStream(d.victim.stream, at);
  ASSERT_EQ(one.status().code(), StatusCode::kCorruption) << one.status().ToString();

  ReadStreamOptions backwards;
  backwards.direction = Direction::kBackwards;
  backwards.from = StreamRevision::End();
  auto back = store->ReadStream(d.victim.stream, backwards);
  ASSERT_EQ(back.status().code(), StatusCode::kCorruption) << back.status().ToString();
  ExpectNamesDamage(back.status().message(), d);

  // Later revisions of the same stream do not need the damaged record.
  ReadStreamOptions after;
  after.from = StreamRevision(d.victim.revision.value + 1);
  auto later = store->ReadStream(d.victim.stream, after);
  ASSERT_TRUE(later.ok()) << later.status().ToString();
  for (const RecordedEvent& e : *later) EXPECT_NE(e.id, d.victim.id);

  auto all = store->ReadAll(ReadAllOptions{});
  ASSERT_EQ(all.status().code(), StatusCode::kCorruption) << all.status().ToString();
  ExpectNamesDamage(all.status().message(), d);

  ReadAllOptions from_victim;
  from_victim.from = d.victim.position;
  auto at_victim = store->ReadAll(from_victim);
  ASSERT_EQ(at_victim.status().code(), StatusCode::kCorruption) << at_victim.status().ToString();
  ExpectNamesDamage(at_victim.status().message(), d);

  ReadAllOptions all_back;
  all_back.direction = Direction::kBackwards;
  all_back.from = Position::End();
  auto back_all = store->ReadAll(all_back);
  ASSERT_EQ(back_all.status().code(), StatusCode::kCorruption) << back_all.status().ToString();
  ExpectNamesDamage(back_all.status().message(), d);

  // $all in pieces that stop short of the damage work, and never yield the victim.
  std::vector<RecordedEvent> seen;
  ReadAllOptions page;
  page.max_count = 1;
  while (true) {
    auto r = store->ReadAll(page);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      EXPECT_EQ(page.from, d.victim.position);
      break;
    }
    for (const RecordedEvent& e : r->events) seen.push_back(e);
    ASSERT_FALSE(r->end_of_log) << "the scan went past the damaged record";
    page.from = r->next;
  }
  for (const RecordedEvent& e : seen) EXPECT_NE(e.id, d.victim.id);
  ASSERT_LT(seen.size(), all_before.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i].id, all_before[i].id);

  // Past the damage, $all reads again.
  size_t victim_index = seen.size();
  if (victim_index + 1 == all_before.size()) return;
  ReadAllOptions past;
  past.from = all_before[victim_index + 1].position;
  auto rest = store->ReadAll(past);
  ASSERT_TRUE(rest.ok()) << rest.status().ToString();
  ASSERT_EQ(rest->events.size(), all_before.size() - victim_index - 1);
  for (size_t i = 0; i < rest->events.size(); ++i) {
    EXPECT_EQ(rest->events[i].id, all_before[victim_index + 1 + i].id);
  }
}

// Appends `count` events round-robin over three streams with payloads of varying size.
void Fill(Store* store, int count, std::vector<Written>* log) {
  for (int i = 0; i < count; ++i) {
    AppendOne(store, "s-" + std::to_string(i % 3), Payload(i) + std::string(i % 17, 'x'), log);
  }
}

TEST(RecoveryTest, FlippedByteInSealedSegment) {
  TestDir t;
  const std::string dir = t.Sub("store");
  StoreOptions options;
  options.segment_size = 1024;
  std::vector<Written> log;
  std::vector<RecordedEvent> all;
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    Fill(store.get(), 60, &log);
    all = ReadAllForwards(store.get());
  }
  std::vector<std::string> segs = SegmentPaths(dir);
  ASSERT_GE(segs.size(), 3u);
  Damage d = FlipBodyByte(segs[1], 3, all);  // a sealed segment in the middle
  const std::map<std::string, std::string> damaged = LogFiles(dir);

  // (a) Paranoid open verifies every segment and refuses.
  StoreOptions paranoid = options;
  paranoid.paranoid_checks = true;
  auto refused = Store::Open(dir, paranoid);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
  ExpectNamesDamage(refused.status().message(), d);
  EXPECT_EQ(LogFiles(dir), damaged);

  // (b) A default open only verifies past the index checkpoint, so it opens; every read of
  // the damaged event reports it, and the rest of the store works, writes included.
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    ExpectDamageReported(store.get(), d, all);
    std::vector<EventData> batch;
    batch.push_back(MakeEvent("after-damage"));
    auto r = store->Append("s-0", ExpectedRevision::Any(), std::move(batch));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  ASSERT_FALSE(report->ok());
  bool named = false;
  for (const std::string& p : report->problems) {
    if (p.find(d.path) != std::string::npos &&
        p.find("offset " + std::to_string(d.offset)) != std::string::npos) {
      named = true;
    }
  }
  EXPECT_TRUE(named) << "VerifyStore did not name " << d.path << " offset " << d.offset;

  // The damaged segment was never modified or removed.
  for (const auto& [path, bytes] : damaged) {
    if (path == segs.back()) continue;  // the active segment took the new event
    EXPECT_EQ(ReadBytes(path), bytes) << path;
  }
  EXPECT_FALSE(HasLostAndFound(dir));
}

// Acknowledged, indexed data in the active segment is damaged: it must not be mistaken for
// a torn tail, whether the damage is in a middle record or in the last one.
TEST(RecoveryTest, FlippedByteBeforeCheckpointIsNotTruncated) {
  for (bool last_record : {false, true}) {
    SCOPED_TRACE(last_record ? "last record" : "middle record");
    TestDir t;
    const std::string dir = t.Sub("store");
    std::vector<Written> log;
    std::vector<RecordedEvent> all;
    {
      auto store = OpenStore(dir);
      ASSERT_NE(store, nullptr);
      Fill(store.get(), 20, &log);
      all = ReadAllForwards(store.get());
    }
    std::vector<std::string> segs = SegmentPaths(dir);
    ASSERT_EQ(segs.size(), 1u);
    Damage d = FlipBodyByte(segs[0], last_record ? 19 : 9, all);
    const std::map<std::string, std::string> damaged = LogFiles(dir);

    StoreOptions paranoid;
    paranoid.paranoid_checks = true;
    auto refused = Store::Open(dir, paranoid);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::kCorruption);
    ExpectNamesDamage(refused.status().message(), d);
    EXPECT_EQ(LogFiles(dir), damaged);

    for (int round = 0; round < 2; ++round) {  // and again after a restart
      auto opened = Store::Open(dir);
      if (!opened.ok()) {
        EXPECT_EQ(opened.status().code(), StatusCode::kCorruption);
        ExpectNamesDamage(opened.status().message(), d);
      } else {
        Store* store = opened->get();
        // Nothing was cut: the log still ends where it did, every other event is there.
        EXPECT_EQ(store->LogEnd().value, SegmentBase(segs[0]) + damaged.at(segs[0]).size());
        ExpectDamageReported(store, d, all);
        for (const std::string s : {"s-0", "s-1", "s-2"}) {
          if (s == d.victim.stream) continue;
          auto ok = store->ReadStream(s, ReadStreamOptions{});
          ASSERT_TRUE(ok.ok()) << ok.status().ToString();
          EXPECT_EQ(ok->size(), s == "s-2" ? 6u : 7u);
        }
      }
      EXPECT_EQ(LogFiles(dir), damaged);
    }
  }
}

// Past the index checkpoint, with valid records after it, damage is bit rot rather than a
// torn write: every byte of a middle record (header included) is flipped in turn and the
// store must refuse to open, changing nothing.
TEST(RecoveryTest, FlippedByteAfterCheckpointWithValidRecordsAfterRefusesToOpen) {
  TestDir t;
  const std::string dir = t.Sub("store"), snap = t.Sub("snap");
  std::vector<Written> log;
  BuildWithSnapshot(dir, snap, 10, &log, [&](Store* s) { Fill(s, 10, &log); });
  std::vector<std::string> segs = SegmentPaths(dir);
  ASSERT_EQ(segs.size(), 1u);
  const std::string seg_name = fs::path(segs[0]).filename().string();
  const std::string full = ReadBytes(segs[0]);
  std::vector<RecordSpan> recs = RecordsOf(full);
  ASSERT_EQ(recs.size(), 20u);
  const RecordSpan victim = recs[14];  // indexed up to record 9; five valid records follow

  ParallelFor(2 * victim.size, [&](uint64_t c) {
    const uint64_t i = c / 2;
    const uint8_t mask = c % 2 == 0 ? 0x01 : 0x80;
    {
      SCOPED_TRACE("byte " + std::to_string(i) + " of the record ^ " + std::to_string(mask));
      const std::string d = t.Sub("flip" + std::to_string(c));
      CopyTree(snap, d);
      std::string bytes = full;
      bytes[victim.offset + i] ^= static_cast<char>(mask);
      const std::string path = d + "/log/" + seg_name;
      WriteBytes(path, bytes);
      auto r = Store::Open(d);
      ASSERT_FALSE(r.ok()) << "opened a store whose log is damaged before its end";
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
      EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().ToString();
      EXPECT_NE(r.status().message().find("offset " + std::to_string(victim.offset)),
                std::string::npos)
          << r.status().ToString();
      EXPECT_EQ(ReadBytes(path), bytes);
      EXPECT_FALSE(HasLostAndFound(d));
      RemoveTree(d);
    }
  });
}

// Damage in the last record past the checkpoint looks exactly like a torn write: it is cut,
// and its bytes are kept in lost+found.
TEST(RecoveryTest, FlippedByteInLastRecordAfterCheckpointIsCutAndKept) {
  TestDir t;
  const std::string dir = t.Sub("store"), snap = t.Sub("snap");
  std::vector<Written> log;
  BuildWithSnapshot(dir, snap, 10, &log, [&](Store* s) { Fill(s, 3, &log); });
  std::vector<std::string> segs = SegmentPaths(dir);
  const std::string seg_name = fs::path(segs[0]).filename().string();
  std::string bytes = ReadBytes(segs[0]);
  std::vector<RecordSpan> recs = RecordsOf(bytes);
  const RecordSpan last = recs.back();
  bytes[last.offset + last.size - 2] ^= 0x04;
  CopyTree(snap, t.Sub("d"));
  const std::string d = t.Sub("d");
  WriteBytes(d + "/log/" + seg_name, bytes);
  {
    auto store = OpenStore(d);
    ASSERT_NE(store, nullptr);
    ExpectExactly(store.get(), std::vector<Written>(log.begin(), log.end() - 1));
  }
  EXPECT_EQ(ReadBytes(d + "/log/" + seg_name), bytes.substr(0, last.offset));
  EXPECT_EQ(
      ReadBytes(d + "/log/lost+found/" + seg_name + "." + std::to_string(last.offset) + ".torn"),
      bytes.substr(last.offset));
}

// The reads above tell damage from a `from` that is not an event position; the latter is
// still InvalidArgument in both directions, on a healthy log.
TEST(RecoveryTest, ReadAllFromInsideARecordIsInvalidArgument) {
  TestDir t;
  const std::string dir = t.Sub("store");
  std::vector<Written> log;
  auto store = OpenStore(dir);
  ASSERT_NE(store, nullptr);
  Fill(store.get(), 12, &log);
  std::vector<RecordedEvent> all = ReadAllForwards(store.get());
  ASSERT_EQ(all.size(), 12u);
  for (size_t i : {size_t{0}, size_t{5}, size_t{11}}) {
    for (uint64_t delta : {1u, 4u, 9u, 20u}) {
      SCOPED_TRACE("event " + std::to_string(i) + " + " + std::to_string(delta));
      ReadAllOptions fwd;
      fwd.from = Position(all[i].position.value + delta);
      auto f = store->ReadAll(fwd);
      EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << f.status().ToString();
      ReadAllOptions back = fwd;
      back.direction = Direction::kBackwards;
      auto b = store->ReadAll(back);
      EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << b.status().ToString();
    }
    // At the event itself both directions work.
    ReadAllOptions at;
    at.from = all[i].position;
    auto f = store->ReadAll(at);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(f->events.size(), all.size() - i);
    at.direction = Direction::kBackwards;
    auto b = store->ReadAll(at);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_EQ(b->events.size(), i);
  }
}

// ---- index and log disagree ----

TEST(RecoveryTest, IndexAheadOfLogRefusesUntilReindexed) {
  for (bool mid_record : {false, true}) {
    SCOPED_TRACE(mid_record ? "cut inside a record" : "cut at a record boundary");
    TestDir t;
    const std::string dir = t.Sub("store");
    std::vector<Written> log;
    {
      auto store = OpenStore(dir);
      ASSERT_NE(store, nullptr);
      Fill(store.get(), 20, &log);
    }
    std::vector<std::string> segs = SegmentPaths(dir);
    std::string bytes = ReadBytes(segs[0]);
    std::vector<RecordSpan> recs = RecordsOf(bytes);
    // Lose the last three records (and, mid-record, part of the one before them).
    uint64_t cut = recs[17].offset - (mid_record ? 5 : 0);
    const size_t survivors = mid_record ? 16 : 17;
    fs::resize_file(segs[0], cut);
    const std::map<std::string, std::string> before = LogFiles(dir);

    auto r = Store::Open(dir);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption) << r.status().ToString();
    EXPECT_NE(r.status().message().find("reindex"), std::string::npos) << r.status().ToString();
    EXPECT_EQ(LogFiles(dir), before);

    auto n = ReindexStore(dir);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, survivors);
    auto store = OpenStore(dir);
    ASSERT_NE(store, nullptr);
    std::vector<Written> expected(log.begin(), log.begin() + static_cast<long>(survivors));
    ExpectExactly(store.get(), expected);
    // Writing continues at the revisions the log implies.
    std::vector<EventData> batch;
    batch.push_back(MakeEvent("after-reindex"));
    uint64_t head = 0;
    for (const Written& w : expected) {
      if (w.stream == "s-1") head = w.revision;
    }
    auto a = store->Append("s-1", ExpectedRevision::Exact(StreamRevision(head)), std::move(batch));
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->current_revision.value, head + 1);
  }
}

// Everything a client can observe, as text, for comparing two opens of a store.
std::string Describe(const RecordedEvent& e) {
  return e.stream + "@" + std::to_string(e.revision.value) + " pos " +
         std::to_string(e.position.value) + " " + e.id.ToString() + " " + e.type + " ct" +
         std::to_string(static_cast<int>(e.content_type)) + " [" + e.data + "] [" + e.metadata +
         "] t" + std::to_string(e.created_us);
}

std::vector<std::string> View(Store* store) {
  std::vector<std::string> v;
  auto all = store->ReadAll(ReadAllOptions{});
  EXPECT_TRUE(all.ok()) << all.status().ToString();
  if (!all.ok()) return v;
  std::set<std::string> streams;
  for (const RecordedEvent& e : all->events) {
    v.push_back("all " + Describe(e));
    streams.insert(e.stream);
    if (e.stream.starts_with("$$")) streams.insert(e.stream.substr(2));
  }
  ReadAllOptions back;
  back.direction = Direction::kBackwards;
  back.from = Position::End();
  auto rev = store->ReadAll(back);
  EXPECT_TRUE(rev.ok()) << rev.status().ToString();
  if (rev.ok()) {
    for (const RecordedEvent& e : rev->events) v.push_back("back " + Describe(e));
  }
  v.push_back("end " + std::to_string(store->LogEnd().value));
  for (const std::string& s : streams) {
    for (Direction dir : {Direction::kForwards, Direction::kBackwards}) {
      ReadStreamOptions o;
      o.direction = dir;
      o.from = dir == Direction::kForwards ? StreamRevision::Start() : StreamRevision::End();
      auto r = store->ReadStream(s, o);
      std::string tag = "stream " + s + (dir == Direction::kForwards ? " fwd " : " back ");
      if (!r.ok()) {
        v.push_back(tag + StatusCodeName(r.status().code()));
        continue;
      }
      for (const RecordedEvent& e : *r) v.push_back(tag + Describe(e));
    }
    auto head = store->StreamHead(s);
    v.push_back("head " + s + " " +
                (!head.ok()          ? std::string(StatusCodeName(head.status().code()))
                 : head->has_value() ? std::to_string((*head)->value)
                                     : std::string("none")));
    auto meta = store->GetStreamMetadata(s);
    v.push_back("meta " + s + " " +
                (!meta.ok() ? std::string(StatusCodeName(meta.status().code()))
                            : meta->metadata.ToJson() + " rev " +
                                  (meta->metastream_revision
                                       ? std::to_string(meta->metastream_revision->value)
                                       : std::string("none"))));
  }
  return v;
}

std::vector<EventData> Batch(int n, const std::string& tag) {
  std::vector<EventData> b;
  for (int i = 0; i < n; ++i) b.push_back(MakeEvent(tag + "-" + std::to_string(i)));
  return b;
}

TEST(RecoveryTest, ReindexRebuildsIdenticalView) {
  TestDir t;
  const std::string dir = t.Sub("store");
  StoreOptions options;
  options.segment_size = 2048;
  std::vector<std::string> before;
  {
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < 40; ++i) {
      auto r = store->Append("order-" + std::to_string(i % 5), ExpectedRevision::Any(),
                             Batch(1 + i % 4, "o" + std::to_string(i)));
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    StreamMetadata capped;
    capped.max_count = 3;
    capped.custom_json = R"({"owner":"test"})";
    ASSERT_TRUE(store->SetStreamMetadata("order-1", ExpectedRevision::NoStream(), capped).ok());
    ASSERT_TRUE(store->Delete("order-2", ExpectedRevision::Any()).ok());
    ASSERT_TRUE(store->Append("order-3", ExpectedRevision::Any(), Batch(2, "x")).ok());
    ASSERT_TRUE(store->Delete("order-3", ExpectedRevision::Any()).ok());
    ASSERT_TRUE(store->Append("order-3", ExpectedRevision::Any(), Batch(3, "revived")).ok());
    ASSERT_TRUE(store->Tombstone("order-4", ExpectedRevision::Any()).ok());
    ASSERT_TRUE(store->Append("order-0", ExpectedRevision::Any(), Batch(6, "tail")).ok());
    before = View(store.get());
  }
  ASSERT_GT(SegmentPaths(dir).size(), 2u);
  ASSERT_GT(before.size(), 100u);
  auto verified = VerifyStore(dir);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_TRUE(verified->ok()) << verified->problems.front();
  const std::map<std::string, std::string> files = LogFiles(dir);

  uint64_t all_events = 0;
  for (const std::string& line : before) all_events += line.starts_with("all ");
  for (int round = 0; round < 2; ++round) {
    auto n = ReindexStore(dir);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    EXPECT_EQ(*n, all_events);
    auto store = OpenStore(dir, options);
    ASSERT_NE(store, nullptr);
    std::vector<std::string> after = View(store.get());
    ASSERT_EQ(after.size(), before.size());
    for (size_t i = 0; i < after.size(); ++i) EXPECT_EQ(after[i], before[i]) << "line " << i;
  }
  EXPECT_EQ(LogFiles(dir), files);  // reindexing reads the log, never writes it
}

}  // namespace
}  // namespace kiroku
