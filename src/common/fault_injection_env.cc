#include "common/fault_injection_env.h"

#include <errno.h>

namespace kiroku {
namespace {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionEnv* env, std::string path, std::unique_ptr<WritableFile> base)
      : env_(env), path_(std::move(path)), base_(std::move(base)) {}

  Status Append(std::string_view data) override {
    uint64_t allowed = data.size();
    Status injected = env_->BeforeAppend(data.size(), &allowed);
    if (allowed > 0) KIROKU_RETURN_IF_ERROR(base_->Append(data.substr(0, allowed)));
    return injected;
  }
  Status Sync() override {
    KIROKU_RETURN_IF_ERROR(env_->BeforeSync());
    KIROKU_RETURN_IF_ERROR(base_->Sync());
    env_->AfterSync(path_, base_->Size());
    return Status::Ok();
  }
  Status Truncate(uint64_t size) override {
    KIROKU_RETURN_IF_ERROR(base_->Truncate(size));
    env_->AfterTruncate(path_, size);
    return Status::Ok();
  }
  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultInjectionEnv* env_;
  std::string path_;
  std::unique_ptr<WritableFile> base_;
};

}  // namespace

void FaultInjectionEnv::FailNextSyncs(int n) {
  std::lock_guard lock(mu_);
  fail_syncs_ = n;
}

void FaultInjectionEnv::SetSpaceBudget(int64_t bytes) {
  std::lock_guard lock(mu_);
  space_budget_ = bytes;
}

void FaultInjectionEnv::FailNextAppendAfter(uint64_t prefix_bytes) {
  std::lock_guard lock(mu_);
  short_write_after_ = static_cast<int64_t>(prefix_bytes);
}

void FaultInjectionEnv::OnSync(std::function<void(const std::string&, uint64_t)> hook) {
  std::lock_guard lock(mu_);
  on_sync_ = std::move(hook);
}

uint64_t FaultInjectionEnv::SyncedSize(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = synced_.find(path);
  return it == synced_.end() ? 0 : it->second;
}

Status FaultInjectionEnv::BeforeAppend(uint64_t size, uint64_t* allowed) {
  std::lock_guard lock(mu_);
  *allowed = size;
  if (short_write_after_ >= 0) {
    *allowed = std::min<uint64_t>(size, static_cast<uint64_t>(short_write_after_));
    short_write_after_ = -1;
    return PosixError("write (injected short write)", EIO);
  }
  if (space_budget_ >= 0) {
    if (static_cast<int64_t>(size) > space_budget_) {
      *allowed = static_cast<uint64_t>(space_budget_);
      space_budget_ = 0;
      return PosixError("write (injected)", ENOSPC);
    }
    space_budget_ -= static_cast<int64_t>(size);
  }
  return Status::Ok();
}

Status FaultInjectionEnv::BeforeSync() {
  std::lock_guard lock(mu_);
  if (fail_syncs_ > 0) {
    --fail_syncs_;
    return PosixError("fdatasync (injected)", EIO);
  }
  return Status::Ok();
}

void FaultInjectionEnv::AfterSync(const std::string& path, uint64_t size) {
  std::function<void(const std::string&, uint64_t)> hook;
  {
    std::lock_guard lock(mu_);
    synced_[path] = size;
    hook = on_sync_;
  }
  if (hook) hook(path, size);
}

void FaultInjectionEnv::AfterTruncate(const std::string& path, uint64_t size) {
  std::lock_guard lock(mu_);
  auto it = synced_.find(path);
  if (it != synced_.end() && it->second > size) it->second = size;
}

Result<std::unique_ptr<WritableFile>> FaultInjectionEnv::OpenWritable(const std::string& path) {
  KIROKU_ASSIGN_OR_RETURN(auto base, base_->OpenWritable(path));
  {
    std::lock_guard lock(mu_);
    // What existed before we opened it counts as synced (it survived a previous run).
    if (!synced_.count(path)) synced_[path] = base->Size();
  }
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, path, std::move(base)));
}

Status FaultInjectionEnv::TruncateFile(const std::string& path, uint64_t size) {
  KIROKU_RETURN_IF_ERROR(base_->TruncateFile(path, size));
  AfterTruncate(path, size);
  return Status::Ok();
}

Status FaultInjectionEnv::RemoveFile(const std::string& path) {
  KIROKU_RETURN_IF_ERROR(base_->RemoveFile(path));
  std::lock_guard lock(mu_);
  synced_.erase(path);
  return Status::Ok();
}

Status FaultInjectionEnv::DropUnsyncedData() {
  std::map<std::string, uint64_t> files;
  {
    std::lock_guard lock(mu_);
    files = synced_;
  }
  for (const auto& [path, size] : files) {
    if (!base_->FileExists(path)) continue;
    KIROKU_ASSIGN_OR_RETURN(uint64_t actual, base_->FileSize(path));
    if (actual > size) KIROKU_RETURN_IF_ERROR(base_->TruncateFile(path, size));
  }
  return Status::Ok();
}

}  // namespace kiroku
