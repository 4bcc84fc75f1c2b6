#include "storage/stream_heads.h"

#include "storage/log_format.h"

namespace kiroku {

Result<StreamHeads::Ref> StreamHeads::Get(std::string_view name) {
  auto it = cache_.find(name);
  if (it == cache_.end()) {
    KIROKU_ASSIGN_OR_RETURN(std::optional<StreamState> loaded, index_->GetHead(name));
    it = cache_.emplace(std::string(name), loaded ? std::move(*loaded) : StreamState{}).first;
  }
  return Ref{it->first, &it->second};
}

Status ApplyCommitted(StreamHeads* heads, IndexBatch* batch, const CommittedEvent& e) {
  KIROKU_ASSIGN_OR_RETURN(StreamHeads::Ref ref, heads->Get(e.stream));
  StreamState* st = ref.state;
  heads->AssignIdIfNew(st);
  if (e.revision == log_format::kTombstoneRevision && e.type == log_format::kTombstoneEventType) {
    st->tombstoned = true;
  } else {
    if (e.revision != st->count) {
      return Status::Corruption("log position " + std::to_string(e.position) + ": stream '" +
                                std::string(e.stream) + "' has revision " +
                                std::to_string(e.revision) + " where " + std::to_string(st->count) +
                                " was expected");
    }
    st->count = e.revision + 1;
    batch->AddEvent(st->id, e.revision, e.position);
  }
  batch->MarkDirty(ref.name, st);
  // Every event of `$$name` is a metadata document for `name` (validated when appended).
  if (IsMetadataStream(e.stream) && !st->tombstoned) {
    KIROKU_ASSIGN_OR_RETURN(StreamHeads::Ref target, heads->Get(e.stream.substr(2)));
    target.state->metadata_json.assign(e.data);
    batch->MarkDirty(target.name, target.state);
  }
  return Status::Ok();
}

StreamMetadata ParseMetadataOrEmpty(std::string_view json) {
  if (json.empty()) return {};
  auto r = StreamMetadata::FromJson(json);
  return r.ok() ? std::move(r).value() : StreamMetadata{};
}

bool IsSoftDeleted(const StreamState& s) {
  if (s.metadata_json.empty()) return false;
  StreamMetadata m = ParseMetadataOrEmpty(s.metadata_json);
  return m.truncate_before && m.truncate_before->value == kSoftDeletedTruncateBefore;
}

}  // namespace kiroku
