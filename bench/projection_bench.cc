// kiroku-projection-bench: the learner read model (per-learner study days, minutes, last day;
// per-group member lists) rebuilt from N events (default 10 million) by the projection
// runner into SQLite and into PostgreSQL, next to the same tables computed the batch way in
// PostgreSQL (one INSERT … SELECT … GROUP BY over an events table), plus live lag p99 at a
// steady append rate. Prints the workload, the machine and the results; BENCHMARKS.md keeps
// them. Not a test: nothing here asserts.
//
//   kiroku-projection-bench --dir /tmp/pb [--events 10000000] [--pg-url postgresql://…]
#include <libpq-fe.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "kiroku/store.h"
#include "projections/event_source.h"
#include "projections/runner.h"
#include "projections/spec.h"
#include "projections/target.h"

namespace pj = kiroku::projections;
using Clock = std::chrono::steady_clock;

namespace {

std::string LearnerSpec(const std::string& target, int version) {
  return "name: learners\nversion: " + std::to_string(version) +
         "\nsource: { categories: [learner] }\ntarget: " + target +
         "\nschema: |\n"
         "  CREATE TABLE learners(learner_id TEXT NOT NULL PRIMARY KEY, group_id TEXT NOT NULL,\n"
         "    study_days INTEGER NOT NULL, minutes INTEGER NOT NULL, last_day TEXT);\n"
         "  CREATE TABLE group_members(group_id TEXT NOT NULL, learner_id TEXT NOT NULL,\n"
         "    PRIMARY KEY (group_id, learner_id));\n"
         "  CREATE INDEX learners_by_group ON learners(group_id, study_days);\n"
         "on:\n"
         "  JoinedGroup:\n"
         "    - INSERT INTO learners VALUES (:data.learner_id, :data.group_id, 0, 0, NULL)\n"
         "    - INSERT INTO group_members VALUES (:data.group_id, :data.learner_id)\n"
         "  LessonCompleted: |\n"
         "    UPDATE learners SET minutes = minutes + :data.minutes,\n"
         "      study_days = study_days + CASE WHEN last_day IS NULL OR last_day <> :data.day\n"
         "                                     THEN 1 ELSE 0 END,\n"
         "      last_day = :data.day\n"
         "    WHERE learner_id = :data.learner_id\n"
         "rebuild: { batch_events: 100000 }\n";
}

// Learner k joins group k % groups first; then lessons with non-decreasing days.
class Generator {
 public:
  Generator(uint64_t learners, uint64_t groups) : learners_(learners), groups_(groups) {}
  kiroku::EventData Next(std::string* stream) {
    kiroku::EventData e;
    e.id = kiroku::EventId::Random();
    uint64_t k;
    if (joined_ < learners_) {
      k = joined_++;
      e.type = "JoinedGroup";
      e.data = "{\"learner_id\":\"learner" + std::to_string(k) + "\",\"group_id\":\"group" +
               std::to_string(k % groups_) + "\"}";
    } else {
      // A study session: a learner completes a few lessons in a row.
      if (session_left_ == 0) {
        current_ = rng_() % learners_;
        session_left_ = 1 + rng_() % 6;
      }
      --session_left_;
      k = current_;
      e.type = "LessonCompleted";
      uint64_t day = 1 + (n_++ * 365) / std::max<uint64_t>(total_hint_, 1);
      e.data = "{\"learner_id\":\"learner" + std::to_string(k) +
               "\",\"minutes\":" + std::to_string(5 + rng_() % 55) + ",\"day\":\"2026-" +
               std::to_string(day) + "\"}";
    }
    *stream = "learner-" + std::to_string(k);
    return e;
  }
  void set_total_hint(uint64_t n) { total_hint_ = n; }

