// Stream metadata (`$$stream`): $maxCount, $maxAge, $tb, $cacheControl, $acl and custom
// keys, in KurrentDB's JSON form. Plain values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kiroku/event.h"
#include "kiroku/status.h"

namespace kiroku {

struct StreamMetadata {
  std::optional<uint64_t> max_count;                  // $maxCount
  std::optional<std::chrono::seconds> max_age;        // $maxAge
  std::optional<StreamRevision> truncate_before;      // $tb
  std::optional<std::chrono::seconds> cache_control;  // $cacheControl
  std::string acl_json;                               // $acl, raw JSON object text, empty if absent
  std::string custom_json;  // other keys as a JSON object text, empty if none

  // Serialise to the KurrentDB metadata JSON document.
  std::string ToJson() const;
  // Parse a KurrentDB metadata JSON document; InvalidArgument if malformed.
  static Result<StreamMetadata> FromJson(std::string_view json);
  bool operator==(const StreamMetadata&) const = default;
};

struct StreamMetadataResult {
  StreamMetadata metadata;
  // Revision of the latest `$$stream` event, nullopt if metadata was never set.
  std::optional<StreamRevision> metastream_revision;
};

}  // namespace kiroku
