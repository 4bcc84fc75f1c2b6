// A projection spec: the YAML file that declares a SQL read model (docs/projections.md).
//
// ParseSpecFile checks everything that can be checked without a database: required keys,
// types, unknown keys, the target URL, and every statement's named parameters. Errors are
// InvalidArgument with "FILE:LINE: message". Statements are checked against the database
// later (ProjectionRunner::Open / ValidateSpec), with the same FILE:LINE prefix.
// Thread-safety: a parsed spec is an immutable value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku::projections {

// Which events a projection reads. Categories and streams are alternatives (an event
// matches if its stream is in either); event_types further restricts. With none of them the
// projection reads `$all` (optionally narrowed by `filter`). System events (type starting
// with '$') are never delivered.
struct SpecSource {
  std::vector<std::string> categories;
  std::vector<std::string> streams;
  std::vector<std::string> event_types;
  EventFilter filter;  // `source: {all: true, filter: {...}}`

  bool Matches(std::string_view stream, std::string_view type) const;
};

struct SpecStatement {
  std::string sql;  // one statement, named parameters not yet replaced
  int line = 0;     // 1-based line in the spec file
};

struct SpecHandler {
  std::string event_type;
  std::vector<SpecStatement> statements;  // run in order, in the batch's transaction
};

enum class OnError : uint8_t { kStop, kSkip };

struct ProjectionSpec {
  std::string file;  // as given to ParseSpecFile ("<text>" for ParseSpecText)
  std::string name;  // [A-Za-z_][A-Za-z0-9_]*
  int64_t version = 1;
  SpecSource source;
  std::string target;  // "sqlite:PATH" or "postgresql://…"
  int target_line = 0;
  std::vector<SpecStatement> schema;  // DDL statements, in order
  std::vector<SpecHandler> handlers;  // in file order
  OnError on_error = OnError::kStop;
  // Live batching: commit after this many events or this many ms since the transaction's
  // first event, or whenever the source has nothing more to deliver right now.
  uint32_t batch_events = 1000;
  uint32_t batch_ms = 50;
  // Rebuild batching and index deferral.
  uint32_t rebuild_batch_events = 50000;
  bool defer_indexes = true;

  const SpecHandler* HandlerFor(std::string_view type) const;
  // The server-side `$all` filter that covers Matches() (it may let through more).
  EventFilter ServerFilter() const;
  // "FILE:LINE: " for messages.
  std::string Where(int line) const;
};

Result<ProjectionSpec> ParseSpecFile(const std::string& path);
// `target` may name environment variables: ${NAME} (an error if unset or empty) and
// ${NAME:-default}. Used so one spec serves SQLite by default and PostgreSQL by setting one
// variable in the server's environment.
Result<std::string> ExpandEnvironment(std::string_view text);
Result<ProjectionSpec> ParseSpecText(const std::string& text, const std::string& file_name);

}  // namespace kiroku::projections
