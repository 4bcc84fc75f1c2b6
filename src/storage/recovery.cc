#include "storage/recovery.h"

#include <algorithm>

#include "common/coding.h"
#include "common/crc32c.h"
#include "storage/log_writer.h"
#include "storage/record_codec.h"

namespace kiroku {

using log_format::kSegmentHeaderSize;
using log_format::RecordType;

namespace {
bool ValidRecordAfter(const RandomAccessFile* file, uint64_t offset, uint64_t file_size);
Status SaveLostBytes(Env* env, const std::string& dir, const Segment& seg, uint64_t offset,
                     uint64_t size, std::string* saved_path);
}  // namespace

Result<LogLayout> OpenSegments(Env* env, const std::string& dir, SegmentSet* segments) {
  KIROKU_RETURN_IF_ERROR(env->CreateDirs(dir));
  KIROKU_ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir));
  std::vector<uint64_t> bases;
  for (const auto& n : names) {
    uint64_t base;
    if (ParseSegmentFileName(n, &base)) bases.push_back(base);
  }
  std::sort(bases.begin(), bases.end());
  segments->Clear();
  LogLayout layout;
  if (bases.empty()) {
    KIROKU_RETURN_IF_ERROR(LogWriter::CreateSegment(env, dir, segments, 0));
    layout.last_size = kSegmentHeaderSize;
    return layout;
  }
  layout.first_base = bases.front();
  uint64_t expected_base = bases.front();
  for (size_t i = 0; i < bases.size(); ++i) {
    std::string path = dir + "/" + SegmentFileName(bases[i]);
    bool last = i + 1 == bases.size();
    if (bases[i] != expected_base) {
      return Status::Corruption(path + ": segment starts at position " + std::to_string(bases[i]) +
                                " but the previous segment ends at " +
                                std::to_string(expected_base) + " (missing or truncated segment)");
    }
    KIROKU_ASSIGN_OR_RETURN(uint64_t size, env->FileSize(path));
    if (last && size < kSegmentHeaderSize) {
      // Crashed while creating this segment: it holds no record yet, so recreate it.
      KIROKU_RETURN_IF_ERROR(LogWriter::CreateSegment(env, dir, segments, bases[i]));
      layout.last_base = bases[i];
      layout.last_size = kSegmentHeaderSize;
      return layout;
    }
    KIROKU_ASSIGN_OR_RETURN(auto reader, env->OpenReadable(path));
    char header[kSegmentHeaderSize];
    KIROKU_ASSIGN_OR_RETURN(size_t got, reader->Read(0, kSegmentHeaderSize, header));
    if (last && std::all_of(header, header + got, [](char c) { return c == 0; }) &&
        !ValidRecordAfter(reader.get(), 0, size)) {
      // Crashed while creating this segment, before its header was synced, on a file system
      // that shows unwritten blocks as zeroes: no record in it was ever synced either. Keep
      // its bytes and recreate it.
      Segment torn;
      torn.base = bases[i];
      torn.path = path;
      torn.file = std::move(reader);
      std::string saved;
      KIROKU_RETURN_IF_ERROR(SaveLostBytes(env, dir, torn, 0, size, &saved));
      KIROKU_RETURN_IF_ERROR(LogWriter::CreateSegment(env, dir, segments, bases[i]));
      layout.last_base = bases[i];
      layout.last_size = kSegmentHeaderSize;
      return layout;
    }
    KIROKU_ASSIGN_OR_RETURN(uint64_t base,
                            DecodeSegmentHeader(std::string_view(header, got), path));
    if (base != bases[i]) {
      return Status::Corruption(path + " at offset 16: header says base position " +
                                std::to_string(base) + ", file name says " +
                                std::to_string(bases[i]));
    }
    auto seg = std::make_shared<Segment>();
    seg->base = base;
    seg->path = path;
    seg->file = std::move(reader);
    segments->Add(std::move(seg));
    expected_base = base + size;
    layout.last_base = base;
    layout.last_size = size;
  }
  return layout;
}

