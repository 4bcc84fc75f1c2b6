// The file-system and clock seam. All log I/O goes through an Env so tests can inject
// short writes, failing fsync, ENOSPC and power loss (dropping unsynced data).
//
// Public, as LevelDB's Env is, and on purpose: StoreOptions::env, VerifyStore and
// ReindexStore take one, so an application that embeds kiroku can put the store on its own
// file system layer or run its own fault tests against the engine it ships. What stays
// internal is the fault injector itself (src/common/fault_injection_env.h), a test tool
// whose knobs may change. The interface only grows: existing methods keep their meaning.
//
// Implementations must be thread-safe for distinct file objects. A WritableFile is used by
// one thread at a time; a RandomAccessFile may be read by many threads concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/status.h"

namespace kiroku {

class WritableFile {
 public:
  virtual ~WritableFile() = default;
  // Writes all of `data` at the current end. On failure (ENOSPC, EIO) some prefix may have
  // been written; the caller truncates back to a known size.
  virtual Status Append(std::string_view data) = 0;
  virtual Status Sync() = 0;  // fdatasync
  virtual Status Truncate(uint64_t size) = 0;
  virtual uint64_t Size() const = 0;  // bytes written through this object so far
};

class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset into scratch; returns the bytes read (short at EOF).
  virtual Result<size_t> Read(uint64_t offset, size_t n, char* scratch) const = 0;
};

// An exclusive advisory lock on a file, released when destroyed.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;
  // Opens `path` for appending at its current end, creating it if missing.
  virtual Result<std::unique_ptr<WritableFile>> OpenWritable(const std::string& path) = 0;
  virtual Result<std::unique_ptr<RandomAccessFile>> OpenReadable(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& dir) = 0;
  virtual Status CreateDirs(const std::string& dir) = 0;
  virtual Status SyncDir(const std::string& dir) = 0;  // makes created/renamed entries durable
  virtual bool FileExists(const std::string& path) = 0;
  virtual Result<uint64_t> FileSize(const std::string& path) = 0;
  virtual Status TruncateFile(const std::string& path, uint64_t size) = 0;
  virtual Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual Status RemoveFile(const std::string& path) = 0;
  virtual int64_t NowMicros() = 0;  // wall clock, microseconds since the Unix epoch
  // Fails at once (IOError naming the path) if another process holds the lock.
  virtual Result<std::unique_ptr<FileLock>> LockFile(const std::string& path) = 0;
};

// The real file system. The returned Env has no state; one per store is fine.
std::unique_ptr<Env> NewPosixEnv();

// "open /x/y: No space left on device"
Status PosixError(const std::string& context, int err);

}  // namespace kiroku
