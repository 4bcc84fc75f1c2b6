// The SQLite read model: read-only connections to the projection's live path, pooled.
// The path is a symlink the projection manages (PATH -> PATH.vN); a connection remembers
// which file it opened and is replaced once the link points to another version, so a
// `kiroku projection switch` reaches the service without a restart.
#include <sqlite3.h>

#include <filesystem>
#include <mutex>
#include <vector>

#include "read_model.h"

namespace studylog {
namespace {

using kiroku::Result;
using kiroku::Status;
namespace fs = std::filesystem;

struct Connection {
  sqlite3* db = nullptr;
  std::string file;  // what the live path resolved to when opened
  ~Connection() { sqlite3_close_v2(db); }
};

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) {
    rc_ = sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }
  std::string Text(int i) {
    const unsigned char* t = sqlite3_column_text(s_, i);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(s_, i)))
             : std::string();
  }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

class SqliteReadModel final : public ReadModel {
 public:
  explicit SqliteReadModel(std::string path) : path_(std::move(path)) {}

  Result<bool> GroupExists(const std::string& group_id) override {
    bool found = false;
    KIROKU_RETURN_IF_ERROR(Run(
        "SELECT 1 FROM study_groups WHERE group_id = ?1", [&](Stmt& s) { s.Bind(1, group_id); },
        [&](Stmt&) { found = true; }));
    return found;
  }

  Result<Page> GroupPage(const PageRequest& r) override {
    std::vector<MemberRow> rows;
    KIROKU_RETURN_IF_ERROR(Run(
        PageSql(r, "", /*numbered_placeholders=*/false),
        [&](Stmt& s) {
          int i = 1;
          s.Bind(i++, r.group_id);
          if (r.after) {
            if (r.sort == SortKey::kLastStudied) {
              s.Bind(i++, r.after->text);
            } else {
              s.Bind(i++, r.after->number);
            }
            s.Bind(i++, r.after->learner_id);
          }
          s.Bind(i, static_cast<int64_t>(r.limit) + 1);
        },
        [&](Stmt& s) {
          rows.push_back({s.Text(0), s.Text(1), sqlite3_column_int64(s.get(), 2),
                          sqlite3_column_int64(s.get(), 3), s.Text(4)});
        }));
    return PageFromRows(std::move(rows), r);
  }

  Result<std::optional<LearnerSummary>> Learner(const std::string& id) override {
    std::optional<LearnerSummary> out;
    KIROKU_RETURN_IF_ERROR(Run(
        "SELECT learner_id, name, study_days, minutes, lessons, last_studied FROM learner_stats "
        "WHERE learner_id = ?1 AND group_id = ''",
        [&](Stmt& s) { s.Bind(1, id); },
        [&](Stmt& s) {
          out = LearnerSummary{s.Text(0),
                               s.Text(1),
                               sqlite3_column_int64(s.get(), 2),
                               sqlite3_column_int64(s.get(), 3),
                               sqlite3_column_int64(s.get(), 4),
                               s.Text(5)};
        }));
    return out;
  }

 private:
  // Runs one query on a pooled connection: bind, then `row` per result row.
  template <typename BindFn, typename RowFn>
  Status Run(const std::string& sql, BindFn bind, RowFn row) {
    KIROKU_ASSIGN_OR_RETURN(std::unique_ptr<Connection> c, Checkout());
    Stmt s(c->db, sql);
    if (!s.ok()) {
      // Most likely the projection has not created its schema yet.
      return Status::IOError(std::string("read model not ready: ") + sqlite3_errmsg(c->db));
    }
    bind(s);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) row(s);
    if (rc != SQLITE_DONE) {
      return Status::IOError(std::string("read model query: ") + sqlite3_errmsg(c->db));
    }
    Return(std::move(c));
    return Status::Ok();
  }

  std::string Resolve() const {
    std::error_code ec;
    fs::path p = fs::canonical(path_, ec);
    return ec ? std::string() : p.string();
  }

  Result<std::unique_ptr<Connection>> Checkout() {
    const std::string file = Resolve();
    if (file.empty()) {
      return Status::IOError("read model " + path_ + " does not exist yet");
    }
    {
      std::lock_guard lock(mu_);
      while (!pool_.empty()) {
        std::unique_ptr<Connection> c = std::move(pool_.back());
        pool_.pop_back();
        if (c->file == file) return c;  // else: a switched-away version, closed here
      }
    }
    auto c = std::make_unique<Connection>();
    c->file = file;
    if (sqlite3_open_v2(file.c_str(), &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return Status::IOError("cannot open read model " + file + ": " +
                             (c->db ? sqlite3_errmsg(c->db) : "out of memory"));
    }
    sqlite3_busy_timeout(c->db, 5000);
    return c;
  }

  void Return(std::unique_ptr<Connection> c) {
    std::lock_guard lock(mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(c));
  }

  const std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> pool_;
};

}  // namespace

std::unique_ptr<ReadModel> OpenSqliteReadModel(const std::string& path) {
  return std::make_unique<SqliteReadModel>(path);
}

}  // namespace studylog
