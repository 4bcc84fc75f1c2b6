// Bringing the log to a consistent state on open.
//
// 1. OpenSegments: finds the segment files, checks each header and that they are
//    contiguous (each base = previous base + previous size), creates the first segment of
//    a new log, and repairs a last segment whose header was torn while being created
//    (shorter than a header, or all zeroes with no valid record anywhere in the file).
// 2. ScanLog: reads every record from `verify_from` to the end, checking CRCs and
//    transaction framing, and hands each complete transaction at or after `replay_from` to
//    a sink (the index rebuild). In the last segment, a torn tail - zeroes, or an incomplete
//    or damaged record with no valid record anywhere after it - is cut off at the start of its
//    transaction; the cut bytes are kept in lost+found/. Damage anywhere else, or before
//    `protected_end` (data the index already covers, hence acknowledged), is Corruption
//    naming the file and byte offset, and nothing is changed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kiroku/env.h"
#include "storage/log_format.h"
#include "storage/segment_reader.h"

namespace kiroku {

struct LogLayout {
  uint64_t first_base = 0;
  uint64_t last_base = 0;
  uint64_t last_size = 0;  // file size of the last segment
  uint64_t end() const { return last_base + last_size; }
};

Result<LogLayout> OpenSegments(Env* env, const std::string& dir, SegmentSet* segments);

struct RecoveredRecord {
  uint64_t position;
  std::string body;
};
// Called once per complete transaction in log order.
using TransactionSink = std::function<Status(uint64_t start, bool segment_start,
                                             const std::vector<RecoveredRecord>& records)>;

struct ScanOutcome {
  uint64_t log_end = 0;          // after any truncation
  uint64_t truncated_bytes = 0;  // torn tail removed
  std::string note;              // what was truncated and where the bytes were kept
};

Result<ScanOutcome> ScanLog(Env* env, const std::string& dir, SegmentSet* segments,
                            const LogLayout& layout, uint64_t verify_from, uint64_t replay_from,
                            uint64_t protected_end, const TransactionSink& sink);

}  // namespace kiroku
