// Reading the segmented log: the set of segment files, a scanner over one segment that
// tells a torn tail from damage, and a cursor that walks records across segments.
//
// Thread-safety: SegmentSet is internally locked. SegmentScanner and LogCursor are
// single-threaded objects; many may read the same segments at once (pread).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "kiroku/env.h"
#include "storage/log_format.h"

namespace kiroku {

struct Segment {
  uint64_t base = 0;  // position of byte 0 of the file
  std::string path;
  std::shared_ptr<RandomAccessFile> file;
};

class SegmentSet {
 public:
  void Add(std::shared_ptr<const Segment> seg);
  void Clear();
  // The segment holding `position` (greatest base <= position), or nullptr.
  std::shared_ptr<const Segment> Find(uint64_t position) const;
  // The segment after the one based at `base`, or nullptr.
  std::shared_ptr<const Segment> After(uint64_t base) const;
  std::shared_ptr<const Segment> First() const;
  std::shared_ptr<const Segment> Last() const;
  size_t size() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<uint64_t, std::shared_ptr<const Segment>> segments_;
};

struct RawRecord {
  uint64_t position = 0;  // for SegmentScanner: the file offset
  log_format::RecordType type = log_format::RecordType::kZero;
  std::string_view body;  // valid until the next call on the scanner/cursor
};

enum class ScanResult {
  kRecord,
  kEnd,          // clean end at the requested limit
  kTruncated,    // a header or body runs past the end of the file
  kZeroes,       // zero bytes where a header should be (preallocated or torn)
  kBadChecksum,  // length plausible, CRC mismatch
  kBadHeader,    // impossible length or type
  kIOError,
};

struct ScanProblem {
  uint64_t offset = 0;
  uint32_t expected_crc = 0;
  uint32_t actual_crc = 0;
  std::string detail;  // human text naming the offset and values
};

// Scans records of one segment file between file offsets [start, limit).
class SegmentScanner {
 public:
  // Reads ahead `initial_readahead` bytes at first and doubles that on every refill up to
  // 1 MiB: point reads stay small, long scans soon read big chunks.
  SegmentScanner(const RandomAccessFile* file, uint64_t start, uint64_t limit,
                 size_t initial_readahead = 16 * 1024);
  ScanResult Next(RawRecord* rec, ScanProblem* problem);
  uint64_t offset() const { return next_; }  // where the next record starts
  void Seek(uint64_t offset) { next_ = offset; }

 private:
  // Makes [next_, next_ + n) available in buf_; returns how many of those bytes exist.
  size_t Ensure(size_t n, ScanProblem* problem, bool* io_error);

  const RandomAccessFile* file_;
  uint64_t next_;
  uint64_t limit_;
  std::unique_ptr<char[]> buf_;  // uninitialised: a zero-fill would cost as much as the read
  size_t buf_cap_ = 0;
  uint64_t buf_offset_ = 0;
  size_t buf_len_ = 0;
  size_t readahead_;
};

// Walks whole records forwards across segments between positions [start, end).
// Any damage is a Corruption error naming the file, byte offset and checksums.
class LogCursor {
 public:
  LogCursor(const SegmentSet* set, uint64_t start, uint64_t end,
            size_t initial_readahead = 16 * 1024);
  // True with a record, false at the end.
  Result<bool> Next(RawRecord* rec);
  uint64_t position() const;  // position of the next record

 private:
  bool OpenSegment(uint64_t position);

  const SegmentSet* set_;
  size_t readahead_;
  uint64_t end_;
  uint64_t pos_;
  std::shared_ptr<const Segment> seg_;
  std::unique_ptr<SegmentScanner> scanner_;
};

// First record position of a segment based at `base`.
inline uint64_t FirstRecordPosition(uint64_t base) { return base + log_format::kSegmentHeaderSize; }

}  // namespace kiroku
