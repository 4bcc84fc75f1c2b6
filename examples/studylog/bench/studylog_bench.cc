// studylog-bench: the load side of `make bench-studylog` (bench/run.sh drives it).
//
//   studylog-bench --url http://127.0.0.1:PORT --learners N --groups G [--only
//   page,naive,freshness]
//
// Against a running studylog service whose data came from studylog-gen with the same
// --learners/--groups (ids l000000.., g00000..), it measures:
//  page       GET /groups/{g}/learners: random group, sort and order, limit 20; half the
//             walks stop at the first page, the others follow `next` 1..10 pages deeper.
//             Latency per request (client send -> full response), sequential per thread.
//  naive      the same walks on /naive/groups/{g}/learners (fewer requests: slow by design).
//  freshness  open loop: --rate POST /learners/{id}/lessons per second for --seconds, each on
//             a learner with no other command in flight, new lesson ids. Every
//             --watch-every'th command is watched: from its 201 response, GET /learners/{id}
//             every --poll-ms until `lessons` reaches the count the command made; freshness =
//             201 received -> the GET response that shows it. Command latency is measured
//             from the scheduled send time (so a backlog shows up in it) and, separately,
//             from the actual send. The first --warmup seconds are not counted.
// Prints one human line per result and, with --json FILE, all figures as JSON.
// Exit status: 0 if every phase ran (errors are counted and reported), 1 if the service
// cannot be used at all, CLI11's code for a bad command line.
#include <httplib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string url;
  uint64_t learners = 0, groups = 0;
  uint64_t seed = 1;
  std::string only = "page,naive,freshness";
  std::string json_path;
  std::string trace_path;  // one line per measured command: t, latency, freshness
  // page / naive
  int pages = 20000, naive_pages = 300;
  double page_seconds = 120, naive_seconds = 120;
  int page_threads = 1;
  int limit = 20;
  // freshness
  double rate = 2000, seconds = 30, warmup = 3;
  int watch_every = 10;
  double poll_ms = 2;
  // Keep workers + watchers + 1 below the service's --threads (32 by default): cpp-httplib
  // serves each keep-alive connection on one pool thread until it idles out (5 s), so
  // more connections than threads queue for hundreds of milliseconds.
  int workers = 24, watchers = 6;
  int pool = 4000;
};

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string IdOf(char prefix, uint64_t n, uint64_t count, int min_width) {
  const int width = std::max<int>(min_width, static_cast<int>(std::to_string(count - 1).size()));
  std::string digits = std::to_string(n);
  return std::string(1, prefix) +
         std::string(width > static_cast<int>(digits.size())
                         ? static_cast<size_t>(width) - digits.size()
                         : 0,
                     '0') +
         digits;
}

// Latency samples in ms with nearest-rank percentiles.
struct Samples {
  std::vector<double> v;
  void Add(double ms) { v.push_back(ms); }
  void Merge(const Samples& o) { v.insert(v.end(), o.v.begin(), o.v.end()); }
  double Pct(double p) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
    return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
  }
  json Summary() {
    if (v.empty()) return json{{"n", 0}};
    return json{
        {"n", v.size()},
        {"p50_ms", Pct(50)},
        {"p90_ms", Pct(90)},
        {"p99_ms", Pct(99)},
        {"max_ms", Pct(100)},
        {"mean_ms", std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size())}};
  }
};

bool g_keep_alive = true;

std::unique_ptr<httplib::Client> NewClient(const std::string& url, int read_timeout_s) {
  auto c = std::make_unique<httplib::Client>(url);
  c->set_keep_alive(g_keep_alive);
  c->set_tcp_nodelay(true);
  c->set_connection_timeout(5);
  c->set_read_timeout(read_timeout_s);
  c->set_write_timeout(10);
  return c;
}

std::string UrlEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ---- page latency ----

struct PageResult {
  Samples all, first, deeper;
  uint64_t errors = 0, rows = 0;
  std::string first_error;
  double seconds = 0;
};

