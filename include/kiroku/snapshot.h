// Snapshots of a stream's folded state, written in the same transaction as the events they
// cover (Store::AppendWithSnapshot, EventStore::AppendWithSnapshot). Plain values.
#pragma once

#include <cstdint>
#include <string>

#include "kiroku/event.h"

namespace kiroku {

// A snapshot of a stream's folded state, as proposed by a writer (Store::AppendWithSnapshot).
// The store does not interpret `data`; `schema_version` tells a reader which codec wrote it.
struct SnapshotData {
  uint32_t schema_version = 1;
  ContentType content_type = ContentType::kJson;
  std::string data;
};

struct SnapshotOptions {
  // > 0: only the newest `keep_last` snapshots of the stream stay readable (the store sets
  // $maxCount on the snapshot stream in the same transaction). 0 keeps every snapshot.
  uint32_t keep_last = 0;
  // Also hide the stream's events before the snapshot's revision ($tb = covered revision),
  // in the same transaction. Readers that do not use snapshots no longer see those events.
  bool truncate_before = false;
};

// A snapshot as stored. It lives in the system stream SnapshotStreamOf(stream)
// (docs/format/log.md, "Snapshots").
struct StoredSnapshot {
  StreamRevision revision;  // the last event of the stream the snapshot covers
  uint32_t schema_version = 0;
  ContentType content_type = ContentType::kJson;
  std::string data;
  Position position;  // of the snapshot record in the log
  int64_t created_us = 0;
};

}  // namespace kiroku
