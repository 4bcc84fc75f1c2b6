// What a projection reports about itself: state, position, lag, rate and the last error.
// Rendered as JSON (CLI --json, HTTP /projections) and Prometheus text (/metrics).
// Thread-safety: values only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kiroku/event.h"

namespace kiroku::projections {

// The event, statement and database error that stopped (or was skipped by) a projection.
struct ProjectionError {
  Position position;
  std::string stream;
  uint64_t revision = 0;
  std::string event_type;
  std::string statement;  // SQL as written in the spec
  std::string where;      // "spec.yaml:12"
  std::string error;      // the database's message
  int64_t at_us = 0;

  std::string ToJson() const;
  static std::optional<ProjectionError> FromJson(const std::string& json);
};

struct ProjectionStatus {
  std::string name;
  int64_t version = 0;
  std::string state;                 // starting | running | stopped | failed | rebuilding | built
  std::optional<Position> position;  // last event processed
  uint64_t events_applied = 0;       // events that ran statements
  uint64_t events_skipped = 0;       // dead-lettered
  double events_per_second = 0;
  int64_t last_event_created_us = 0;
  int64_t updated_us = 0;
  // From the source's tail; unknown until computed.
  std::optional<uint64_t> lag_events;
  bool lag_capped = false;
  double lag_seconds = 0;
  std::optional<ProjectionError> last_error;

  std::string ToJson() const;
  std::string ToHuman() const;
};

// Prometheus text for a set of projections (HELP/TYPE lines once per metric).
std::string ProjectionMetricsText(const std::vector<ProjectionStatus>& all);

}  // namespace kiroku::projections
