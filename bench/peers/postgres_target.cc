// PostgreSQL as a peer-benchmark target: the usual "events table" event store.
//
//   events(position bigint identity PRIMARY KEY, stream_id text, version bigint,
//          event_id uuid, type text, data jsonb, created timestamptz, UNIQUE(stream_id, version))
//
// Append = one multi-row INSERT (its own transaction) with explicit versions expected+1..;
// the UNIQUE constraint is the optimistic concurrency check (SQLSTATE 23505 =
// WrongExpectedVersion). Global order = position. Reads page with `position > $last ORDER
// BY position LIMIT n`; a catch-up subscriber polls the same way (PostgreSQL has no
// subscription to a table; LISTEN/NOTIFY only wakes a poller). Note the trap this hides:
// identity values are taken at INSERT, not at COMMIT, so a live poller can skip an event
// committed late with a lower position (docs/benchmarks-peers.md).
#include <libpq-fe.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "event_payload.h"
#include "peer_target.h"

namespace kiroku::bench::peers {
namespace {

constexpr uint64_t kCatchUpPage = 1000;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;
struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnDeleter>;

Result<PgConn> Connect(const std::string& url) {
  PgConn c(PQconnectdb(url.c_str()));
  if (PQstatus(c.get()) != CONNECTION_OK) {
    return Status::IOError("connect to PostgreSQL: " + std::string(PQerrorMessage(c.get())));
  }
  // No NOTICEs on stderr ("relation events already exists, skipping").
  PQsetNoticeProcessor(
      c.get(), [](void*, const char*) {}, nullptr);
  return c;
}

Status ResultStatus(PGconn* c, const PgResult& r, const std::string& what) {
  const ExecStatusType st = PQresultStatus(r.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
  std::string msg = what + ": " + PQerrorMessage(c);
  if (state != nullptr && std::string(state) == "23505") {
    return Status::WrongExpectedVersion(msg, std::nullopt);
  }
  return Status::IOError(msg);
}

Status Exec(PGconn* c, const std::string& sql) {
  PgResult r(PQexec(c, sql.c_str()));
  return ResultStatus(c, r, sql.substr(0, 60));
}

Result<std::string> Show(PGconn* c, const std::string& setting) {
  PgResult r(PQexec(c, ("SHOW " + setting).c_str()));
  KIROKU_RETURN_IF_ERROR(ResultStatus(c, r, "SHOW " + setting));
  return std::string(PQgetvalue(r.get(), 0, 0));
}

class PostgresWriter : public PeerWriter {
 public:
  PostgresWriter(PgConn conn, const std::string& payload)
      : conn_(std::move(conn)), payload_(payload) {}

  Result<StreamHead> Append(const std::string& stream, const StreamHead& expected,
                            int count) override {
    const std::string stmt = "append_" + std::to_string(count);
    if (prepared_.count(count) == 0) {
      std::string sql = "INSERT INTO events (stream_id, version, event_id, type, data) VALUES ";
      for (int i = 0; i < count; ++i) {
        const std::string id = "$" + std::to_string(4 + 2 * i);
        const std::string data = "$" + std::to_string(5 + 2 * i);
        sql += (i ? ", " : "") + std::string("($1, $2::bigint + ") + std::to_string(i) + ", " + id +
               "::uuid, $3, " + data + "::jsonb)";
      }
      PgResult r(PQprepare(conn_.get(), stmt.c_str(), sql.c_str(), 0, nullptr));
      KIROKU_RETURN_IF_ERROR(ResultStatus(conn_.get(), r, "prepare " + stmt));
      prepared_.insert(count);
    }
    const std::string first = std::to_string(expected.version + 1);
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(count));
    std::vector<const char*> params = {stream.c_str(), first.c_str(), "LessonCompleted"};
    for (int i = 0; i < count; ++i) {
      ids.push_back(RandomUuidText());
      params.push_back(ids.back().c_str());
      params.push_back(payload_.c_str());
    }
    PgResult r(PQexecPrepared(conn_.get(), stmt.c_str(), static_cast<int>(params.size()),
                              params.data(), nullptr, nullptr, 0));
    KIROKU_RETURN_IF_ERROR(ResultStatus(conn_.get(), r, "append to " + stream));
    return StreamHead{expected.version + count, 0};
  }

 private:
  PgConn conn_;
  const std::string& payload_;
  std::set<int> prepared_;
};

class Postgres : public PeerTarget {
 public:
  Postgres(std::string url, int payload_bytes)
      : url_(std::move(url)), payload_(JsonPayload(payload_bytes)) {}

