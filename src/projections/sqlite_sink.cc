// The SQLite sink: one connection, WAL journal, prepared statements kept for the
// connection's life. BEGIN IMMEDIATE takes the write lock up front so a transaction never
// fails half-way on a lock upgrade while readers query the file.
#include <sqlite3.h>

#include <cctype>

#include "projections/target.h"

namespace kiroku::projections {
namespace {

class SqliteSink final : public Sink {
 public:
  explicit SqliteSink(sqlite3* db) : db_(db) {}
  ~SqliteSink() override {
    for (sqlite3_stmt* s : stmts_) sqlite3_finalize(s);
    if (in_txn_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close_v2(db_);
  }

  std::string Placeholder(int n) const override { return "?" + std::to_string(n); }

  Status Exec(const std::string& sql) override {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Status::InvalidArgument(msg);
    }
    return Status::Ok();
  }

  Result<int> Prepare(const std::string& sql) override {
    sqlite3_stmt* s = nullptr;
    const char* tail = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &s, &tail);
    if (rc != SQLITE_OK) return Status::InvalidArgument(sqlite3_errmsg(db_));
    if (s == nullptr) return Status::InvalidArgument("empty statement");
    for (; tail && *tail; ++tail) {
      if (!std::isspace(static_cast<unsigned char>(*tail)) && *tail != ';') {
        sqlite3_finalize(s);
        return Status::InvalidArgument("one statement per entry expected, found more after: " +
                                       std::string(sqlite3_sql(s)));
      }
    }
    stmts_.push_back(s);
    return static_cast<int>(stmts_.size() - 1);
  }

  Status Begin() override {
    KIROKU_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
    in_txn_ = true;
    return Status::Ok();
  }

  Status BeginSnapshot() override {
    KIROKU_RETURN_IF_ERROR(Exec("BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;"));
    in_txn_ = true;
    return Status::Ok();
  }

  Status Execute(int stmt, const std::vector<SqlValue>& params, uint64_t tag) override {
    failed_tag_ = tag;
    sqlite3_stmt* s = stmts_[stmt];
    sqlite3_reset(s);
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlValue& v = params[i];
      int idx = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      switch (v.kind) {
        case SqlValue::Kind::kNull:
          rc = sqlite3_bind_null(s, idx);
          break;
        case SqlValue::Kind::kInt:
          rc = sqlite3_bind_int64(s, idx, v.i);
          break;
        case SqlValue::Kind::kReal:
          rc = sqlite3_bind_double(s, idx, v.d);
          break;
        case SqlValue::Kind::kText:
          rc = sqlite3_bind_text(s, idx, v.s.data(), static_cast<int>(v.s.size()), SQLITE_STATIC);
          break;
      }
      if (rc != SQLITE_OK) return Status::InvalidArgument(sqlite3_errmsg(db_));
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      std::string msg = sqlite3_errmsg(db_);
      sqlite3_reset(s);
      return Status::InvalidArgument(msg);
    }
    sqlite3_reset(s);
    return Status::Ok();
  }

  Status Commit() override {
    failed_tag_ = UINT64_MAX;
    Status s = Exec("COMMIT");
    if (s.ok()) in_txn_ = false;
    return s.ok() ? s : Status::IOError("commit: " + s.message());
  }

  void Rollback() override {
    if (sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    in_txn_ = false;
  }

  uint64_t failed_tag() const override { return failed_tag_; }

  Status Query(const std::string& sql, const std::function<bool(const SqlRow&)>& row) override {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
      return Status::InvalidArgument(sqlite3_errmsg(db_));
    }
    int cols = sqlite3_column_count(s);
    SqlRow r(cols);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
      for (int c = 0; c < cols; ++c) {
        const unsigned char* t = sqlite3_column_text(s, c);
        if (t == nullptr) {
          r[c].reset();
        } else {
          r[c].emplace(reinterpret_cast<const char*>(t), sqlite3_column_bytes(s, c));
        }
      }
      if (!row(r)) {
        rc = SQLITE_DONE;
        break;
      }
    }
    Status st = rc == SQLITE_DONE ? Status::Ok() : Status::InvalidArgument(sqlite3_errmsg(db_));
    sqlite3_finalize(s);
    return st;
  }

  Result<std::vector<std::string>> ListTables() override {
    std::vector<std::string> out;
    KIROKU_RETURN_IF_ERROR(
        Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
              "AND name NOT LIKE '\\_kiroku\\_%' ESCAPE '\\' ORDER BY name",
              [&](const SqlRow& r) {
                out.push_back(*r[0]);
                return true;
              }));
    return out;
  }

  Result<std::vector<std::string>> ListColumns(const std::string& table) override {
    std::vector<std::string> out;
    KIROKU_RETURN_IF_ERROR(
        Query("SELECT name FROM pragma_table_info(" + QuoteLiteral(table) + ") ORDER BY cid",
              [&](const SqlRow& r) {
                out.push_back(*r[0]);
                return true;
              }));
    return out;
  }

 private:
  static std::string QuoteLiteral(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
      if (c == '\'') out.push_back('\'');
      out.push_back(c);
    }
    return out + "'";
  }

  sqlite3* db_;
  std::vector<sqlite3_stmt*> stmts_;
  uint64_t failed_tag_ = UINT64_MAX;
  bool in_txn_ = false;
};

}  // namespace

Result<std::unique_ptr<Sink>> OpenSqliteSink(const std::string& path, SinkMode mode) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::IOError("sqlite " + path + ": " + msg);
  }
  auto sink = std::make_unique<SqliteSink>(db);
  sqlite3_busy_timeout(db, 30000);
  std::string pragmas = "PRAGMA foreign_keys = ON;";
  if (path != ":memory:") pragmas += "PRAGMA journal_mode = WAL;";
  if (mode == SinkMode::kRebuild) {
    // A process crash keeps every committed transaction (the OS has the pages); a power
    // loss during a rebuild may lose the file, and the rebuild then starts over.
    pragmas += "PRAGMA synchronous = OFF; PRAGMA cache_size = -524288; PRAGMA temp_store = MEMORY;";
  } else {
    pragmas += "PRAGMA synchronous = FULL; PRAGMA cache_size = -65536;";
  }
  Status s = sink->Exec(pragmas);
  if (!s.ok()) return Status::IOError("sqlite " + path + ": " + s.message());
  return std::unique_ptr<Sink>(std::move(sink));
}

std::string Sink::Quote(const std::string& ident) const {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

}  // namespace kiroku::projections
