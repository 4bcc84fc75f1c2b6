// The PostgreSQL sink (libpq). Inside a transaction, Execute sends statements in pipeline
// mode, ends a chunk with a sync every kPipelineDepth statements, and reads a chunk's results
// only once the next chunk has been sent, so the server works on one chunk while this
// process prepares the next; a batch costs no round trip per statement. The first failing
// statement's tag is reported; PostgreSQL aborts the rest of the transaction, which is then rolled
// back.
#include <libpq-fe.h>

#include <deque>

#include "projections/target.h"

namespace kiroku::projections {
namespace {

constexpr size_t kPipelineDepth = 256;

std::string ErrorText(const PGresult* res, PGconn* conn) {
  const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string msg = primary ? primary : PQerrorMessage(conn);
  if (res) {
    if (const char* detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL)) {
      msg += std::string(" (") + detail + ")";
    }
  }
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

class PostgresSink final : public Sink {
 public:
  explicit PostgresSink(PGconn* conn) : conn_(conn) {}
  ~PostgresSink() override { PQfinish(conn_); }

  std::string Placeholder(int n) const override { return "$" + std::to_string(n); }

  Status Exec(const std::string& sql) override {
    KIROKU_RETURN_IF_ERROR(LeavePipeline());
    PGresult* res = PQexec(conn_, sql.c_str());
    ExecStatusType st = PQresultStatus(res);
    Status s = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                   ? Status::Ok()
                   : Status::InvalidArgument(ErrorText(res, conn_));
    PQclear(res);
    return s;
  }

  Result<int> Prepare(const std::string& sql) override {
    KIROKU_RETURN_IF_ERROR(LeavePipeline());
    std::string name = "k" + std::to_string(nparams_.size());
    PGresult* res = PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
      std::string msg = ErrorText(res, conn_);
      PQclear(res);
      return Status::InvalidArgument(msg);
    }
    PQclear(res);
    PGresult* desc = PQdescribePrepared(conn_, name.c_str());
    int n = PQresultStatus(desc) == PGRES_COMMAND_OK ? PQnparams(desc) : 0;
    PQclear(desc);
    nparams_.push_back(n);
    return static_cast<int>(nparams_.size() - 1);
  }

  Status Begin() override { return Exec("BEGIN"); }

  Status BeginSnapshot() override {
    return Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT 1;");
  }

  Status Execute(int stmt, const std::vector<SqlValue>& params, uint64_t tag) override {
    if (!error_.ok()) return error_;
    if (!pipeline_) {
      if (PQenterPipelineMode(conn_) != 1) return Fail(UINT64_MAX, PQerrorMessage(conn_));
      pipeline_ = true;
    }
    texts_.clear();
    ptrs_.clear();
    for (const SqlValue& v : params) texts_.push_back(v.ToText());
    for (const auto& t : texts_) ptrs_.push_back(t ? t->c_str() : nullptr);
    std::string name = "k" + std::to_string(stmt);
    if (PQsendQueryPrepared(conn_, name.c_str(), static_cast<int>(ptrs_.size()), ptrs_.data(),
                            nullptr, nullptr, 0) != 1) {
      return Fail(UINT64_MAX, PQerrorMessage(conn_));
    }
    pending_.push_back(tag);
    if (++unsynced_ >= kPipelineDepth) {
      if (PQpipelineSync(conn_) != 1) return Fail(UINT64_MAX, PQerrorMessage(conn_));
      chunks_.push_back(unsynced_);
      unsynced_ = 0;
      while (chunks_.size() > 1) ReadChunk();
    }
    return error_;
  }

  Status Commit() override {
    Status s = LeavePipeline();
    if (!s.ok()) return s;
    failed_tag_ = UINT64_MAX;
    PGresult* res = PQexec(conn_, "COMMIT");
    bool ok =
        PQresultStatus(res) == PGRES_COMMAND_OK && std::string_view(PQcmdStatus(res)) == "COMMIT";
    std::string msg = ok ? "" : ErrorText(res, conn_);
    PQclear(res);
    if (!ok) return Status::IOError("commit: " + (msg.empty() ? "rolled back" : msg));
    return Status::Ok();
  }

  void Rollback() override {
    (void)LeavePipeline();
    error_ = Status::Ok();
    PGresult* res = PQexec(conn_, "ROLLBACK");
    PQclear(res);
  }

  uint64_t failed_tag() const override { return failed_tag_; }

