#include "storage/log_writer.h"

#include "storage/record_codec.h"

namespace kiroku {

Result<std::unique_ptr<LogWriter>> LogWriter::Open(Env* env, std::string dir, SegmentSet* segments,
                                                   uint64_t active_base, uint64_t size,
                                                   uint64_t segment_size) {
  std::string path = dir + "/" + SegmentFileName(active_base);
  KIROKU_ASSIGN_OR_RETURN(auto file, env->OpenWritable(path));
  if (file->Size() != size) KIROKU_RETURN_IF_ERROR(file->Truncate(size));
  return std::unique_ptr<LogWriter>(
      new LogWriter(env, std::move(dir), segments, active_base, std::move(file), segment_size));
}

Status LogWriter::CreateSegment(Env* env, const std::string& dir, SegmentSet* segments,
                                uint64_t base) {
  std::string path = dir + "/" + SegmentFileName(base);
  {
    KIROKU_ASSIGN_OR_RETURN(auto file, env->OpenWritable(path));
    KIROKU_RETURN_IF_ERROR(file->Truncate(0));
    KIROKU_RETURN_IF_ERROR(file->Append(EncodeSegmentHeader(base)));
    KIROKU_RETURN_IF_ERROR(file->Sync());
  }
  // The directory entry must be durable too, or a power loss could lose the whole file.
  KIROKU_RETURN_IF_ERROR(env->SyncDir(dir));
  KIROKU_ASSIGN_OR_RETURN(auto reader, env->OpenReadable(path));
  auto seg = std::make_shared<Segment>();
  seg->base = base;
  seg->path = path;
  seg->file = std::move(reader);
  segments->Add(std::move(seg));
  return Status::Ok();
}

Status LogWriter::MaybeRoll() {
  if (broken_) return Status::IOError("log writer is broken after a failed truncate; reopen");
  if (file_->Size() < segment_size_) return Status::Ok();
  KIROKU_RETURN_IF_ERROR(file_->Sync());
  uint64_t next_base = end();
  KIROKU_RETURN_IF_ERROR(CreateSegment(env_, dir_, segments_, next_base));
  KIROKU_ASSIGN_OR_RETURN(auto file, env_->OpenWritable(dir_ + "/" + SegmentFileName(next_base)));
  file_ = std::move(file);
  base_ = next_base;
  return Status::Ok();
}

Status LogWriter::Write(std::string_view bytes) {
  if (broken_) return Status::IOError("log writer is broken after a failed truncate; reopen");
  uint64_t before = file_->Size();
  Status s = file_->Append(bytes);
  if (!s.ok()) {
    // Leave no partial group behind: a later group must start at a clean boundary.
    if (!file_->Truncate(before).ok()) broken_ = true;
  }
  return s;
}

Status LogWriter::Sync() {
  if (broken_) return Status::IOError("log writer is broken after a failed truncate; reopen");
  return file_->Sync();
}

Status LogWriter::TruncateTo(uint64_t position) {
  if (position < base_ || position > end()) {
    broken_ = true;
    return Status::IOError("truncate target outside the active segment");
  }
  Status s = file_->Truncate(position - base_);
  if (!s.ok()) {
    broken_ = true;
    return s;
  }
  return Status::Ok();
}

}  // namespace kiroku
