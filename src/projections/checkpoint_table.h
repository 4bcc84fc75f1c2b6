// The checkpoint and dead-letter tables kept in each projection version's own database
// (docs/format/projection_checkpoint.md). The checkpoint row is updated in the same
// transaction as the rows an event batch writes, which is what makes a projection's effect
// exactly-once across crashes.
// Thread-safety: none; used by the one thread that owns the sink.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "projections/sink.h"

namespace kiroku::projections {

inline constexpr int kCheckpointFormatVersion = 1;
inline constexpr const char* kCheckpointTable = "_kiroku_checkpoint";
inline constexpr const char* kDeadLetterTable = "_kiroku_dead_letter";

struct CheckpointRow {
  std::string projection;
  int64_t version = 0;
  std::optional<Position> position;  // last event processed; nullopt = none yet
  uint64_t events_applied = 0;
  uint64_t events_skipped = 0;
  int64_t last_event_created_us = 0;
  std::string state;         // see ProjectionStatus::state
  std::string last_error;    // ProjectionError JSON, empty if none
  std::string deferred_ddl;  // index DDL a rebuild runs once caught up, ";\n"-separated
  double events_per_second = 0;
  int64_t updated_us = 0;
};

struct DeadLetter {
  const RecordedEvent* event = nullptr;
  std::string statement;
  std::string error;
};

class CheckpointTable {
 public:
  // Creates both tables if missing (inside the caller's transaction).
  static Status CreateIfMissing(Sink* sink);
  static Result<std::optional<CheckpointRow>> Read(Sink* sink, const std::string& projection);

  explicit CheckpointTable(Sink* sink) : sink_(sink) {}
  // Prepares the write statements; call once per connection.
  Status Prepare();
  Status Insert(const CheckpointRow& row);
  Status Update(const CheckpointRow& row, uint64_t tag);
  Status AddDeadLetter(const std::string& projection, const DeadLetter& d, int64_t now_us,
                       uint64_t tag);

 private:
  std::vector<SqlValue> Values(const CheckpointRow& row) const;

  Sink* sink_;
  int insert_ = -1, update_ = -1, dead_letter_ = -1;
};

}  // namespace kiroku::projections