namespace {

// True if a complete record with a valid checksum starts anywhere in (offset, file_size):
// then the damage at `offset` sits in the middle of good data (bit rot), not at a torn
// tail. Every offset is tried, not just the one the damaged header's length points at: a
// damaged length field hides where the next record starts. Cheap field checks (type, a
// length that fits, the body version and content type bytes) come before the checksum, so
// a long tail is scanned in about linear time. If the file cannot be read, answers true:
// better to refuse to open than to cut acknowledged data.
bool ValidRecordAfter(const RandomAccessFile* file, uint64_t offset, uint64_t file_size) {
  using log_format::kRecordHeaderSize;
  constexpr uint64_t kWindow = 1 << 20;
  std::string window, body;
  for (uint64_t w = offset + 1; w + kRecordHeaderSize <= file_size; w += kWindow) {
    // A header may start anywhere in [w, w + kWindow): read the bytes it could span too.
    size_t want = static_cast<size_t>(std::min(kWindow + kRecordHeaderSize - 1, file_size - w));
    window.resize(want);
    auto got = file->Read(w, want, window.data());
    if (!got.ok()) return true;
    for (size_t i = 0; i < kWindow && i + kRecordHeaderSize <= *got; ++i) {
      const char* h = window.data() + i;
      const uint64_t at = w + i;
      const uint32_t length = coding::DecodeFixed32(h);
      const uint8_t type = static_cast<uint8_t>(h[8]);
      if (type == 0 || type > log_format::kMaxRecordType ||
          length < log_format::kEventBodyFixedSize || length > file_size - at - kRecordHeaderSize) {
        continue;
      }
      // The type byte and the body, which the checksum covers.
      const char* covered;
      if (i + kRecordHeaderSize + length <= *got) {
        covered = h + 8;
      } else {
        body.resize(1 + length);
        auto r = file->Read(at + 8, body.size(), body.data());
        if (!r.ok()) return true;
        if (*r < body.size()) continue;
        covered = body.data();
      }
      // Not an event body unless it starts with the body version and has a content type.
      if (static_cast<uint8_t>(covered[1]) != log_format::kEventBodyVersion ||
          static_cast<uint8_t>(covered[log_format::kEventBodyFixedSize]) > 1) {
        continue;
      }
      const uint32_t stored = crc32c::Unmask(coding::DecodeFixed32(h + 4));
      if (crc32c::Value(covered, 1 + length) == stored) return true;
    }
  }
  return false;
}

Status SaveLostBytes(Env* env, const std::string& dir, const Segment& seg, uint64_t offset,
                     uint64_t size, std::string* saved_path) {
  if (size == 0) return Status::Ok();
  std::string lf = dir + "/lost+found";
  KIROKU_RETURN_IF_ERROR(env->CreateDirs(lf));
  *saved_path = lf + "/" + SegmentFileName(seg.base) + "." + std::to_string(offset) + ".torn";
  KIROKU_ASSIGN_OR_RETURN(auto out, env->OpenWritable(*saved_path));
  KIROKU_RETURN_IF_ERROR(out->Truncate(0));
  std::string buf(static_cast<size_t>(std::min<uint64_t>(size, 1 << 20)), '\0');
  for (uint64_t done = 0; done < size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), size - done));
    KIROKU_ASSIGN_OR_RETURN(size_t got, seg.file->Read(offset + done, n, buf.data()));
    if (got == 0) break;
    KIROKU_RETURN_IF_ERROR(out->Append(std::string_view(buf.data(), got)));
    done += got;
  }
  KIROKU_RETURN_IF_ERROR(out->Sync());
  return env->SyncDir(lf);
}

}  // namespace

