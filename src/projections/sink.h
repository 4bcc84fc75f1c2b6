// A connection to the database that holds one version of a projection's read model.
//
// Two implementations: SQLite (sqlite_sink.cc) and PostgreSQL (postgres_sink.cc). Where a
// version lives (target.h): SQLite target `sqlite:PATH` keeps version N in the file
// `PATH.vN`, and PATH is a symlink to the live version's file; PostgreSQL keeps version N
// in schema `<name>_vN` (the connection's search_path), and schema `<name>` holds one view
// per table of the live version.
//
// Statement errors carry the database's own message. Execute may be pipelined (the
// PostgreSQL sink sends statements without waiting): an error may then surface on a later
// Execute, on Commit, and failed_tag() names the tag of the call that failed.
// Thread-safety: none; one thread uses a sink at a time. The sink owns its connection.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiroku/status.h"
#include "projections/event_params.h"

namespace kiroku::projections {

enum class SinkMode : uint8_t {
  kLive,     // durable commits (SQLite synchronous=FULL, PostgreSQL synchronous_commit=on)
  kRebuild,  // bulk: large cache, commits survive a process crash but not a power loss
};

using SqlRow = std::vector<std::optional<std::string>>;  // text form, nullopt = NULL

class Sink {
 public:
  virtual ~Sink() = default;

  // "?3" for SQLite, "$3" for PostgreSQL.
  virtual std::string Placeholder(int n) const = 0;
  // Runs one statement without parameters (DDL, BEGIN, …).
  virtual Status Exec(const std::string& sql) = 0;
  // Prepares a statement with placeholders; returns its handle. The error is the
  // database's message (syntax error, no such table, …).
  virtual Result<int> Prepare(const std::string& sql) = 0;
  virtual Status Begin() = 0;
  // A read-only transaction whose reads all see one snapshot (verify). End with Rollback.
  virtual Status BeginSnapshot() = 0;
  virtual Status Execute(int stmt, const std::vector<SqlValue>& params, uint64_t tag) = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // After Execute or Commit failed: the tag of the Execute that caused it, or UINT64_MAX if
  // the failure belongs to no statement (lost connection, disk full at commit).
  virtual uint64_t failed_tag() const = 0;
  // Runs a query and calls `row` for each result row (stop early by returning false).
  virtual Status Query(const std::string& sql, const std::function<bool(const SqlRow&)>& row) = 0;
  // User tables of this version (not the _kiroku_* ones), sorted.
  virtual Result<std::vector<std::string>> ListTables() = 0;
  // Column names of a table in declaration order.
  virtual Result<std::vector<std::string>> ListColumns(const std::string& table) = 0;
  // Name quoted as an SQL identifier.
  std::string Quote(const std::string& ident) const;
};

}  // namespace kiroku::projections
