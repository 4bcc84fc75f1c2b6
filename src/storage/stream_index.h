// The RocksDB index over the log: stream heads, per-stream extents (runs of consecutive
// revisions stored back to back in the log), and sparse record boundaries for backward
// `$all` reads. Format: index_format.h.
//
// Thread-safety: reads from any thread; writes only from the committer (or recovery).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace kiroku {

// What the index knows of one stream.
struct StreamState {
  uint64_t id = 0;     // assigned on first write, never reused; 0 = never written
  uint64_t count = 0;  // revisions used so far == the next revision
  bool tombstoned = false;
  std::string metadata_json;  // data of the latest `$$stream` event; empty if none
  bool dirty = false;         // not persisted: queued in an IndexBatch
};

struct IndexCheckpoint {
  uint64_t log_end = 0;  // every transaction before this position is indexed
  uint64_t next_stream_id = 1;
  uint64_t last_sparse = 0;
};

struct Extent {
  uint64_t first_revision = 0;
  uint64_t position = 0;  // of the record holding first_revision
  uint32_t count = 0;
};

// Accumulates the index changes of one or more whole transactions.
class IndexBatch {
 public:
  explicit IndexBatch(uint64_t last_sparse) : last_sparse_(last_sparse) {}
  void BeginTransaction(uint64_t position, bool segment_start);
  void AddEvent(uint64_t stream_id, uint64_t revision, uint64_t position);
  // Queues the head for writing. `name` and `state` must stay valid until the batch is
  // written (they live in StreamHeads' cache); later changes to `state` are included.
  void MarkDirty(std::string_view name, StreamState* state);
  uint64_t last_sparse() const { return last_sparse_; }
  bool empty() const { return extents_.empty() && dirty_.empty() && !open_; }

 private:
  friend class StreamIndex;
  void CloseExtent();

  uint64_t last_sparse_;
  bool open_ = false;
  uint64_t cur_id_ = 0, cur_next_rev_ = 0;
  Extent cur_;
  std::vector<std::pair<uint64_t, Extent>> extents_;  // (stream id, extent)
  std::vector<uint64_t> sparse_;
  std::vector<std::pair<std::string_view, StreamState*>> dirty_;
};

class StreamIndex {
 public:
  static Result<std::unique_ptr<StreamIndex>> Open(const std::string& dir);
  static Status Destroy(const std::string& dir);
  ~StreamIndex();

  Result<IndexCheckpoint> ReadCheckpoint();
  Result<std::optional<StreamState>> GetHead(std::string_view name);
  // Writes the batch and the checkpoint atomically (no WAL: see index_format.h).
  Status Write(IndexBatch* batch, const IndexCheckpoint& checkpoint);
  Status Flush();

  // Extents of `stream_id`: forwards starting with the one holding `from_revision`,
  // or backwards starting with the one holding `from_revision`. Stop when fn returns false.
  Status ExtentsForward(uint64_t stream_id, uint64_t from_revision,
                        const std::function<bool(const Extent&)>& fn);
  Status ExtentsBackward(uint64_t stream_id, uint64_t from_revision,
                         const std::function<bool(const Extent&)>& fn);
  // Greatest sparse boundary <= position.
  Result<std::optional<uint64_t>> SparseAtOrBefore(uint64_t position);

  // For verification.
  Status ForEachHead(const std::function<bool(std::string_view, const StreamState&)>& fn);
  Status ForEachExtent(const std::function<bool(uint64_t, const Extent&)>& fn);

 private:
  explicit StreamIndex(rocksdb::DB* db) : db_(db) {}
  rocksdb::DB* db_;  // owned
};

std::string EncodeHead(const StreamState& s);
bool DecodeHead(std::string_view v, StreamState* s);

}  // namespace kiroku