Result<ScanOutcome> ScanLog(Env* env, const std::string& dir, SegmentSet* segments,
                            const LogLayout& layout, uint64_t verify_from, uint64_t replay_from,
                            uint64_t protected_end, const TransactionSink& sink) {
  ScanOutcome out;
  out.log_end = layout.end();
  uint64_t pos = std::max(verify_from, FirstRecordPosition(layout.first_base));
  std::vector<RecoveredRecord> txn;
  uint64_t txn_start = 0;
  bool in_txn = false;
  bool txn_segment_start = false;

  for (auto seg = segments->Find(pos); seg; seg = segments->After(seg->base)) {
    bool last = seg->base == layout.last_base;
    auto next = segments->After(seg->base);
    uint64_t file_size = (next ? next->base : layout.end()) - seg->base;
    uint64_t start = std::max(pos, FirstRecordPosition(seg->base)) - seg->base;
    SegmentScanner scanner(seg->file.get(), start, file_size);
    // A transaction never straddles segments.
    in_txn = false;
    txn.clear();
    while (true) {
      RawRecord rec;
      ScanProblem problem;
      ScanResult r = scanner.Next(&rec, &problem);
      std::string damage;
      uint64_t damage_offset = problem.offset;
      if (r == ScanResult::kEnd) {
        if (!in_txn) break;
        damage = "transaction starting at offset " + std::to_string(txn_start - seg->base) +
                 " has no final record";
        damage_offset = txn_start - seg->base;
      } else if (r == ScanResult::kIOError) {
        return Status::IOError(seg->path + ": " + problem.detail);
      } else if (r != ScanResult::kRecord) {
        damage = problem.detail;
      } else {
        uint64_t p = seg->base + rec.position;
        bool first = rec.type == RecordType::kFull || rec.type == RecordType::kFirst;
        if (first == in_txn) {
          damage = "record type " + std::to_string(static_cast<int>(rec.type)) +
                   (in_txn ? " inside an unfinished transaction" : " outside a transaction");
          damage_offset = rec.position;
        } else {
          if (first) {
            in_txn = true;
            txn_start = p;
            txn_segment_start = p == FirstRecordPosition(seg->base);
            txn.clear();
          }
          if (txn_start >= replay_from) txn.push_back({p, std::string(rec.body)});
          if (rec.type == RecordType::kFull || rec.type == RecordType::kLast) {
            in_txn = false;
            if (txn_start >= replay_from) {
              KIROKU_RETURN_IF_ERROR(sink(txn_start, txn_segment_start, txn));
            }
            txn.clear();
          }
          continue;
        }
      }
      // Damage at file offset `damage_offset`. Only a torn tail of the last segment, past
      // everything the index covers, may be cut off.
      uint64_t cut = in_txn ? txn_start - seg->base : damage_offset;
      // A record that runs past the end may be a damaged length field in the middle of the
      // file, so it counts as torn only if nothing valid follows it either.
      bool torn = last && seg->base + cut >= protected_end &&
                  (r == ScanResult::kEnd || r == ScanResult::kZeroes ||
                   !ValidRecordAfter(seg->file.get(), damage_offset, file_size));
      if (!torn) {
        std::string msg = seg->path + " at offset " + std::to_string(damage_offset) +
                          " (position " + std::to_string(seg->base + damage_offset) +
                          "): " + damage +
                          ". The log is damaged before its end; the store refuses to "
                          "open. Inspect with `kiroku admin verify --data DIR`.";
        return Status::Corruption(msg);
      }
      std::string saved;
      KIROKU_RETURN_IF_ERROR(SaveLostBytes(env, dir, *seg, cut, file_size - cut, &saved));
      KIROKU_ASSIGN_OR_RETURN(auto w, env->OpenWritable(seg->path));
      KIROKU_RETURN_IF_ERROR(w->Truncate(cut));
      KIROKU_RETURN_IF_ERROR(w->Sync());
      out.truncated_bytes = file_size - cut;
      out.log_end = seg->base + cut;
      out.note = "truncated torn tail of " + seg->path + " at offset " + std::to_string(cut) +
                 " (" + damage + "); " + std::to_string(out.truncated_bytes) + " bytes kept in " +
                 saved;
      return out;
    }
    pos = seg->base + file_size;
  }
  return out;
}

}  // namespace kiroku
