#include "storage/segment_reader.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "common/coding.h"
#include "common/crc32c.h"

namespace kiroku {

using log_format::kRecordHeaderSize;

void SegmentSet::Add(std::shared_ptr<const Segment> seg) {
  std::unique_lock lock(mu_);
  segments_[seg->base] = std::move(seg);
}

void SegmentSet::Clear() {
  std::unique_lock lock(mu_);
  segments_.clear();
}

std::shared_ptr<const Segment> SegmentSet::Find(uint64_t position) const {
  std::shared_lock lock(mu_);
  auto it = segments_.upper_bound(position);
  if (it == segments_.begin()) return nullptr;
  return std::prev(it)->second;
}

std::shared_ptr<const Segment> SegmentSet::After(uint64_t base) const {
  std::shared_lock lock(mu_);
  auto it = segments_.upper_bound(base);
  return it == segments_.end() ? nullptr : it->second;
}

std::shared_ptr<const Segment> SegmentSet::First() const {
  std::shared_lock lock(mu_);
  return segments_.empty() ? nullptr : segments_.begin()->second;
}

std::shared_ptr<const Segment> SegmentSet::Last() const {
  std::shared_lock lock(mu_);
  return segments_.empty() ? nullptr : segments_.rbegin()->second;
}

size_t SegmentSet::size() const {
  std::shared_lock lock(mu_);
  return segments_.size();
}

SegmentScanner::SegmentScanner(const RandomAccessFile* file, uint64_t start, uint64_t limit,
                               size_t initial_readahead)
    : file_(file), next_(start), limit_(limit), readahead_(initial_readahead) {}

size_t SegmentScanner::Ensure(size_t n, ScanProblem* problem, bool* io_error) {
  *io_error = false;
  uint64_t avail_end = std::min<uint64_t>(next_ + n, limit_);
  if (next_ >= buf_offset_ && avail_end <= buf_offset_ + buf_len_) {
    return static_cast<size_t>(avail_end - next_);
  }
  constexpr size_t kMaxReadahead = 1 << 20;
  size_t want = static_cast<size_t>(std::min<uint64_t>(std::max(n, readahead_), limit_ - next_));
  readahead_ = std::min(readahead_ * 2, kMaxReadahead);
  if (buf_cap_ < want) {
    buf_.reset(new char[want]);
    buf_cap_ = want;
  }
  auto r = file_->Read(next_, want, buf_.get());
  if (!r.ok()) {
    *io_error = true;
    problem->offset = next_;
    problem->detail = r.status().ToString();
    buf_len_ = 0;
    return 0;
  }
  buf_offset_ = next_;
  buf_len_ = *r;
  return std::min(n, buf_len_);
}

ScanResult SegmentScanner::Next(RawRecord* rec, ScanProblem* problem) {
  if (next_ >= limit_) return ScanResult::kEnd;
  bool io_error;
  size_t got = Ensure(kRecordHeaderSize, problem, &io_error);
  if (io_error) return ScanResult::kIOError;
  const char* h = buf_.get() + (next_ - buf_offset_);
  problem->offset = next_;
  if (got < kRecordHeaderSize) {
    bool zero = std::all_of(h, h + got, [](char c) { return c == 0; });
    problem->detail = "record header truncated (" + std::to_string(got) + " of 9 bytes)";
    return zero ? ScanResult::kZeroes : ScanResult::kTruncated;
  }
  uint32_t length = coding::DecodeFixed32(h);
  uint32_t stored_crc = crc32c::Unmask(coding::DecodeFixed32(h + 4));
  uint8_t type = static_cast<uint8_t>(h[8]);
  if (length == 0 && coding::DecodeFixed32(h + 4) == 0 && type == 0) {
    problem->detail = "zero bytes where a record header should be";
    return ScanResult::kZeroes;
  }
  if (type == 0 || type > log_format::kMaxRecordType || length > log_format::kMaxRecordBodySize) {
    problem->detail = "impossible record header (length " + std::to_string(length) + ", type " +
                      std::to_string(type) + ")";
    return ScanResult::kBadHeader;
  }
  size_t total = kRecordHeaderSize + length;
  got = Ensure(total, problem, &io_error);
  if (io_error) return ScanResult::kIOError;
  if (got < total) {
    problem->detail = "record of " + std::to_string(total) + " bytes runs past the end (" +
                      std::to_string(got) + " present)";
    return ScanResult::kTruncated;
  }
  h = buf_.get() + (next_ - buf_offset_);
  uint32_t actual_crc = crc32c::Value(h + 8, 1 + length);
  if (actual_crc != stored_crc) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "record checksum expected %08x, got %08x", stored_crc,
                  actual_crc);
    problem->expected_crc = stored_crc;
    problem->actual_crc = actual_crc;
    problem->detail = buf;
    return ScanResult::kBadChecksum;
  }
  rec->position = next_;
  rec->type = static_cast<log_format::RecordType>(type);
  rec->body = std::string_view(h + kRecordHeaderSize, length);
  next_ += total;
  return ScanResult::kRecord;
}

LogCursor::LogCursor(const SegmentSet* set, uint64_t start, uint64_t end, size_t initial_readahead)
    : set_(set), readahead_(initial_readahead), end_(end), pos_(start) {}

uint64_t LogCursor::position() const { return pos_; }

bool LogCursor::OpenSegment(uint64_t position) {
  seg_ = set_->Find(position);
  if (!seg_) {
    seg_ = set_->First();
    if (!seg_ || seg_->base < position) return false;
  }
  if (position < FirstRecordPosition(seg_->base)) position = FirstRecordPosition(seg_->base);
  pos_ = position;
  auto next = set_->After(seg_->base);
  uint64_t seg_end = next ? std::min(end_, next->base) : end_;
  uint64_t limit = seg_end > seg_->base ? seg_end - seg_->base : 0;
  scanner_ =
      std::make_unique<SegmentScanner>(seg_->file.get(), pos_ - seg_->base, limit, readahead_);
  return true;
}

Result<bool> LogCursor::Next(RawRecord* rec) {
  while (true) {
    if (pos_ >= end_) return false;
    if (!scanner_ && !OpenSegment(pos_)) return false;
    ScanProblem problem;
    ScanResult r = scanner_->Next(rec, &problem);
    if (r == ScanResult::kRecord) {
      rec->position += seg_->base;
      pos_ = seg_->base + scanner_->offset();
      return true;
    }
    if (r == ScanResult::kEnd) {
      auto next = set_->After(seg_->base);
      if (!next || next->base >= end_) {
        pos_ = std::max(pos_, std::min(end_, next ? next->base : end_));
        return false;
      }
      scanner_.reset();
      pos_ = FirstRecordPosition(next->base);
      continue;
    }
    if (r == ScanResult::kIOError) return Status::IOError(seg_->path + ": " + problem.detail);
    return Status::Corruption(seg_->path + " at offset " + std::to_string(problem.offset) +
                              " (position " + std::to_string(seg_->base + problem.offset) +
                              "): " + problem.detail);
  }
}

}  // namespace kiroku
