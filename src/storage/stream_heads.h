// The committer's view of every stream it has touched, and the one function that turns a
// committed event into head and index changes. Recovery replays the log through the same
// function, so the state after a restart is by construction the state before it.
//
// Single-threaded: owned by the committer (or by recovery before the committer starts).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "kiroku/store.h"
#include "storage/stream_index.h"

namespace kiroku {

class StreamHeads {
 public:
  StreamHeads(StreamIndex* index, uint64_t next_stream_id)
      : index_(index), next_stream_id_(next_stream_id) {}

  struct Ref {
    std::string_view name;  // the cache's own copy: stable for the life of this object
    StreamState* state;     // stable for the life of this object
  };
  // The state of `name`, loaded from the index on first use; a never-written stream has
  // id 0 and count 0.
  Result<Ref> Get(std::string_view name);
  uint64_t next_stream_id() const { return next_stream_id_; }
  void AssignIdIfNew(StreamState* s) {
    if (s->id == 0) s->id = next_stream_id_++;
  }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  StreamIndex* index_;
  uint64_t next_stream_id_;
  std::unordered_map<std::string, StreamState, Hash, std::equal_to<>> cache_;
};

// A committed event as the head logic needs it.
struct CommittedEvent {
  std::string_view stream;
  uint64_t revision;
  std::string_view type;
  std::string_view data;
  uint64_t position;
};

// Applies one committed event: advances the stream's count (the revision must equal it,
// else Corruption), records tombstones and metadata, and queues index changes.
Status ApplyCommitted(StreamHeads* heads, IndexBatch* batch, const CommittedEvent& e);

// Helpers over a stream's metadata JSON.
// The $tb value KurrentDB's soft delete writes (i64 max): the stream reads as not found.
inline constexpr uint64_t kSoftDeletedTruncateBefore = 0x7fffffffffffffffull;
// Parsed metadata; unparseable text yields empty metadata (it was validated on write).
StreamMetadata ParseMetadataOrEmpty(std::string_view json);
bool IsSoftDeleted(const StreamState& s);

}  // namespace kiroku