  Result<std::unique_ptr<PeerWriter>> NewWriter() override {
    auto c = Connect(url_);
    if (!c.ok()) return c.status();
    return std::unique_ptr<PeerWriter>(new PostgresWriter(std::move(c).value(), payload_));
  }

  Status ReadAll(uint64_t limit, uint64_t page, const ReadVisitor& visit) override {
    return Pages(limit, page, visit);
  }
  Status CatchUp(uint64_t limit, const ReadVisitor& visit) override {
    return Pages(limit, kCatchUpPage, visit);
  }

  Result<DurabilityInfo> Durability() override {
    auto c = Connect(url_);
    if (!c.ok()) return c.status();
    std::string detail;
    bool strict = true;
    for (const char* s : {"fsync", "synchronous_commit", "wal_sync_method", "full_page_writes"}) {
      auto v = Show(c->get(), s);
      if (!v.ok()) return v.status();
      detail += (detail.empty() ? "" : ", ") + std::string(s) + "=" + *v;
      if ((std::string(s) == "fsync" || std::string(s) == "synchronous_commit" ||
           std::string(s) == "full_page_writes") &&
          *v != "on") {
        strict = false;
      }
    }
    return DurabilityInfo{strict ? "WAL fdatasync per commit" : "WEAKER: commit before fsync",
                          detail, strict};
  }

  std::string Notes() const override {
    return "one connection per writer; append = one multi-row INSERT with explicit versions, "
           "UNIQUE(stream_id, version) rejects a stale one; reads page by position (" +
           std::to_string(kCatchUpPage) + " per poll for catch-up)";
  }

  Status CreateSchema() {
    auto c = Connect(url_);
    if (!c.ok()) return c.status();
    return Exec(c->get(),
                "CREATE TABLE IF NOT EXISTS events ("
                " position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                " stream_id text NOT NULL, version bigint NOT NULL, event_id uuid NOT NULL,"
                " type text NOT NULL, data jsonb NOT NULL,"
                " created timestamptz NOT NULL DEFAULT now(),"
                " UNIQUE (stream_id, version))");
  }

 private:
  Status Pages(uint64_t limit, uint64_t page, const ReadVisitor& visit) {
    auto c = Connect(url_);
    if (!c.ok()) return c.status();
    PGconn* conn = c->get();
    PgResult prep(PQprepare(conn, "page",
                            "SELECT position, stream_id, type, data FROM events "
                            "WHERE position > $1 ORDER BY position LIMIT $2",
                            0, nullptr));
    KIROKU_RETURN_IF_ERROR(ResultStatus(conn, prep, "prepare page"));
    uint64_t last = 0, seen = 0;
    while (seen < limit) {
      const std::string from = std::to_string(last);
      const std::string n = std::to_string(std::min(page, limit - seen));
      const char* params[] = {from.c_str(), n.c_str()};
      PgResult r(PQexecPrepared(conn, "page", 2, params, nullptr, nullptr, 0));
      KIROKU_RETURN_IF_ERROR(ResultStatus(conn, r, "read page"));
      const int rows = PQntuples(r.get());
      if (rows == 0) break;
      for (int i = 0; i < rows; ++i) {
        last = std::stoull(PQgetvalue(r.get(), i, 0));
        visit(ReadEvent{last, std::string_view(PQgetvalue(r.get(), i, 1)),
                        std::string_view(PQgetvalue(r.get(), i, 2)),
                        std::string_view(PQgetvalue(r.get(), i, 3),
                                         static_cast<size_t>(PQgetlength(r.get(), i, 3)))});
      }
      seen += static_cast<uint64_t>(rows);
    }
    if (seen < limit) {
      return Status::NotFound("events ended after " + std::to_string(seen) + " rows");
    }
    return Status::Ok();
  }

  std::string url_;
  std::string payload_;
};

}  // namespace

Result<std::unique_ptr<PeerTarget>> OpenPostgres(const TargetOptions& o) {
  if (o.url.empty()) return Status::InvalidArgument("postgres needs --url postgresql://...");
  auto pg = std::make_unique<Postgres>(o.url, o.payload_bytes);
  KIROKU_RETURN_IF_ERROR(pg->CreateSchema());
  return std::unique_ptr<PeerTarget>(std::move(pg));
}

}  // namespace kiroku::bench::peers
