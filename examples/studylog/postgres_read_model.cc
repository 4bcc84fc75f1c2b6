// The PostgreSQL read model: pooled libpq connections, queries through the live views in
// schema "studylog" (the projection's name), so `kiroku projection switch` needs nothing
// from the service. Ties sort by learner id in byte order, as in SQLite and the naive page:
// that needs a database with C (or POSIX) collation, checked on the first connection.
#include <libpq-fe.h>

#include <cstdlib>
#include <memory>
#include <mutex>
#include <vector>

#include "read_model.h"

namespace studylog {
namespace {

using kiroku::Result;
using kiroku::Status;

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

constexpr const char* kSchema = "studylog.";

class PostgresReadModel final : public ReadModel {
 public:
  explicit PostgresReadModel(std::string url) : url_(std::move(url)) {}

  // Connects once to check the collation (and that the server is there at all).
  Status Check() {
    KIROKU_ASSIGN_OR_RETURN(PgConn c, Connect());
    PgResult r(
        PQexec(c.get(), "SELECT datcollate FROM pg_database WHERE datname = current_database()"));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK || PQntuples(r.get()) != 1) {
      return Status::IOError(std::string("read model: ") + PQerrorMessage(c.get()));
    }
    const std::string collate = PQgetvalue(r.get(), 0, 0);
    if (collate != "C" && collate != "POSIX" && collate.rfind("C.", 0) != 0) {
      return Status::InvalidArgument(
          "the PostgreSQL read model needs a database with C collation (ties sort by learner "
          "id in byte order, as SQLite and the naive page do); this one has '" +
          collate + "': CREATE DATABASE ... LC_COLLATE 'C' TEMPLATE template0");
    }
    Return(std::move(c));
    return Status::Ok();
  }

  Result<bool> GroupExists(const std::string& group_id) override {
    KIROKU_ASSIGN_OR_RETURN(auto rows, Query(std::string("SELECT 1 FROM ") + kSchema +
                                                 "study_groups WHERE group_id = $1",
                                             {group_id}));
    return PQntuples(rows.get()) > 0;
  }

  Result<Page> GroupPage(const PageRequest& r) override {
    std::vector<std::string> params{r.group_id};
    if (r.after) {
      params.push_back(r.sort == SortKey::kLastStudied ? r.after->text
                                                       : std::to_string(r.after->number));
      params.push_back(r.after->learner_id);
    }
    params.push_back(std::to_string(r.limit + 1));
    KIROKU_ASSIGN_OR_RETURN(auto res, Query(PageSql(r, kSchema, true), params));
    std::vector<MemberRow> rows;
    for (int i = 0; i < PQntuples(res.get()); ++i) {
      rows.push_back({PQgetvalue(res.get(), i, 0), PQgetvalue(res.get(), i, 1),
                      std::atoll(PQgetvalue(res.get(), i, 2)),
                      std::atoll(PQgetvalue(res.get(), i, 3)), PQgetvalue(res.get(), i, 4)});
    }
    return PageFromRows(std::move(rows), r);
  }

  Result<std::optional<LearnerSummary>> Learner(const std::string& id) override {
    KIROKU_ASSIGN_OR_RETURN(
        auto res, Query(std::string("SELECT learner_id, name, study_days, minutes, lessons, "
                                    "last_studied FROM ") +
                            kSchema + "learner_stats WHERE learner_id = $1 AND group_id = ''",
                        {id}));
    if (PQntuples(res.get()) == 0) return std::optional<LearnerSummary>();
    PGresult* p = res.get();
    return std::optional<LearnerSummary>(LearnerSummary{
        PQgetvalue(p, 0, 0), PQgetvalue(p, 0, 1), std::atoll(PQgetvalue(p, 0, 2)),
        std::atoll(PQgetvalue(p, 0, 3)), std::atoll(PQgetvalue(p, 0, 4)), PQgetvalue(p, 0, 5)});
  }

 private:
  Result<PgConn> Connect() {
    {
      std::lock_guard lock(mu_);
      if (!pool_.empty()) {
        PgConn c = std::move(pool_.back());
        pool_.pop_back();
        if (PQstatus(c.get()) == CONNECTION_OK) return c;
      }
    }
    PgConn c(PQconnectdb(url_.c_str()));
    if (!c || PQstatus(c.get()) != CONNECTION_OK) {
      return Status::IOError(std::string("read model: cannot connect: ") +
                             (c ? PQerrorMessage(c.get()) : "out of memory"));
    }
    return c;
  }

  void Return(PgConn c) {
    std::lock_guard lock(mu_);
    if (pool_.size() < 64) pool_.push_back(std::move(c));
  }

  Result<PgResult> Query(const std::string& sql, const std::vector<std::string>& params) {
    KIROKU_ASSIGN_OR_RETURN(PgConn c, Connect());
    std::vector<const char*> values;
    for (const std::string& p : params) values.push_back(p.c_str());
    PgResult r(PQexecParams(c.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) {
      // A missing view means the projection has not created its schema yet.
      Status s = Status::IOError(std::string("read model query: ") + PQerrorMessage(c.get()));
      if (PQstatus(c.get()) == CONNECTION_OK) Return(std::move(c));
      return s;
    }
    Return(std::move(c));
    return r;
  }

  const std::string url_;
  std::mutex mu_;
  std::vector<PgConn> pool_;
};

}  // namespace

Result<std::unique_ptr<ReadModel>> OpenPostgresReadModel(const std::string& url) {
  auto model = std::make_unique<PostgresReadModel>(url);
  KIROKU_RETURN_IF_ERROR(model->Check());
  return std::unique_ptr<ReadModel>(std::move(model));
}

}  // namespace studylog
