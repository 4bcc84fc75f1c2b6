// An Env wrapper for fault tests. It remembers how much of each file is synced, and can
//  - fail the next N syncs (EIO), leaving the written data unsynced;
//  - refuse writes past a disk-space budget (ENOSPC after writing a prefix);
//  - make the next append write only a prefix and fail (short write);
//  - drop every unsynced byte from every file it wrote (power loss).
// Like LevelDB's fault_injection_test Env. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "kiroku/env.h"

namespace kiroku {

class FaultInjectionEnv final : public Env {
 public:
  explicit FaultInjectionEnv(Env* base) : base_(base) {}

  void FailNextSyncs(int n);
  // Total bytes that may still be appended before writes fail with ENOSPC. -1 = unlimited.
  void SetSpaceBudget(int64_t bytes);
  // The next append writes `prefix_bytes` (if it has that many) then fails with EIO.
  void FailNextAppendAfter(uint64_t prefix_bytes);
  // Truncates every file written through this Env to its last synced size.
  Status DropUnsyncedData();
  // Called after each successful sync with the file path and its synced size.
  void OnSync(std::function<void(const std::string&, uint64_t)> hook);

  uint64_t SyncedSize(const std::string& path);

  // Internal, used by the file wrappers.
  Status BeforeAppend(uint64_t size, uint64_t* allowed);
  Status BeforeSync();
  void AfterSync(const std::string& path, uint64_t size);
  void AfterTruncate(const std::string& path, uint64_t size);

  // Env
  Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) override;
  Result<std::unique_ptr<RandomAccessFile>> OpenReadable(const std::string& path) override {
    return base_->OpenReadable(path);
  }
  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    return base_->ListDir(dir);
  }
  Status CreateDirs(const std::string& dir) override { return base_->CreateDirs(dir); }
  Status SyncDir(const std::string& dir) override { return base_->SyncDir(dir); }
  bool FileExists(const std::string& path) override { return base_->FileExists(path); }
  Result<uint64_t> FileSize(const std::string& path) override { return base_->FileSize(path); }
  Status TruncateFile(const std::string& path, uint64_t size) override;
  Status RenameFile(const std::string& from, const std::string& to) override {
    return base_->RenameFile(from, to);
  }
  Status RemoveFile(const std::string& path) override;
  int64_t NowMicros() override { return base_->NowMicros(); }
  Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) override {
    return base_->LockFile(path);
  }

 private:
  Env* base_;
  std::mutex mu_;
  std::map<std::string, uint64_t> synced_;  // path -> synced size
  int fail_syncs_ = 0;
  int64_t space_budget_ = -1;
  int64_t short_write_after_ = -1;
  std::function<void(const std::string&, uint64_t)> on_sync_;
};

}  // namespace kiroku