 private:
  uint64_t learners_, groups_;
  uint64_t joined_ = 0, n_ = 0, total_hint_ = 1;
  uint64_t current_ = 0, session_left_ = 0;
  std::mt19937_64 rng_{12345};
};

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string Machine() {
  utsname u{};
  uname(&u);
  std::string cpu;
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  return std::string(u.sysname) + " " + u.release + ", " +
         std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs (" + cpu + ")";
}

// Rebuilds version `version` into `target`; returns events/s over the events applied.
double Rebuild(kiroku::Store* store, const std::string& target, int version, uint64_t* applied) {
  auto spec = pj::ParseSpecText(LearnerSpec(target, version), "learners.yaml");
  if (!spec.ok()) throw std::runtime_error(spec.status().ToString());
  auto sink = pj::OpenVersion(*spec, version, pj::SinkMode::kRebuild);
  if (!sink.ok()) throw std::runtime_error(sink.status().ToString());
  pj::RunnerOptions o;
  o.mode = pj::SinkMode::kRebuild;
  o.follow = false;
  auto runner = pj::ProjectionRunner::Open(*spec, std::move(*sink), o);
  if (!runner.ok()) throw std::runtime_error(runner.status().ToString());
  auto source = pj::MakeEmbeddedSource(store);
  auto t0 = Clock::now();
  kiroku::Status s = (*runner)->Run(source.get(), nullptr);
  double secs = Seconds(t0, Clock::now());
  if (!s.ok()) throw std::runtime_error(s.ToString());
  *applied = (*runner)->status().events_applied;
  return *applied / secs;
}

void PgExec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    throw std::runtime_error("postgresql: " + msg + " in " + sql.substr(0, 80));
  }
  PQclear(r);
}

// The batch way: load the events into a table (not timed), then one INSERT … SELECT … GROUP
// BY per read-model table (timed). Returns events/s over the timed part.
double BatchSql(kiroku::Store* store, const std::string& url, uint64_t* events, double* load_secs) {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(c));
  PgExec(
      c,
      "SET client_min_messages = warning; DROP SCHEMA IF EXISTS batch CASCADE; CREATE SCHEMA batch;"
      "SET search_path TO batch; SET synchronous_commit = off;"
      "CREATE UNLOGGED TABLE events(position BIGINT, stream TEXT, type TEXT, data JSONB)");
  auto t0 = Clock::now();
  {
    PGresult* cr = PQexec(c, "COPY events FROM STDIN");
    if (PQresultStatus(cr) != PGRES_COPY_IN) throw std::runtime_error(PQresultErrorMessage(cr));
    PQclear(cr);
  }
  std::string buf;
  uint64_t n = 0;
  auto flush = [&] {
    if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
      throw std::runtime_error(PQerrorMessage(c));
    }
    buf.clear();
  };
  kiroku::ReadAllOptions o;
  auto end = store->ScanAll(o, [&](const kiroku::EventView& e) {
    if (e.type.empty() || e.type[0] == '$') return true;
    buf += std::to_string(e.position.value);
    buf += '\t';
    buf.append(e.stream);
    buf += '\t';
    buf.append(e.type);
    buf += '\t';
    buf.append(e.data);  // our JSON has no tabs, newlines or backslashes
    buf += '\n';
    ++n;
    if (buf.size() > (1 << 20)) flush();
    return true;
  });
  if (!end.ok()) throw std::runtime_error(end.status().ToString());
  flush();
  if (PQputCopyEnd(c, nullptr) != 1) throw std::runtime_error(PQerrorMessage(c));
  PGresult* r;
  while ((r = PQgetResult(c)) != nullptr) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK) throw std::runtime_error(PQresultErrorMessage(r));
    PQclear(r);
  }
  PgExec(c, "ANALYZE events");
  *load_secs = Seconds(t0, Clock::now());
  *events = n;
  auto t1 = Clock::now();
  PgExec(c,
         "BEGIN;"
         "CREATE TABLE learners(learner_id TEXT NOT NULL PRIMARY KEY, group_id TEXT NOT NULL,"
         "  study_days INTEGER NOT NULL, minutes INTEGER NOT NULL, last_day TEXT);"
         "CREATE TABLE group_members(group_id TEXT NOT NULL, learner_id TEXT NOT NULL,"
         "  PRIMARY KEY (group_id, learner_id));"
         "INSERT INTO learners "
         "SELECT j.data->>'learner_id', j.data->>'group_id',"
         "  count(DISTINCT l.data->>'day'), coalesce(sum((l.data->>'minutes')::int), 0),"
         "  max(l.data->>'day')"
         " FROM events j LEFT JOIN events l ON l.type = 'LessonCompleted' AND l.stream = j.stream"
         " WHERE j.type = 'JoinedGroup' AND j.stream LIKE 'learner-%'"
         " GROUP BY j.data->>'learner_id', j.data->>'group_id';"
         "INSERT INTO group_members SELECT DISTINCT data->>'group_id', data->>'learner_id'"
         " FROM events WHERE type = 'JoinedGroup' AND stream LIKE 'learner-%';"
         "CREATE INDEX learners_by_group ON learners(group_id, study_days);"
         "COMMIT;");
  double secs = Seconds(t1, Clock::now());
  PgExec(c, "DROP SCHEMA batch CASCADE");
  PQfinish(c);
  return n / secs;
}

