// Offline tools: `kiroku admin verify` and `kiroku admin reindex`.
#include <set>

#include "kiroku/env.h"
#include "storage/event_reader.h"
#include "storage/recovery.h"
#include "storage/store_impl.h"

namespace kiroku {
namespace {

// Checks every record of every segment; one problem per damaged segment (after damage the
// next record boundary is unknown, so the rest of that segment is not checked).
void VerifyLog(const SegmentSet& segments, const LogLayout& layout, VerifyReport* report) {
  for (auto seg = segments.First(); seg; seg = segments.After(seg->base)) {
    ++report->segments;
    auto next = segments.After(seg->base);
    uint64_t size = (next ? next->base : layout.end()) - seg->base;
    SegmentScanner scanner(seg->file.get(), log_format::kSegmentHeaderSize, size);
    bool in_txn = false;
    while (true) {
      RawRecord rec;
      ScanProblem problem;
      ScanResult r = scanner.Next(&rec, &problem);
      if (r == ScanResult::kEnd) {
        if (in_txn) report->problems.push_back(seg->path + ": ends inside a transaction");
        break;
      }
      if (r != ScanResult::kRecord) {
        report->problems.push_back(seg->path + " at offset " + std::to_string(problem.offset) +
                                   " (position " + std::to_string(seg->base + problem.offset) +
                                   "): " + problem.detail);
        break;
      }
      ++report->records;
      report->bytes += log_format::kRecordHeaderSize + rec.body.size();
      bool first =
          rec.type == log_format::RecordType::kFull || rec.type == log_format::RecordType::kFirst;
      if (first == in_txn) {
        report->problems.push_back(seg->path + " at offset " + std::to_string(rec.position) +
                                   ": record type breaks transaction framing");
      }
      in_txn =
          !(rec.type == log_format::RecordType::kFull || rec.type == log_format::RecordType::kLast);
    }
  }
}

}  // namespace

Result<VerifyReport> VerifyStore(const std::string& dir, Env* env) {
  std::unique_ptr<Env> owned;
  if (env == nullptr) {
    owned = NewPosixEnv();
    env = owned.get();
  }
  if (!env->FileExists(dir + "/log")) return Status::NotFound("no store at " + dir);
  KIROKU_ASSIGN_OR_RETURN(auto lock, env->LockFile(dir + "/LOCK"));
  VerifyReport report;
  SegmentSet segments;
  KIROKU_ASSIGN_OR_RETURN(LogLayout layout, OpenSegments(env, dir + "/log", &segments));
  VerifyLog(segments, layout, &report);

  KIROKU_ASSIGN_OR_RETURN(auto index, StreamIndex::Open(dir + "/index"));
  KIROKU_ASSIGN_OR_RETURN(IndexCheckpoint cp, index->ReadCheckpoint());
  if (cp.log_end > layout.end()) {
    report.problems.push_back("index checkpoint " + std::to_string(cp.log_end) +
                              " is past the end of the log " + std::to_string(layout.end()));
    return report;
  }
  std::atomic<uint64_t> end{cp.log_end};
  EventReader reader(env, &segments, index.get(), &end);
  Status walk = index->ForEachHead([&](std::string_view name, const StreamState& st) {
    if (st.count == 0) return true;
    uint64_t expect = 0;
    Status s = reader.ReadRevisions(st.id, name, 0, st.count, [&](const EventFields& f, uint64_t) {
      if (f.revision.value != expect) return false;
      ++expect;
      ++report.index_entries_checked;
      return true;
    });
    if (!s.ok()) {
      report.problems.push_back("stream '" + std::string(name) + "': " + s.ToString());
    } else if (expect != st.count) {
      report.problems.push_back("stream '" + std::string(name) + "': index has " +
                                std::to_string(st.count) + " revisions, log yields " +
                                std::to_string(expect));
    }
    return report.problems.size() < 1000;
  });
  if (!walk.ok()) report.problems.push_back(walk.ToString());
  return report;
}

Result<uint64_t> ReindexStore(const std::string& dir, Env* env) {
  std::unique_ptr<Env> owned;
  if (env == nullptr) {
    owned = NewPosixEnv();
    env = owned.get();
  }
  if (!env->FileExists(dir + "/log")) return Status::NotFound("no store at " + dir);
  {
    KIROKU_ASSIGN_OR_RETURN(auto lock, env->LockFile(dir + "/LOCK"));
    KIROKU_RETURN_IF_ERROR(StreamIndex::Destroy(dir + "/index"));
  }
  StoreOptions o;
  o.env = env;
  o.create_if_missing = false;
  KIROKU_ASSIGN_OR_RETURN(auto store, StoreImpl::OpenImpl(dir, o));
  return store->replayed_events();
}

}  // namespace kiroku
