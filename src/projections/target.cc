#include "projections/target.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kiroku::projections {
namespace {

namespace fs = std::filesystem;

std::string SqlitePath(const ProjectionSpec& spec) {
  return spec.target.substr(std::string_view("sqlite:").size());
}
std::string VersionFile(const ProjectionSpec& spec, int64_t version) {
  return SqlitePath(spec) + ".v" + std::to_string(version);
}
std::string VersionSchema(const ProjectionSpec& spec, int64_t version) {
  return spec.name + "_v" + std::to_string(version);
}

// The version a SQLite live symlink points to, nullopt if there is no link.
Result<std::optional<int64_t>> SqliteLive(const ProjectionSpec& spec) {
  std::string link = SqlitePath(spec);
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(link, ec))) {
    if (fs::exists(link, ec)) {
      return Status::InvalidArgument(link +
                                     " exists and is not a symlink kiroku manages; "
                                     "move it away");
    }
    return std::optional<int64_t>();
  }
  std::string target = fs::read_symlink(link, ec).filename().string();
  std::string prefix = fs::path(link).filename().string() + ".v";
  if (ec || target.rfind(prefix, 0) != 0) {
    return Status::InvalidArgument(link + " points to " + target + ", not a version file");
  }
  try {
    return std::optional<int64_t>(std::stoll(target.substr(prefix.size())));
  } catch (const std::exception&) {
    return Status::InvalidArgument(link + " points to " + target + ", not a version file");
  }
}

Status SqliteSwitch(const ProjectionSpec& spec, int64_t version) {
  std::string link = SqlitePath(spec);
  std::string tmp = link + ".switch-" + std::to_string(getpid());
  std::string target = fs::path(VersionFile(spec, version)).filename().string();
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0) {
    return Status::IOError("symlink " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), link.c_str()) != 0) {
    int e = errno;
    ::unlink(tmp.c_str());
    return Status::IOError("rename " + tmp + " -> " + link + ": " + std::strerror(e));
  }
  return Status::Ok();
}

Result<std::unique_ptr<Sink>> OpenLiveSchemaConnection(const ProjectionSpec& spec) {
  return OpenPostgresSink(spec.target, spec.name, SinkMode::kLive);
}

}  // namespace

bool IsPostgresTarget(const std::string& target) {
  return target.rfind("postgresql://", 0) == 0 || target.rfind("postgres://", 0) == 0;
}

std::string VersionLocation(const ProjectionSpec& spec, int64_t version) {
  if (IsPostgresTarget(spec.target)) return "schema " + VersionSchema(spec, version);
  return VersionFile(spec, version);
}

Result<std::unique_ptr<Sink>> OpenVersion(const ProjectionSpec& spec, int64_t version,
                                          SinkMode mode) {
  if (IsPostgresTarget(spec.target)) {
    return OpenPostgresSink(spec.target, VersionSchema(spec, version), mode);
  }
  return OpenSqliteSink(VersionFile(spec, version), mode);
}

Result<std::unique_ptr<Sink>> OpenScratch(const ProjectionSpec& spec) {
  if (IsPostgresTarget(spec.target))
    return OpenPostgresSink(spec.target, "pg_temp", SinkMode::kLive);
  return OpenSqliteSink(":memory:", SinkMode::kLive);
}

Result<bool> VersionExists(const ProjectionSpec& spec, int64_t version) {
  if (IsPostgresTarget(spec.target)) {
    KIROKU_ASSIGN_OR_RETURN(auto conn, OpenPostgresSink(spec.target, "public", SinkMode::kLive));
    bool found = false;
    KIROKU_RETURN_IF_ERROR(
        conn->Query("SELECT 1 FROM information_schema.schemata WHERE schema_name = '" +
                        VersionSchema(spec, version) + "'",
                    [&](const SqlRow&) {
                      found = true;
                      return false;
                    }));
    return found;
  }
  std::error_code ec;
  return fs::exists(VersionFile(spec, version), ec);
}