// Live: a runner follows the store while a writer appends `rate` events/s for `secs`;
// lag = projection commit time - append start time, per event.
std::vector<double> LiveLag(kiroku::Store* store, const std::string& target, int rate, int secs,
                            Generator* gen) {
  auto spec = pj::ParseSpecText(LearnerSpec(target, 1), "learners.yaml");
  auto sink = pj::OpenVersion(*spec, 1, pj::SinkMode::kLive);
  if (!sink.ok()) throw std::runtime_error(sink.status().ToString());
  std::mutex mu;
  std::map<uint64_t, Clock::time_point> sent;  // position -> append start
  std::vector<double> lags;
  pj::RunnerOptions o;
  o.on_commit = [&](const pj::ProjectionStatus& s) {
    if (!s.position) return;
    auto now = Clock::now();
    std::lock_guard<std::mutex> lock(mu);
    auto end = sent.upper_bound(s.position->value);
    for (auto it = sent.begin(); it != end; ++it) {
      lags.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
    }
    sent.erase(sent.begin(), end);
  };
  auto runner = pj::ProjectionRunner::Open(*spec, std::move(*sink), o);
  if (!runner.ok()) throw std::runtime_error(runner.status().ToString());
  std::atomic<bool> stop{false};
  auto source = pj::MakeEmbeddedSource(store);
  kiroku::Status result;
  std::thread t([&] { result = (*runner)->Run(source.get(), &stop); });
  // Let it catch up with history first.
  while ((*runner)->status().position.value_or(kiroku::Position(0)).value + 1 <
         store->LogEnd().value - 4096) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  {
    std::lock_guard<std::mutex> lock(mu);
    lags.clear();
  }
  auto start = Clock::now();
  const auto interval = std::chrono::nanoseconds(1000000000LL / rate);
  for (int64_t i = 0; i < int64_t(rate) * secs; ++i) {
    auto due = start + i * interval;
    std::this_thread::sleep_until(due);
    std::string stream;
    kiroku::EventData e = gen->Next(&stream);
    auto t0 = Clock::now();
    auto r = store->Append(stream, kiroku::ExpectedRevision::Any(), {e});
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    std::lock_guard<std::mutex> lock(mu);
    sent[r->position.value] = t0;
  }
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (sent.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  t.join();
  if (!result.ok()) throw std::runtime_error(result.ToString());
  std::sort(lags.begin(), lags.end());
  return lags;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiroku-projection-bench: projection rebuild and live lag"};
  std::string dir = "./projection-bench-data";
  uint64_t events = 10000000;
  uint64_t learners = 100000, groups = 1000;
  std::string pg_url;
  int live_rate = 5000, live_secs = 10;
  bool keep = false;
  app.add_option("--dir", dir, "Working directory (store + SQLite files)");
  app.add_option("--events", events, "Events in the log");
  app.add_option("--learners", learners, "Distinct learners");
  app.add_option("--groups", groups, "Distinct groups");
  app.add_option("--pg-url", pg_url, "PostgreSQL URL (omit to skip the PostgreSQL parts)");
  app.add_option("--live-rate", live_rate, "Append rate for the live lag run (events/s)");
  app.add_option("--live-seconds", live_secs, "Length of the live lag run");
  app.add_flag("--keep", keep, "Keep the working directory");
  CLI11_PARSE(app, argc, argv);
  try {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    kiroku::StoreOptions so;
    so.durability = kiroku::Durability::kNoSync;
    auto store = kiroku::Store::Open(dir + "/data", so);
    if (!store.ok()) throw std::runtime_error(store.status().ToString());
    std::printf(
        "workload: learner read model (learners: study days, minutes, last day; "
        "group_members), %llu events, %llu learners, %llu groups\n",
        (unsigned long long)events, (unsigned long long)learners, (unsigned long long)groups);
    std::printf("machine:  %s\n", Machine().c_str());
    std::fflush(stdout);
    Generator gen(learners, groups);
    gen.set_total_hint(events);
    auto t0 = Clock::now();
    std::atomic<uint64_t> pending{0};
    // One append per run of events on the same stream (a study session).
    std::string stream, next_stream;
    std::vector<kiroku::EventData> batch;
    kiroku::EventData next = gen.Next(&next_stream);
    for (uint64_t i = 0; i < events; ++i) {
      stream = next_stream;
      batch.push_back(std::move(next));
      if (i + 1 < events) next = gen.Next(&next_stream);
      if (i + 1 == events || next_stream != stream) {
        while (pending.load() > 20000) std::this_thread::yield();
        ++pending;
        (*store)->AppendAsync(stream, kiroku::ExpectedRevision::Any(), std::move(batch),
                              [&pending](kiroku::Result<kiroku::AppendResult> r) {
                                if (!r.ok()) {
                                  std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
                                }
                                --pending;
                              });
        batch.clear();
      }
    }
    while (pending.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::printf(
        "setup:    %llu events appended in %.1f s (durability none; not part of the results)\n",
        (unsigned long long)events, Seconds(t0, Clock::now()));
    std::fflush(stdout);

    uint64_t applied = 0;
    double sqlite_rate = Rebuild(store->get(), "sqlite:" + dir + "/read.db", 1, &applied);
    std::printf(
        "rebuild -> SQLite:        %10.0f events/s (%llu events applied; target >= 300000)\n",
        sqlite_rate, (unsigned long long)applied);
    std::fflush(stdout);
    if (!pg_url.empty()) {
      {  // a fresh schema per run
        PGconn* c = PQconnectdb(pg_url.c_str());
        PgExec(c,
               "SET client_min_messages = warning; DROP SCHEMA IF EXISTS learners_v1 CASCADE;"
               "DROP SCHEMA IF EXISTS learners CASCADE");
        PQfinish(c);
      }
      double pg_rate = Rebuild(store->get(), pg_url, 1, &applied);
      std::printf("rebuild -> PostgreSQL:    %10.0f events/s (target >= 100000)\n", pg_rate);
      std::fflush(stdout);
      uint64_t n = 0;
      double load = 0;
      double batch_rate = BatchSql(store->get(), pg_url, &n, &load);
      std::printf(
          "batch SQL in PostgreSQL:  %10.0f events/s (INSERT ... SELECT ... GROUP BY over "
          "%llu events; loading them took %.1f s more, not counted)\n",
          batch_rate, (unsigned long long)n, load);
      std::printf("ratio rebuild/batch:      SQLite %.2fx, PostgreSQL %.2fx\n",
                  sqlite_rate / batch_rate, pg_rate / batch_rate);
      std::fflush(stdout);
    }
    auto lags = LiveLag(store->get(), "sqlite:" + dir + "/live.db", live_rate, live_secs, &gen);
    if (!lags.empty()) {
      auto pct = [&](double p) { return lags[std::min(lags.size() - 1, size_t(p * lags.size()))]; };
      std::printf(
          "live lag at %d events/s for %d s (SQLite, append start -> projection commit): "
          "p50 %.1f ms, p99 %.1f ms, max %.1f ms (target p99 <= 100 ms)\n",
          live_rate, live_secs, pct(0.5), pct(0.99), lags.back());
    }
    store->reset();
    if (!keep) std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiroku-projection-bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