PageResult RunPages(const Options& o, const std::string& prefix, int requests, double max_seconds,
                    int read_timeout_s) {
  static constexpr const char* kSorts[] = {"study_days", "minutes", "last_studied"};
  std::vector<PageResult> per(static_cast<size_t>(o.page_threads));
  std::atomic<int> issued{0};
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                                    std::chrono::duration<double>(max_seconds));
  std::vector<std::thread> threads;
  for (int t = 0; t < o.page_threads; ++t) {
    threads.emplace_back([&, t] {
      PageResult& r = per[static_cast<size_t>(t)];
      std::mt19937_64 rng(o.seed * 7919 + static_cast<uint64_t>(t) + prefix.size());
      auto cli = NewClient(o.url, read_timeout_s);
      std::string base;
      std::optional<std::string> cursor;
      int depth_left = 0;
      while (issued.fetch_add(1) < requests && Clock::now() < deadline) {
        if (!cursor || depth_left <= 0) {
          const uint64_t g = std::uniform_int_distribution<uint64_t>(0, o.groups - 1)(rng);
          base = prefix + IdOf('g', g, o.groups, 5) + "/learners?sort=" + kSorts[rng() % 3] +
                 "&order=" + (rng() % 2 ? "desc" : "asc") + "&limit=" + std::to_string(o.limit);
          cursor.reset();
          depth_left = rng() % 2 ? 0 : 1 + static_cast<int>(rng() % 10);
        } else {
          --depth_left;
        }
        const std::string path = cursor ? base + "&after=" + UrlEncode(*cursor) : base;
        const auto t0 = Clock::now();
        auto res = cli->Get(path);
        const double ms = Ms(Clock::now() - t0);
        if (!res || res->status != 200) {
          if (r.errors++ == 0) {
            r.first_error = path + ": " +
                            (res ? "HTTP " + std::to_string(res->status) + " " + res->body
                                 : httplib::to_string(res.error()));
          }
          cursor.reset();
          continue;
        }
        r.all.Add(ms);
        (cursor ? r.deeper : r.first).Add(ms);
        json j = json::parse(res->body, nullptr, false);
        if (j.is_discarded() || !j.contains("learners")) {
          if (r.errors++ == 0)
            r.first_error = path + ": unexpected body " + res->body.substr(0, 200);
          cursor.reset();
          continue;
        }
        r.rows += j["learners"].size();
        if (j["next"].is_string()) {
          cursor = j["next"].get<std::string>();
        } else {
          cursor.reset();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  PageResult out;
  for (auto& r : per) {
    out.all.Merge(r.all);
    out.first.Merge(r.first);
    out.deeper.Merge(r.deeper);
    out.errors += r.errors;
    out.rows += r.rows;
    if (out.first_error.empty()) out.first_error = r.first_error;
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

json ReportPages(const char* name, PageResult& r) {
  json j = r.all.Summary();
  j["first_pages"] = r.first.Summary();
  j["deeper_pages"] = r.deeper.Summary();
  j["errors"] = r.errors;
  j["rows_per_page"] =
      r.all.v.empty() ? 0.0 : static_cast<double>(r.rows) / static_cast<double>(r.all.v.size());
  j["requests_per_s"] = static_cast<double>(r.all.v.size()) / std::max(r.seconds, 1e-9);
  std::printf(
      "%-10s requests=%zu p50=%.3fms p99=%.3fms max=%.3fms (first pages p50=%.3f p99=%.3f; "
      "deeper p50=%.3f p99=%.3f) rows/page=%.1f errors=%llu\n",
      name, r.all.v.size(), r.all.Pct(50), r.all.Pct(99), r.all.Pct(100), r.first.Pct(50),
      r.first.Pct(99), r.deeper.Pct(50), r.deeper.Pct(99), j["rows_per_page"].get<double>(),
      static_cast<unsigned long long>(r.errors));
  if (r.errors) std::printf("%-10s first error: %s\n", name, r.first_error.c_str());
  std::fflush(stdout);
  return j;
}

// ---- freshness ----

template <typename T>
class Queue {
 public:
  void Push(T v) {
    {
      std::lock_guard l(mu_);
      q_.push_back(std::move(v));
    }
    cv_.notify_one();
  }
  void Close() {
    {
      std::lock_guard l(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  std::optional<T> Pop() {
    std::unique_lock l(mu_);
    cv_.wait(l, [&] { return closed_ || !q_.empty(); });
    if (q_.empty()) return std::nullopt;
    T v = std::move(q_.front());
    q_.pop_front();
    return v;
  }
  size_t size() {
    std::lock_guard l(mu_);
    return q_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> q_;
  bool closed_ = false;
};

struct PoolLearner {
  std::string id;
  int64_t lessons = 0;
  bool busy = false, bad = false;
};

std::optional<int64_t> LessonsOf(httplib::Client& cli, const std::string& id, int* status) {
  auto res = cli.Get("/learners/" + id);
  *status = res ? res->status : -1;
  if (!res || res->status != 200) return std::nullopt;
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j["lessons"].is_number_integer()) return std::nullopt;
  return j["lessons"].get<int64_t>();
}

json RunFreshness(const Options& o) {
  std::mt19937_64 rng(o.seed * 104729 + 3);
  // A pool of distinct random learners and their current lesson counts.
  std::vector<PoolLearner> pool;
  {
    const uint64_t n = std::min<uint64_t>(o.learners, static_cast<uint64_t>(o.pool));
    std::vector<uint64_t> picks;
    if (n == o.learners) {
      for (uint64_t i = 0; i < n; ++i) picks.push_back(i);
    } else {
      std::unordered_set<uint64_t> seen;
      while (picks.size() < n) {
        uint64_t i = std::uniform_int_distribution<uint64_t>(0, o.learners - 1)(rng);
        if (seen.insert(i).second) picks.push_back(i);
      }
    }
    pool.resize(picks.size());
    std::atomic<size_t> next{0};
    std::vector<std::thread> th;
    for (int t = 0; t < 8; ++t) {
      th.emplace_back([&] {
        auto cli = NewClient(o.url, 30);
        for (size_t i; (i = next.fetch_add(1)) < picks.size();) {
          pool[i].id = IdOf('l', picks[i], o.learners, 6);
          int status;
          auto c = LessonsOf(*cli, pool[i].id, &status);
          if (c)
            pool[i].lessons = *c;
          else
            pool[i].bad = true;
        }
      });
    }
    for (auto& t : th) t.join();
  }
  const size_t usable =
      static_cast<size_t>(std::count_if(pool.begin(), pool.end(), [](auto& p) { return !p.bad; }));
  if (usable == 0) {
    std::printf("freshness  no learner of the pool is readable (GET /learners/{id} failed)\n");
    return json{{"error", "no readable learner"}};
  }

  struct Command {
    size_t learner;
    uint64_t seq;
    Clock::time_point scheduled;
    bool watch, measured;
  };
  struct Watch {
    size_t learner;
    int64_t expected;
    Clock::time_point sent, accepted;
  };
  std::mutex pool_mu;
  Queue<Command> commands;
  Queue<Watch> watches;
  std::mutex stats_mu;
  Samples cmd_sched, cmd_service, fresh;
  struct TraceRow {
    double at_s, cmd_ms, fresh_ms;
  };
  std::vector<TraceRow> trace;  // guarded by stats_mu
  const auto trace_t0 = Clock::now();
  uint64_t ok = 0, measured_ok = 0, errors = 0, duplicates = 0, timeouts = 0, skipped = 0;
  std::string first_error;
  const std::string run = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count() %
                                         100000000000);

  std::vector<std::thread> workers, watchers;
  for (int w = 0; w < o.workers; ++w) {
    workers.emplace_back([&, w] {
      auto cli = NewClient(o.url, 30);
      std::mt19937_64 r(o.seed * 31 + static_cast<uint64_t>(w));
      while (auto c = commands.Pop()) {
        const std::string& id = pool[c->learner].id;
        json body = {{"lesson_id", "b" + run + "-" + std::to_string(c->seq)},
                     {"minutes", 5 + static_cast<int>(r() % 86)},
                     {"score", static_cast<double>(r() % 1001) / 10.0}};
        const auto sent = Clock::now();
        auto res = cli->Post("/learners/" + id + "/lessons", body.dump(), "application/json");
        const auto done = Clock::now();
        std::optional<int64_t> expected;
        {
          std::lock_guard l(pool_mu);
          PoolLearner& p = pool[c->learner];
          if (res && res->status == 201)
            expected = ++p.lessons;
          else
            p.bad = true;  // unknown outcome: the count can no longer be predicted
          p.busy = false;
        }
        std::lock_guard l(stats_mu);
        if (!expected) {
          if (res && res->status == 200) ++duplicates;
          if (errors++ == 0) {
            first_error = "POST /learners/" + id + "/lessons: " +
                          (res ? "HTTP " + std::to_string(res->status) + " " + res->body
                               : httplib::to_string(res.error()));
          }
          continue;
        }
        ++ok;
        if (c->measured) {
          ++measured_ok;
          cmd_sched.Add(Ms(done - c->scheduled));
          cmd_service.Add(Ms(done - sent));
          if (c->watch) {
            watches.Push({c->learner, *expected, sent, done});
          } else if (!o.trace_path.empty()) {
            trace.push_back(
                {std::chrono::duration<double>(sent - trace_t0).count(), Ms(done - sent), NAN});
          }
        }
      }
    });
  }
  const auto poll = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double, std::milli>(o.poll_ms));
  for (int w = 0; w < o.watchers; ++w) {
    watchers.emplace_back([&] {
      auto cli = NewClient(o.url, 30);
      while (auto wt = watches.Pop()) {
        const std::string& id = pool[wt->learner].id;
        while (true) {
          const auto polled = Clock::now();
          int status;
          auto c = LessonsOf(*cli, id, &status);
          const auto now = Clock::now();
          if (c && *c >= wt->expected) {
            std::lock_guard l(stats_mu);
            fresh.Add(Ms(now - wt->accepted));
            if (!o.trace_path.empty()) {
              trace.push_back({std::chrono::duration<double>(wt->sent - trace_t0).count(),
                               Ms(wt->accepted - wt->sent), Ms(now - wt->accepted)});
            }
            break;
          }
          if (now - wt->accepted > std::chrono::seconds(10)) {
            std::lock_guard l(stats_mu);
            ++timeouts;
            break;
          }
          std::this_thread::sleep_until(polled + poll);
        }
      }
    });
  }

  // The open-loop schedule.
  const auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.rate));
  const auto t0 = Clock::now() + std::chrono::milliseconds(100);
  const auto t_measure =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto t_end =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.seconds));
  uint64_t max_backlog = 0;
  for (uint64_t i = 0;; ++i) {
    const auto at = t0 + period * static_cast<int64_t>(i);
    if (at >= t_end) break;
    std::this_thread::sleep_until(at);
    std::optional<size_t> pick;
    {
      std::lock_guard l(pool_mu);
      for (int tries = 0; tries < 64 && !pick; ++tries) {
        const size_t k = std::uniform_int_distribution<size_t>(0, pool.size() - 1)(rng);
        if (!pool[k].busy && !pool[k].bad) pick = k;
      }
      if (pick) pool[*pick].busy = true;
    }
    if (!pick) {
      ++skipped;
      continue;
    }
    commands.Push({*pick, i, at, o.watch_every > 0 && i % static_cast<uint64_t>(o.watch_every) == 0,
                   at >= t_measure});
    max_backlog = std::max<uint64_t>(max_backlog, commands.size());
  }
  const auto scheduled_end = Clock::now();
  commands.Close();
  for (auto& t : workers) t.join();
  const double drain_s = std::chrono::duration<double>(Clock::now() - scheduled_end).count();
  watches.Close();
  for (auto& t : watchers) t.join();

  if (!o.trace_path.empty()) {
    std::sort(trace.begin(), trace.end(),
              [](const TraceRow& a, const TraceRow& b) { return a.at_s < b.at_s; });
    if (FILE* f = std::fopen(o.trace_path.c_str(), "w")) {
      std::fprintf(f, "# sent_s command_ms freshness_ms (nan: not watched)\n");
      for (const TraceRow& r : trace)
        std::fprintf(f, "%.4f %.3f %.3f\n", r.at_s, r.cmd_ms, r.fresh_ms);
      std::fclose(f);
    }
  }
  const double window = std::max(o.seconds - o.warmup, 1e-9);
  json j;
  j["offered_rate"] = o.rate;
  j["achieved_rate"] = static_cast<double>(measured_ok) / window;
  j["commands_ok"] = ok;
  j["errors"] = errors;
  j["duplicates"] = duplicates;
  j["skipped_no_free_learner"] = skipped;
  j["max_backlog"] = max_backlog;
  j["drain_seconds"] = drain_s;
  j["command_latency_from_schedule"] = cmd_sched.Summary();
  j["command_latency"] = cmd_service.Summary();
  j["freshness"] = fresh.Summary();
  j["freshness_timeouts"] = timeouts;
  j["pool"] = usable;
  if (!first_error.empty()) j["first_error"] = first_error;
  std::printf(
      "freshness  offered=%.0f/s achieved=%.0f/s commands=%llu errors=%llu skipped=%llu "
      "max_backlog=%llu\n",
      o.rate, j["achieved_rate"].get<double>(), static_cast<unsigned long long>(ok),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(skipped),
      static_cast<unsigned long long>(max_backlog));
  std::printf(
      "freshness  command latency p50=%.3fms p99=%.3fms (from schedule p50=%.3fms p99=%.3fms)\n",
      cmd_service.Pct(50), cmd_service.Pct(99), cmd_sched.Pct(50), cmd_sched.Pct(99));
  std::printf(
      "freshness  accepted->visible n=%zu p50=%.3fms p99=%.3fms max=%.3fms timeouts=%llu "
      "(poll every %.1f ms)\n",
      fresh.v.size(), fresh.Pct(50), fresh.Pct(99), fresh.Pct(100),
      static_cast<unsigned long long>(timeouts), o.poll_ms);
  if (!first_error.empty()) std::printf("freshness  first error: %s\n", first_error.c_str());
  std::fflush(stdout);
  return j;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"Page latency (read model vs naive) and freshness of the studylog service"};
  app.add_option("--url", o.url, "the service, http://HOST:PORT")->required();
  app.add_option("--learners", o.learners, "learners studylog-gen registered")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 31));
  app.add_option("--groups", o.groups, "groups studylog-gen created")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 31));
  app.add_option("--seed", o.seed, "random seed")->capture_default_str();
  app.add_option("--only", o.only, "comma-separated phases: page, naive, freshness")
      ->capture_default_str();
  app.add_option("--json", o.json_path, "write every figure as JSON to this file");
  app.add_option("--trace", o.trace_path,
                 "freshness: write each measured command (send time, latency, freshness) here");
  app.add_option("--pages", o.pages, "read-model page requests")->capture_default_str();
  app.add_option("--page-seconds", o.page_seconds, "time limit of the page phase")
      ->capture_default_str();
  app.add_option("--naive-pages", o.naive_pages, "naive page requests")->capture_default_str();
  app.add_option("--naive-seconds", o.naive_seconds, "time limit of the naive phase")
      ->capture_default_str();
  app.add_option("--page-threads", o.page_threads, "concurrent page clients")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--limit", o.limit, "page size")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "lesson commands per second (open loop)")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  app.add_option("--seconds", o.seconds, "duration of the command load")->capture_default_str();
  app.add_option("--warmup", o.warmup, "first seconds not counted")->capture_default_str();
  app.add_option("--watch-every", o.watch_every, "watch every Nth command for freshness")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--poll-ms", o.poll_ms, "freshness poll interval")->capture_default_str();
  app.add_option("--workers", o.workers, "command client threads")
      ->check(CLI::Range(1, 512))
      ->capture_default_str();
  app.add_option("--watchers", o.watchers, "freshness poller threads")
      ->check(CLI::Range(1, 512))
      ->capture_default_str();
  app.add_option("--pool", o.pool, "distinct learners the commands go to")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  bool no_keep_alive = false;
  app.add_flag("--no-keep-alive", no_keep_alive, "a new connection per request");
  CLI11_PARSE(app, argc, argv);
  g_keep_alive = !no_keep_alive;
  if (o.warmup >= o.seconds) {
    std::fprintf(stderr, "studylog-bench: --warmup must be shorter than --seconds\n");
    return 2;
  }
  {
    auto cli = NewClient(o.url, 10);
    auto res = cli->Get("/health");
    if (!res || res->status != 200) {
      std::fprintf(stderr, "studylog-bench: %s/health: %s\n", o.url.c_str(),
                   res ? ("HTTP " + std::to_string(res->status)).c_str()
                       : httplib::to_string(res.error()).c_str());
      return 1;
    }
  }
  auto want = [&](const char* phase) {
    return ("," + o.only + ",").find(std::string(",") + phase + ",") != std::string::npos;
  };
  json out = {{"learners", o.learners}, {"groups", o.groups}, {"url", o.url}};
  if (want("page")) {
    PageResult r = RunPages(o, "/groups/", o.pages, o.page_seconds, 30);
    out["page"] = ReportPages("page", r);
  }
  if (want("naive")) {
    PageResult r = RunPages(o, "/naive/groups/", o.naive_pages, o.naive_seconds, 300);
    out["naive"] = ReportPages("naive", r);
  }
  if (want("freshness")) out["freshness"] = RunFreshness(o);
  if (!o.json_path.empty()) {
    std::ofstream f(o.json_path);
    f << out.dump(2) << "\n";
    if (!f) {
      std::fprintf(stderr, "studylog-bench: cannot write %s\n", o.json_path.c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "studylog-bench: unexpected error: %s\n", e.what());
    return 1;
  }
}