  Status Query(const std::string& sql, const std::function<bool(const SqlRow&)>& row) override {
    KIROKU_RETURN_IF_ERROR(LeavePipeline());
    if (PQsendQuery(conn_, sql.c_str()) != 1) return Status::IOError(PQerrorMessage(conn_));
    PQsetSingleRowMode(conn_);
    Status st;
    bool want = true;
    SqlRow r;
    while (PGresult* res = PQgetResult(conn_)) {
      ExecStatusType t = PQresultStatus(res);
      if (t == PGRES_SINGLE_TUPLE && want && st.ok()) {
        int cols = PQnfields(res);
        r.assign(cols, std::nullopt);
        for (int c = 0; c < cols; ++c) {
          if (!PQgetisnull(res, 0, c)) r[c].emplace(PQgetvalue(res, 0, c), PQgetlength(res, 0, c));
        }
        want = row(r);
      } else if (t != PGRES_SINGLE_TUPLE && t != PGRES_TUPLES_OK && t != PGRES_COMMAND_OK &&
                 st.ok()) {
        st = Status::InvalidArgument(ErrorText(res, conn_));
      }
      PQclear(res);
    }
    return st;
  }

  Result<std::vector<std::string>> ListTables() override {
    std::vector<std::string> out;
    KIROKU_RETURN_IF_ERROR(
        Query("SELECT table_name FROM information_schema.tables WHERE table_schema = "
              "current_schema() AND table_type = 'BASE TABLE' AND table_name NOT LIKE "
              "'\\_kiroku\\_%' ORDER BY 1",
              [&](const SqlRow& r) {
                out.push_back(*r[0]);
                return true;
              }));
    return out;
  }

  Result<std::vector<std::string>> ListColumns(const std::string& table) override {
    std::vector<std::string> out;
    std::string lit = "'";
    for (char c : table) lit += c == '\'' ? std::string("''") : std::string(1, c);
    lit += "'";
    KIROKU_RETURN_IF_ERROR(
        Query("SELECT column_name FROM information_schema.columns WHERE table_schema = "
              "current_schema() AND table_name = " +
                  lit + " ORDER BY ordinal_position",
              [&](const SqlRow& r) {
                out.push_back(*r[0]);
                return true;
              }));
    return out;
  }

 private:
  Status Fail(uint64_t tag, const std::string& msg) {
    if (error_.ok()) {
      failed_tag_ = tag;
      std::string m = msg;
      while (!m.empty() && m.back() == '\n') m.pop_back();
      error_ = Status::InvalidArgument(m);
    }
    return error_;
  }

  // Reads the results of the oldest synced chunk, and its sync.
  void ReadChunk() {
    size_t n = chunks_.front();
    chunks_.pop_front();
    for (size_t i = 0; i < n; ++i) {
      uint64_t tag = pending_.front();
      pending_.pop_front();
      PGresult* res;
      while ((res = PQgetResult(conn_)) != nullptr) {
        if (PQresultStatus(res) == PGRES_FATAL_ERROR) Fail(tag, ErrorText(res, conn_));
        PQclear(res);
      }
    }
    while (PGresult* res = PQgetResult(conn_)) {
      bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
      PQclear(res);
      if (sync) break;
    }
  }

  // Syncs what is unsynced and reads every outstanding result.
  Status Drain() {
    if (!pipeline_) return error_;
    if (unsynced_ > 0) {
      if (PQpipelineSync(conn_) != 1) return Fail(UINT64_MAX, PQerrorMessage(conn_));
      chunks_.push_back(unsynced_);
      unsynced_ = 0;
    }
    while (!chunks_.empty()) ReadChunk();
    return error_;
  }

  Status LeavePipeline() {
    if (!pipeline_) return error_;
    Status s = Drain();
    if (PQexitPipelineMode(conn_) != 1) {
      return Status::IOError(std::string("leaving pipeline mode: ") + PQerrorMessage(conn_));
    }
    pipeline_ = false;
    return s;
  }

  PGconn* conn_;
  std::vector<int> nparams_;
  bool pipeline_ = false;
  std::deque<uint64_t> pending_;  // tags sent whose results are unread
  std::deque<size_t> chunks_;     // sizes of synced chunks whose results are unread
  size_t unsynced_ = 0;           // statements sent since the last sync
  Status error_;
  uint64_t failed_tag_ = UINT64_MAX;
  std::vector<std::optional<std::string>> texts_;
  std::vector<const char*> ptrs_;
};

}  // namespace

Result<std::unique_ptr<Sink>> OpenPostgresSink(const std::string& url, const std::string& schema,
                                               SinkMode mode) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn);
    PQfinish(conn);
    while (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Status::IOError("postgresql: " + msg);
  }
  auto sink = std::make_unique<PostgresSink>(conn);
  std::string setup = "SET client_min_messages = warning;";
  if (schema == "pg_temp") {
    setup += "CREATE TEMP TABLE IF NOT EXISTS _kiroku_scratch(x INT);";  // creates pg_temp
  } else {
    setup += "CREATE SCHEMA IF NOT EXISTS " + sink->Quote(schema) + ";";
  }
  setup += "SET search_path TO " + sink->Quote(schema) + ";";
  if (mode == SinkMode::kRebuild) setup += "SET synchronous_commit = off;";
  Status s = sink->Exec(setup);
  if (!s.ok()) return Status::IOError("postgresql: " + s.message());
  return std::unique_ptr<Sink>(std::move(sink));
}

}  // namespace kiroku::projections