Result<std::optional<int64_t>> LiveVersion(const ProjectionSpec& spec) {
  if (!IsPostgresTarget(spec.target)) return SqliteLive(spec);
  KIROKU_ASSIGN_OR_RETURN(auto conn, OpenLiveSchemaConnection(spec));
  std::optional<int64_t> v;
  Status s = conn->Query("SELECT version FROM _kiroku_live", [&](const SqlRow& r) {
    if (r[0]) v = std::stoll(*r[0]);
    return false;
  });
  if (!s.ok()) return std::optional<int64_t>();  // no table: nothing live yet
  return v;
}

Status SwitchLive(const ProjectionSpec& spec, int64_t version) {
  KIROKU_ASSIGN_OR_RETURN(bool exists, VersionExists(spec, version));
  if (!exists) {
    return Status::NotFound("version " + std::to_string(version) + " of " + spec.name +
                            " does not exist (" + VersionLocation(spec, version) + ")");
  }
  if (!IsPostgresTarget(spec.target)) return SqliteSwitch(spec, version);
  KIROKU_ASSIGN_OR_RETURN(
      auto versioned, OpenPostgresSink(spec.target, VersionSchema(spec, version), SinkMode::kLive));
  KIROKU_ASSIGN_OR_RETURN(std::vector<std::string> tables, versioned->ListTables());
  KIROKU_ASSIGN_OR_RETURN(auto conn, OpenLiveSchemaConnection(spec));
  const std::string live = conn->Quote(spec.name);
  const std::string src = conn->Quote(VersionSchema(spec, version));
  // One transaction: readers see the old views or the new ones, never a mix.
  std::string sql = "BEGIN;";
  std::vector<std::string> old_views;
  KIROKU_RETURN_IF_ERROR(conn->Query(
      "SELECT table_name FROM information_schema.views WHERE table_schema = '" + spec.name + "'",
      [&](const SqlRow& r) {
        old_views.push_back(*r[0]);
        return true;
      }));
  for (const std::string& v : old_views) sql += "DROP VIEW " + live + "." + conn->Quote(v) + ";";
  for (const std::string& t : tables) {
    sql += "CREATE VIEW " + live + "." + conn->Quote(t) + " AS SELECT * FROM " + src + "." +
           conn->Quote(t) + ";";
  }
  sql += "CREATE TABLE IF NOT EXISTS " + live + "._kiroku_live(version BIGINT NOT NULL);";
  sql += "DELETE FROM " + live + "._kiroku_live;";
  sql += "INSERT INTO " + live + "._kiroku_live VALUES (" + std::to_string(version) + ");";
  sql += "COMMIT;";
  Status s = conn->Exec(sql);
  if (!s.ok()) {
    (void)conn->Exec("ROLLBACK");
    return Status::IOError("switch " + spec.name + " to version " + std::to_string(version) + ": " +
                           s.message());
  }
  return Status::Ok();
}

Status DropVersion(const ProjectionSpec& spec, int64_t version) {
  KIROKU_ASSIGN_OR_RETURN(std::optional<int64_t> live, LiveVersion(spec));
  if (live && *live == version) {
    return Status::InvalidArgument("version " + std::to_string(version) + " of " + spec.name +
                                   " is live; switch to another version first");
  }
  if (IsPostgresTarget(spec.target)) {
    KIROKU_ASSIGN_OR_RETURN(auto conn, OpenPostgresSink(spec.target, "public", SinkMode::kLive));
    return conn->Exec("DROP SCHEMA IF EXISTS " + conn->Quote(VersionSchema(spec, version)) +
                      " CASCADE");
  }
  std::string file = VersionFile(spec, version);
  std::error_code ec;
  if (!fs::exists(file, ec)) return Status::NotFound(file + " does not exist");
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file + suffix, ec);
  return Status::Ok();
}

}  // namespace kiroku::projections
