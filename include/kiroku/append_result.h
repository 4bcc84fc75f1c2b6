// What an append or a delete reports back, in the embedded store and over the wire alike.
// Plain values.
#pragma once

#include <functional>

#include "kiroku/event.h"
#include "kiroku/status.h"

namespace kiroku {

struct AppendResult {
  StreamRevision current_revision;  // revision of the last event written (next expected)
  Position position;                // position of the last event written
};

struct DeleteResult {
  Position position;  // position of the metadata / tombstone event written
};

// Runs once when an asynchronous append is durable or has failed.
using AppendCallback = std::function<void(Result<AppendResult>)>;

}  // namespace kiroku
