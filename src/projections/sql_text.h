// Lexing of projection SQL text: splitting a script into statements and replacing named
// parameters (`:data.group_id`) with the target database's positional placeholders.
//
// The lexer knows enough SQL to not look inside '…' strings, "…" and `…` identifiers,
// -- and /* */ comments, PostgreSQL $tag$…$tag$ strings and `::` casts. Thread-safety: pure.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/status.h"
#include "projections/event_params.h"

namespace kiroku::projections {

struct SqlChunk {
  std::string sql;  // trimmed, without the terminating ';'
  int line = 0;     // 0-based line within the script where the statement starts
};
// Splits at top-level ';'. Blank statements are dropped.
std::vector<SqlChunk> SplitSqlStatements(std::string_view script);

struct RewrittenSql {
  std::string sql;               // with placeholders
  std::vector<ParamRef> params;  // params[n-1] is bound to placeholder n
};
// Replaces each `:name` by placeholder(n), n from 1; a name used twice gets the same n.
// InvalidArgument for an unknown parameter name.
Result<RewrittenSql> RewriteNamedParams(std::string_view sql,
                                        const std::function<std::string(int)>& placeholder);

// True if the statement is a plain (non-unique) CREATE INDEX: a rebuild defers those until
// it has caught up. Unique indexes are never deferred, since statements may rely on them
// (ON CONFLICT).
bool IsDeferrableIndex(std::string_view sql);

}  // namespace kiroku::projections
