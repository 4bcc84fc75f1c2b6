// Where a projection's versions live, and the operations on versions as a whole: open one,
// find the live one, make one live (atomically), drop one.
//
// SQLite (`sqlite:PATH`): version N is the database file `PATH.vN`; PATH is a symlink to the
// live file, so a reader that opens PATH gets the live version and switching is one
// rename(2) of a new symlink over PATH. Readers that already have the old file open keep
// reading it until they reopen.
// PostgreSQL (`postgresql://…`): version N is schema `<name>_vN`; schema `<name>` holds one
// view per table of the live version (`SELECT * FROM <name>_vN.table`) and a table
// `_kiroku_live(version)`. Switching replaces the views in one transaction.
// Thread-safety: free functions; each opens its own connection.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "kiroku/status.h"
#include "projections/sink.h"
#include "projections/spec.h"

namespace kiroku::projections {

bool IsPostgresTarget(const std::string& target);

// Opens (creating if missing) the storage of `version` of the spec's projection.
Result<std::unique_ptr<Sink>> OpenVersion(const ProjectionSpec& spec, int64_t version,
                                          SinkMode mode);
// Opens a throwaway database of the spec's target type for validating the spec (SQLite: in
// memory; PostgreSQL: a connection whose work the caller rolls back).
Result<std::unique_ptr<Sink>> OpenScratch(const ProjectionSpec& spec);
// True if version storage exists (file / schema).
Result<bool> VersionExists(const ProjectionSpec& spec, int64_t version);
// The live version, nullopt if none is live yet.
Result<std::optional<int64_t>> LiveVersion(const ProjectionSpec& spec);
// Makes `version` live atomically. The version must exist.
Status SwitchLive(const ProjectionSpec& spec, int64_t version);
// Deletes a version's storage. Refuses the live version.
Status DropVersion(const ProjectionSpec& spec, int64_t version);
// Human description of where a version lives ("read/db.sqlite.v2", "schema learners_v2").
std::string VersionLocation(const ProjectionSpec& spec, int64_t version);

// Backend-specific, used by target.cc.
Result<std::unique_ptr<Sink>> OpenSqliteSink(const std::string& path, SinkMode mode);
Result<std::unique_ptr<Sink>> OpenPostgresSink(const std::string& url, const std::string& schema,
                                               SinkMode mode);

}  // namespace kiroku::projections
