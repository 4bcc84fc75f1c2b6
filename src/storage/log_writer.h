// Appends commit groups to the active segment and rolls to a new segment when it is full.
//
// Invariant: after every call returns, the active file holds exactly end() - base bytes:
// a failed write is truncated back, so a failed group leaves no bytes behind. If that
// truncation itself fails the writer is broken() and refuses further writes (the store
// must be reopened, where recovery drops the unacknowledged tail).
// Single-threaded: owned and used by the committer thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "kiroku/env.h"
#include "storage/segment_reader.h"

namespace kiroku {

class LogWriter {
 public:
  // `active` is the last segment (already recovered); `size` its valid length in bytes.
  static Result<std::unique_ptr<LogWriter>> Open(Env* env, std::string dir, SegmentSet* segments,
                                                 uint64_t active_base, uint64_t size,
                                                 uint64_t segment_size);

  // Creates the first segment of an empty log and adds it to `segments`.
  static Status CreateSegment(Env* env, const std::string& dir, SegmentSet* segments,
                              uint64_t base);

  uint64_t end() const { return base_ + file_->Size(); }  // position of the next record
  uint64_t base() const { return base_; }                 // of the active segment
  bool broken() const { return broken_; }

  // Seals the active segment and starts a new one if it is at or past its target size.
  Status MaybeRoll();
  Status Write(std::string_view bytes);
  Status Sync();
  // Drops bytes past `position` (which must be in the active segment) and syncs.
  Status TruncateTo(uint64_t position);

 private:
  LogWriter(Env* env, std::string dir, SegmentSet* segments, uint64_t base,
            std::unique_ptr<WritableFile> file, uint64_t segment_size)
      : env_(env),
        dir_(std::move(dir)),
        segments_(segments),
        base_(base),
        file_(std::move(file)),
        segment_size_(segment_size) {}

  Env* env_;
  std::string dir_;
  SegmentSet* segments_;
  uint64_t base_;
  std::unique_ptr<WritableFile> file_;
  uint64_t segment_size_;
  bool broken_ = false;
};

}  // namespace kiroku
