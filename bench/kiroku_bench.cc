// kiroku-bench: throughput and latency of the embedded store next to the physical limits of
// the disk it runs on, measured in the same run.
//
// Workloads (durable mode, Durability::kSyncEveryGroup, unless labelled otherwise):
//   phys  fdatasync latency (4 KiB append + fdatasync) and sequential write bandwidth
//   a     batched appends: N writers x batches of 100 events to random streams, both
//         synchronous (Append) and pipelined (AppendAsync, up to --inflight per writer)
//   b     single-event appends from 64 concurrent writers: latency percentiles, events/s;
//         also pipelined (AppendAsync, up to --inflight-b per writer)
//   c     `$all` read of everything: ScanAll (zero-copy) and ReadAll in pages of 10,000
//   d     random ReadStream: whole streams and single events at a random revision
//   e     Store::Open of a store holding --reopen-events events (built with kNoSync)
//
// Every append workload runs on a fresh store directory; c and d share one data set loaded
// with kNoSync in the shape of (a); e's store is built once. Each workload runs --repeat
// times (default 3), round robin, and the table shows the median and min..max. Next to the
// figures the tool records where the CPU went (cpu_probe.h): on a shared machine the
// committer often waits for a CPU, which no engine change can fix.
//
// Files go to --data if the tool creates it (and it is deleted at the end), else to a
// subdirectory of it (deleted at the end).
#include <fcntl.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <semaphore>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cpu_probe.h"
#include "event_payload.h"
#include "kiroku/event.h"
#include "kiroku/status.h"
#include "kiroku/store.h"
#include "machine_probe.h"
#include "report.h"

namespace kiroku::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Config {
  std::string data = "./bench-data";
  uint64_t events_a = 2'000'000;
  uint64_t events_b = 300'000;
  uint64_t reopen_events = 10'000'000;
  uint64_t seq_bytes = 1ull << 30;
  std::vector<std::string> only;
  int repeat = 3;
  bool json = false;
  int writers_a = 4;
  int batch_a = 100;
  int inflight = 8;
  int writers_b = 64;
  int inflight_b = 8;
  int streams = 10'000;
  int payload_bytes = 200;
  int readers = 2;
  double read_seconds = 5;
  int fsync_count = 1000;
  int reopen_batch = 1000;
  int reopen_opens = 3;

  bool Runs(const std::string& w) const {
    return only.empty() || std::find(only.begin(), only.end(), w) != only.end();
  }
};

// ---- failure and cleanup ----

std::string g_cleanup_dir;  // removed on exit, also after a fatal error

void RemoveTree(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) std::cerr << "warning: could not remove " << dir << ": " << ec.message() << "\n";
}

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "kiroku-bench: " << msg << std::endl;
  RemoveTree(g_cleanup_dir);
  std::exit(1);
}

void Progress(const std::string& msg) { std::cerr << "  " << msg << std::endl; }

// ---- the machine ----

std::string GiB(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  return buf;
}

// "1.0 GiB" or "100.0 MiB".
std::string Bytes(uint64_t bytes) {
  if (bytes >= (1ull << 30)) return GiB(bytes);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1ull << 20));
  return buf;
}

Fields Machine(const std::string& data_dir) {
  Fields f;
  f.emplace_back("nproc", std::to_string(std::thread::hardware_concurrency()));
  f.emplace_back("cpu", ReadFirstMatch("/proc/cpuinfo", "model name"));
  struct utsname u;
  if (uname(&u) == 0) f.emplace_back("kernel", std::string(u.sysname) + " " + u.release);
  f.emplace_back("memory", ReadFirstMatch("/proc/meminfo", "MemTotal"));
  struct statvfs sv;
  if (statvfs(data_dir.c_str(), &sv) == 0) {
    f.emplace_back("disk free", GiB(static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize) + " of " +
                                    GiB(static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize));
  }
  f.emplace_back("data fs", MountOf(data_dir));
  f.emplace_back("load average at start", LoadAverage());
  return f;
}

// ---- events ----

std::vector<EventData> MakeBatch(int n, const std::string& payload) {
  std::vector<EventData> v(static_cast<size_t>(n));
  for (EventData& e : v) {
    e.type = "LessonCompleted";
    e.content_type = ContentType::kJson;
    e.data = payload;
  }
  return v;
}

std::vector<std::string> StreamNames(int n) {
  std::vector<std::string> v;
  v.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v.push_back("learner-" + std::to_string(i));
  return v;
}

std::unique_ptr<Store> OpenStore(const std::string& dir, Durability d) {
  StoreOptions o;
  o.durability = d;
  auto r = Store::Open(dir, o);
  if (!r.ok()) Die("open " + dir + ": " + r.status().ToString());
  return std::move(r).value();
}

// ---- appends ----

struct AppendSpec {
  uint64_t total_events = 0;
  int writers = 1;
  int batch = 1;
  int inflight = 0;  // 0: synchronous Append; otherwise AppendAsync with this many in flight
  bool record_latency = false;
  int streams = 10'000;
  int payload_bytes = 200;
};

struct AppendOutcome {
  double seconds = 0;
  uint64_t events = 0;
  uint64_t appends = 0;
  uint64_t bytes = 0;   // StoreStats::bytes_appended delta: log bytes
  uint64_t groups = 0;  // commit groups
  uint64_t syncs = 0;
  uint64_t timed_syncs = 0;        // fdatasyncs the engine timed
  double sync_seconds = 0;         // their total wall time, as the engine measured it
  std::vector<double> latency_ms;  // per append, sorted; empty unless recorded
  CpuUsage cpu;
};

// One writer thread's state; shared with its callbacks, which may outlive the thread.
struct WriterState {
  explicit WriterState(int inflight) : slots(inflight) {}
  std::counting_semaphore<> slots;
  std::vector<double> latency_ms;  // slot i written once, by append i's completion
};

std::mutex g_error_mu;
std::string g_first_error;
std::atomic<uint64_t> g_errors{0};

void RecordError(const Status& s) {
  if (g_errors.fetch_add(1) == 0) {
    std::lock_guard lock(g_error_mu);
    g_first_error = s.ToString();
  }
}

void CheckNoErrors(const std::string& what) {
  if (g_errors.load() != 0) {
    std::lock_guard lock(g_error_mu);
    Die(what + ": " + std::to_string(g_errors.load()) +
        " operations failed, first: " + g_first_error);
  }
}

AppendOutcome RunAppends(Store* store, const AppendSpec& spec) {
  const std::vector<std::string> names = StreamNames(spec.streams);
  const std::vector<EventData> tmpl = MakeBatch(spec.batch, JsonPayload(spec.payload_bytes));
  const uint64_t total_appends = (spec.total_events + spec.batch - 1) / spec.batch;
  std::vector<std::shared_ptr<WriterState>> states;
  for (int w = 0; w < spec.writers; ++w) {
    states.push_back(std::make_shared<WriterState>(std::max(spec.inflight, 1)));
  }
  std::latch start(spec.writers + 1);
  std::vector<std::thread> threads;
  const StoreStats before = store->Stats();
  for (int w = 0; w < spec.writers; ++w) {
    const uint64_t quota =
        total_appends / spec.writers + (static_cast<uint64_t>(w) < total_appends % spec.writers);
    threads.emplace_back([&, w, quota] {
      std::shared_ptr<WriterState> ws = states[w];
      if (spec.record_latency) ws->latency_ms.assign(quota, 0);
      std::mt19937_64 rng(0x9e3779b97f4a7c15ull * (w + 1));
      std::uniform_int_distribution<size_t> pick(0, names.size() - 1);
      start.arrive_and_wait();
      for (uint64_t i = 0; i < quota; ++i) {
        const std::string& stream = names[pick(rng)];
        std::vector<EventData> events = tmpl;
        if (spec.inflight == 0) {
          auto t0 = Clock::now();
          auto r = store->Append(stream, ExpectedRevision::Any(), std::move(events));
          if (spec.record_latency) ws->latency_ms[i] = SecondsSince(t0) * 1e3;
          if (!r.ok()) RecordError(r.status());
          continue;
        }
        ws->slots.acquire();
        auto t0 = Clock::now();
        const bool record = spec.record_latency;
        store->AppendAsync(stream, ExpectedRevision::Any(), std::move(events),
                           [ws, i, t0, record](Result<AppendResult> r) {
                             if (record) ws->latency_ms[i] = SecondsSince(t0) * 1e3;
                             if (!r.ok()) RecordError(r.status());
                             ws->slots.release();
                           });
      }
      // Drain: every slot back means every append of this writer completed.
      for (int k = 0; k < spec.inflight; ++k) ws->slots.acquire();
    });
  }
  start.arrive_and_wait();
  const auto t0 = Clock::now();
  const CpuProbe probe;
  for (std::thread& t : threads) t.join();
  AppendOutcome out;
  out.seconds = SecondsSince(t0);
  out.cpu = probe.Stop();
  const StoreStats after = store->Stats();
  out.events = after.events_appended - before.events_appended;
  out.appends = after.appends - before.appends;
  out.bytes = after.bytes_appended - before.bytes_appended;
  out.groups = after.commit_groups - before.commit_groups;
  out.syncs = after.syncs - before.syncs;
  out.timed_syncs = after.sync_latency_count - before.sync_latency_count;
  out.sync_seconds = after.sync_latency_sum_seconds - before.sync_latency_sum_seconds;
  if (spec.record_latency) {
    for (const auto& ws : states) {
      out.latency_ms.insert(out.latency_ms.end(), ws->latency_ms.begin(), ws->latency_ms.end());
    }
    std::sort(out.latency_ms.begin(), out.latency_ms.end());
  }
  return out;
}

// ---- physical limits ----

struct PhysOutcome {
  double fsync_p50_ms = 0, fsync_p99_ms = 0, fsync_max_ms = 0;
  // The same without the time the probing thread sat runnable waiting for a CPU after the
  // disk answered (on a busy machine that wait is a scheduler tick or more).
  double fsync_net_p50_ms = 0, fsync_net_p99_ms = 0;
  double fsync_cpu_wait_share = 0;  // of the total probe time
  double seq_mb_s = 0;
};

PhysOutcome RunPhys(const Config& cfg, const std::string& dir) {
  PhysOutcome out;
  fs::create_directories(dir);
  {
    auto probe = ProbeFdatasync(dir, cfg.fsync_count);
    if (!probe.ok()) Die(probe.status().ToString());
    out.fsync_p50_ms = probe->p50_ms;
    out.fsync_p99_ms = probe->p99_ms;
    out.fsync_max_ms = probe->max_ms;
    out.fsync_net_p50_ms = probe->net_p50_ms;
    out.fsync_net_p99_ms = probe->net_p99_ms;
    out.fsync_cpu_wait_share = probe->cpu_wait_share;
  }
  {
    const std::string path = dir + "/seq.probe";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) Die("open " + path + ": " + std::strerror(errno));
    std::vector<char> buf(1 << 20);
    std::mt19937_64 rng(7);  // incompressible, in case the storage layer compresses
    for (size_t i = 0; i + 8 <= buf.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(buf.data() + i, &v, 8);
    }
    auto t0 = Clock::now();
    uint64_t written = 0;
    while (written < cfg.seq_bytes) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(buf.size(), cfg.seq_bytes - written));
      ssize_t w = ::write(fd, buf.data(), n);
      if (w <= 0) Die("write " + path + ": " + std::strerror(errno));
      written += static_cast<uint64_t>(w);
    }
    if (::fdatasync(fd) != 0) Die("fdatasync " + path + ": " + std::strerror(errno));
    double secs = SecondsSince(t0);
    ::close(fd);
    ::unlink(path.c_str());
    out.seq_mb_s = static_cast<double>(written) / secs / 1e6;
  }
  return out;
}

// ---- reads ----

struct ScanOutcome {
  double seconds = 0;
  uint64_t events = 0;
  uint64_t log_bytes = 0;
  CpuUsage cpu;
};

ScanOutcome RunScanAll(Store* store) {
  ScanOutcome out;
  uint64_t data_bytes = 0;
  ReadAllOptions o;
  o.from = Position::Start();
  auto t0 = Clock::now();
  const CpuProbe probe;
  auto r = store->ScanAll(o, [&](const EventView& v) {
    ++out.events;
    data_bytes += v.data.size();
    return true;
  });
  out.seconds = SecondsSince(t0);
  out.cpu = probe.Stop();
  if (!r.ok()) Die("ScanAll: " + r.status().ToString());
  out.log_bytes = r->value;
  if (data_bytes == 0 && out.events != 0) Die("ScanAll saw empty events");
  return out;
}

ScanOutcome RunReadAllPages(Store* store, uint64_t page) {
  ScanOutcome out;
  ReadAllOptions o;
  o.from = Position::Start();
  o.max_count = page;
  auto t0 = Clock::now();
  const CpuProbe probe;
  while (true) {
    auto r = store->ReadAll(o);
    if (!r.ok()) Die("ReadAll: " + r.status().ToString());
    out.events += r->events.size();
    o.from = r->next;
    if (r->end_of_log || r->events.empty()) break;
  }
  out.seconds = SecondsSince(t0);
  out.cpu = probe.Stop();
  out.log_bytes = o.from.value;
  return out;
}

struct ReadOutcome {
  double seconds = 0;
  uint64_t reads = 0;
  uint64_t events = 0;
  std::vector<double> latency_us;  // sorted
  CpuUsage cpu;
};

// `readers` threads read random streams for `seconds`. heads[i] = event count of stream i.
ReadOutcome RunRandomReads(Store* store, const std::vector<std::string>& names,
                           const std::vector<uint64_t>& counts, int readers, double seconds,
                           bool single_event) {
  std::vector<size_t> nonempty;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0) nonempty.push_back(i);
  }
  if (nonempty.empty()) Die("random reads: the data set has no streams");
  std::vector<std::vector<double>> lat(static_cast<size_t>(readers));
  std::vector<uint64_t> events(static_cast<size_t>(readers), 0);
  std::atomic<bool> stop{false};
  std::latch start(readers + 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < readers; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1234 + t);
      std::uniform_int_distribution<size_t> pick(0, nonempty.size() - 1);
      start.arrive_and_wait();
      while (!stop.load(std::memory_order_relaxed)) {
        size_t s = nonempty[pick(rng)];
        ReadStreamOptions o;
        if (single_event) {
          o.from = StreamRevision(std::uniform_int_distribution<uint64_t>(0, counts[s] - 1)(rng));
          o.max_count = 1;
        }
        auto t0 = Clock::now();
        auto r = store->ReadStream(names[s], o);
        lat[t].push_back(SecondsSince(t0) * 1e6);
        if (!r.ok()) {
          RecordError(r.status());
          continue;
        }
        const uint64_t want = single_event ? 1 : counts[s];
        if (r->size() != want) {
          RecordError(Status::Corruption("ReadStream(" + names[s] + ") returned " +
                                         std::to_string(r->size()) + " events, expected " +
                                         std::to_string(want)));
        }
        events[t] += r->size();
      }
    });
  }
  start.arrive_and_wait();
  auto t0 = Clock::now();
  const CpuProbe probe;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (std::thread& t : threads) t.join();
  ReadOutcome out;
  out.seconds = SecondsSince(t0);
  out.cpu = probe.Stop();
  for (int t = 0; t < readers; ++t) {
    out.reads += lat[t].size();
    out.events += events[t];
    out.latency_us.insert(out.latency_us.end(), lat[t].begin(), lat[t].end());
  }
  std::sort(out.latency_us.begin(), out.latency_us.end());
  return out;
}

// ---- the run ----

uint64_t DirBytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::end(it); it.increment(ec)) {
    if (ec) break;
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

class Bench {
 public:
  Bench(Config cfg, std::string root) : cfg_(std::move(cfg)), root_(std::move(root)) {}

  void RunAll() {
    for (int rep = 1; rep <= cfg_.repeat; ++rep) {
      rep_ = rep;
      std::cerr << "repetition " << rep << " of " << cfg_.repeat << "\n";
      if (cfg_.Runs("phys")) Phys();
      if (cfg_.Runs("a")) WorkloadA();
      if (cfg_.Runs("b")) WorkloadB();
      if (cfg_.Runs("c") || cfg_.Runs("d")) Reads();
      if (cfg_.Runs("e")) WorkloadE();
      DeriveRepetition();
    }
  }

  Report& report() { return report_; }

 private:
  std::string FreshDir(const std::string& name) {
    std::string dir = root_ + "/" + name + "-" + std::to_string(rep_);
    RemoveTree(dir);
    return dir;
  }

  void Phys() {
    std::cerr << "[phys] fdatasync latency, sequential write bandwidth\n";
    std::string dir = FreshDir("phys");
    PhysOutcome p = RunPhys(cfg_, dir);
    RemoveTree(dir);
    const std::string w = "disk: 4 KiB append + fdatasync x" + std::to_string(cfg_.fsync_count);
    report_.Add("phys.fsync_p50_ms", w, "latency p50", "ms", p.fsync_p50_ms);
    report_.Add("phys.fsync_p99_ms", w, "latency p99", "ms", p.fsync_p99_ms);
    report_.Add("phys.fsync_max_ms", w, "latency max", "ms", p.fsync_max_ms);
    report_.Add("phys.fsync_net_p50_ms", w, "latency p50 without waiting for a CPU", "ms",
                p.fsync_net_p50_ms);
    report_.Add("phys.fsync_net_p99_ms", w, "latency p99 without waiting for a CPU", "ms",
                p.fsync_net_p99_ms);
    report_.Add("phys.fsync_cpu_wait", w, "share of probe time waiting for a CPU", "%",
                100 * p.fsync_cpu_wait_share);
    const std::string ws =
        "disk: sequential write " + Bytes(cfg_.seq_bytes) + " (1 MiB writes) + fdatasync";
    report_.Add("phys.seq_mb_s", ws, "bandwidth", "MB/s", p.seq_mb_s);
    Progress("fdatasync p50 " + FormatNumber(p.fsync_p50_ms) + " ms, p99 " +
             FormatNumber(p.fsync_p99_ms) + " ms (without CPU wait: p50 " +
             FormatNumber(p.fsync_net_p50_ms) + " ms, p99 " + FormatNumber(p.fsync_net_p99_ms) +
             " ms; " + FormatNumber(100 * p.fsync_cpu_wait_share) +
             "% of the time waiting for a CPU); sequential " + FormatNumber(p.seq_mb_s) + " MB/s");
  }

  // CPU accounting of one run. `committer`: the busiest long-lived thread is the committer.
  void AddCpuMetrics(const std::string& key, const std::string& label, const CpuUsage& u,
                     bool committer) {
    report_.Add(key + ".cpu_process", label, "CPU used by kiroku-bench", "cores", u.process_cores);
    report_.Add(key + ".cpu_others", label, "CPU used by other processes", "cores", u.other_cores);
    if (committer) {
      report_.Add(key + ".committer_on_cpu", label, "committer thread on a CPU", "%",
                  100 * u.busiest_on_cpu);
      report_.Add(key + ".committer_waiting", label, "committer thread waiting for a CPU", "%",
                  100 * u.busiest_waiting);
    }
  }

  static std::string CpuText(const CpuUsage& u, bool committer) {
    std::string s = "CPU: bench " + FormatNumber(u.process_cores) + " cores, others " +
                    FormatNumber(u.other_cores) + " cores, steal " + FormatNumber(u.steal_cores) +
                    " cores";
    if (committer) {
      s += "; committer on CPU " + FormatNumber(100 * u.busiest_on_cpu) + "%, waiting for CPU " +
           FormatNumber(100 * u.busiest_waiting) + "%";
    }
    return s;
  }

  void AddAppendMetrics(const std::string& key, const std::string& label, const AppendOutcome& o,
                        Goal goal, double target) {
    double eps = static_cast<double>(o.events) / o.seconds;
    report_.Add(key + ".events_per_s", label, "throughput", "events/s", eps, goal, target);
    report_.Add(key + ".log_mb_s", label, "log bytes written", "MB/s",
                static_cast<double>(o.bytes) / o.seconds / 1e6);
    report_.Add(key + ".events_per_group", label, "events per commit group", "events",
                o.groups ? static_cast<double>(o.events) / static_cast<double>(o.groups) : 0);
    report_.Add(key + ".syncs_per_s", label, "fdatasyncs", "1/s",
                static_cast<double>(o.syncs) / o.seconds);
    const double sync_mean_ms =
        o.timed_syncs ? o.sync_seconds / static_cast<double>(o.timed_syncs) * 1e3 : 0;
    report_.Add(key + ".engine_fsync_mean_ms", label, "engine's fdatasync mean (its own timing)",
                "ms", sync_mean_ms);
    report_.Add(key + ".committer_in_fsync", label, "committer time inside fdatasync", "%",
                100 * o.sync_seconds / o.seconds);
    Progress(FormatNumber(static_cast<double>(o.events)) + " events in " + FormatNumber(o.seconds) +
             " s = " + FormatNumber(eps) + " events/s, " +
             FormatNumber(static_cast<double>(o.events) / std::max<uint64_t>(o.groups, 1)) +
             " events/group, " + FormatNumber(static_cast<double>(o.syncs) / o.seconds) +
             " syncs/s, engine fdatasync mean " + FormatNumber(sync_mean_ms) + " ms (" +
             FormatNumber(100 * o.sync_seconds / o.seconds) + "% of the time)");
    AddCpuMetrics(key, label, o.cpu, true);
    // The single committer thread's cost per event bounds throughput even with a free core
    // and an instant disk.
    const double committer_cpu_s = o.cpu.busiest_on_cpu * o.seconds;
    const double per_cpu_s =
        committer_cpu_s > 0 ? static_cast<double>(o.events) / committer_cpu_s : 0;
    report_.Add(key + ".events_per_committer_cpu_s", label, "events per committer CPU-second",
                "events/s", per_cpu_s);
    Progress(CpuText(o.cpu, true) + "; " + FormatNumber(per_cpu_s) +
             " events per committer CPU-second");
  }

  void WorkloadA() {
    AppendSpec spec;
    spec.total_events = cfg_.events_a;
    spec.writers = cfg_.writers_a;
    spec.batch = cfg_.batch_a;
    spec.streams = cfg_.streams;
    spec.payload_bytes = cfg_.payload_bytes;
    for (int inflight : {0, cfg_.inflight}) {
      spec.inflight = inflight;
      const bool sync = inflight == 0;
      const std::string key = sync ? "a_sync" : "a_pipelined";
      const std::string label = "(a) batched append, " + std::to_string(cfg_.writers_a) +
                                (sync ? " sync writers (Append)"
                                      : " pipelined writers (AppendAsync, " +
                                            std::to_string(inflight) + " in flight each)") +
                                ", " + std::to_string(cfg_.batch_a) + " ev/batch";
      std::cerr << "[a] " << label << "\n";
      std::string dir = FreshDir(key);
      auto store = OpenStore(dir, Durability::kSyncEveryGroup);
      AppendOutcome o = RunAppends(store.get(), spec);
      store.reset();
      CheckNoErrors(key);
      RemoveTree(dir);
      AddAppendMetrics(key, label, o, Goal::kAtLeast, 1.5e6);
    }
  }

  void WorkloadB() {
    AppendSpec spec;
    spec.total_events = cfg_.events_b;
    spec.writers = cfg_.writers_b;
    spec.batch = 1;
    spec.record_latency = true;
    spec.streams = cfg_.streams;
    spec.payload_bytes = cfg_.payload_bytes;
    for (int inflight : {0, cfg_.inflight_b}) {
      spec.inflight = inflight;
      const bool sync = inflight == 0;
      const std::string key = sync ? "b_sync" : "b_pipelined";
      const std::string label = "(b) single-event append, " + std::to_string(cfg_.writers_b) +
                                (sync ? " sync writers (Append)"
                                      : " pipelined writers (AppendAsync, " +
                                            std::to_string(inflight) + " in flight each)");
      std::cerr << "[b] " << label << "\n";
      std::string dir = FreshDir(key);
      auto store = OpenStore(dir, Durability::kSyncEveryGroup);
      AppendOutcome o = RunAppends(store.get(), spec);
      store.reset();
      CheckNoErrors(key);
      RemoveTree(dir);
      // Targets apply to the synchronous variant (the workload); the pipelined one
      // is shown for comparison.
      const Goal g = sync ? Goal::kAtLeast : Goal::kNone;
      AddAppendMetrics(key, label, o, g, 150e3);
      report_.Add(key + ".p50_ms", label, "append latency p50", "ms",
                  Percentile(o.latency_ms, 0.50));
      report_.Add(key + ".p99_ms", label, "append latency p99", "ms",
                  Percentile(o.latency_ms, 0.99), sync ? Goal::kAtMost : Goal::kNone, 2.0);
      report_.Add(key + ".p999_ms", label, "append latency p99.9", "ms",
                  Percentile(o.latency_ms, 0.999));
      Progress("latency p50 " + FormatNumber(Percentile(o.latency_ms, 0.5)) + " ms, p99 " +
               FormatNumber(Percentile(o.latency_ms, 0.99)) + " ms, p99.9 " +
               FormatNumber(Percentile(o.latency_ms, 0.999)) + " ms");
    }
  }

  // The data set of c and d: --events-a events in the shape of (a), loaded once with
  // kNoSync (labelled), then reopened durable for every read repetition.
  void EnsureReadDataSet() {
    if (!read_dir_.empty()) return;
    read_dir_ = root_ + "/read-dataset";
    RemoveTree(read_dir_);
    std::cerr << "[c,d] loading the read data set: " << FormatNumber(cfg_.events_a)
              << " events, no-sync (UNSAFE, load only)\n";
    auto store = OpenStore(read_dir_, Durability::kNoSync);
    AppendSpec spec;
    spec.total_events = cfg_.events_a;
    spec.writers = cfg_.writers_a;
    spec.batch = cfg_.batch_a;
    spec.inflight = cfg_.inflight;
    spec.streams = cfg_.streams;
    spec.payload_bytes = cfg_.payload_bytes;
    AppendOutcome o = RunAppends(store.get(), spec);
    CheckNoErrors("loading the read data set");
    read_events_ = o.events;
    Progress("loaded in " + FormatNumber(o.seconds) + " s (" +
             FormatNumber(static_cast<double>(o.events) / o.seconds) + " events/s no-sync)");
    report_.Note("(c) and (d) read one data set of " + FormatNumber(cfg_.events_a) + " events (" +
                 std::to_string(cfg_.batch_a) + "-event appends to random " + "streams of " +
                 FormatNumber(cfg_.streams) +
                 ") loaded with Durability::kNoSync, closed, and reopened durable for each "
                 "repetition; the page cache is warm.");
  }

  void Reads() {
    EnsureReadDataSet();
    auto store = OpenStore(read_dir_, Durability::kSyncEveryGroup);
    const std::vector<std::string> names = StreamNames(cfg_.streams);
    if (cfg_.Runs("c")) {
      std::cerr << "[c] $all read of " << FormatNumber(static_cast<double>(read_events_))
                << " events\n";
      ScanOutcome s = RunScanAll(store.get());
      if (s.events != read_events_) {
        Die("ScanAll returned " + std::to_string(s.events) + " events, expected " +
            std::to_string(read_events_));
      }
      const std::string l1 = "(c) $all forwards, ScanAll (zero-copy visitor)";
      report_.Add("c_scan.events_per_s", l1, "throughput", "events/s",
                  static_cast<double>(s.events) / s.seconds, Goal::kAtLeast, 10e6);
      report_.Add("c_scan.mb_s", l1, "log bytes read", "MB/s",
                  static_cast<double>(s.log_bytes) / s.seconds / 1e6);
      report_.Add("c_scan.events_per_cpu_s", l1, "events per CPU-second of the reading thread",
                  "events/s", static_cast<double>(s.events) / s.cpu.caller_cpu_seconds);
      report_.Add("c_scan.waiting", l1, "reading thread waiting for a CPU", "%",
                  100 * s.cpu.caller_waiting);
      report_.Add("c_scan.cpu_others", l1, "CPU used by other processes", "cores",
                  s.cpu.other_cores);
      Progress("ScanAll " + FormatNumber(static_cast<double>(s.events) / s.seconds) +
               " events/s, " + FormatNumber(static_cast<double>(s.log_bytes) / s.seconds / 1e6) +
               " MB/s, " + FormatNumber(static_cast<double>(s.events) / s.cpu.caller_cpu_seconds) +
               " events per CPU-second; " + CpuText(s.cpu, false));
      ScanOutcome p = RunReadAllPages(store.get(), 10'000);
      if (p.events != read_events_) Die("ReadAll returned " + std::to_string(p.events));
      const std::string l2 = "(c) $all forwards, ReadAll (copying) pages of 10,000";
      report_.Add("c_readall.events_per_s", l2, "throughput", "events/s",
                  static_cast<double>(p.events) / p.seconds);
      report_.Add("c_readall.mb_s", l2, "log bytes read", "MB/s",
                  static_cast<double>(p.log_bytes) / p.seconds / 1e6);
      report_.Add("c_readall.events_per_cpu_s", l2, "events per CPU-second of the reading thread",
                  "events/s", static_cast<double>(p.events) / p.cpu.caller_cpu_seconds);
      Progress("ReadAll pages " + FormatNumber(static_cast<double>(p.events) / p.seconds) +
               " events/s; " + CpuText(p.cpu, false));
    }
    if (cfg_.Runs("d")) {
      std::vector<uint64_t> counts;
      for (const std::string& n : names) {
        auto h = store->StreamHead(n);
        if (!h.ok()) Die("StreamHead " + n + ": " + h.status().ToString());
        counts.push_back(*h ? h->value().value + 1 : 0);
      }
      for (bool single : {false, true}) {
        const std::string key = single ? "d_single" : "d_stream";
        const std::string label =
            std::string(single ? "(d) ReadStream, one event at a random revision"
                               : "(d) ReadStream, whole random stream forwards") +
            ", " + std::to_string(cfg_.readers) + " readers";
        std::cerr << "[d] " << label << "\n";
        ReadOutcome r =
            RunRandomReads(store.get(), names, counts, cfg_.readers, cfg_.read_seconds, single);
        CheckNoErrors(key);
        report_.Add(key + ".reads_per_s", label, "reads", "reads/s",
                    static_cast<double>(r.reads) / r.seconds);
        report_.Add(key + ".events_per_s", label, "events returned", "events/s",
                    static_cast<double>(r.events) / r.seconds);
        report_.Add(key + ".p50_us", label, "read latency p50", "us",
                    Percentile(r.latency_us, 0.50));
        report_.Add(key + ".p99_us", label, "read latency p99", "us",
                    Percentile(r.latency_us, 0.99));
        AddCpuMetrics(key, label, r.cpu, false);
        report_.Add(
            key + ".cpu_us_per_read", label, "CPU per read (all threads)", "us",
            r.reads ? r.cpu.process_cores * r.seconds / static_cast<double>(r.reads) * 1e6 : 0);
        Progress(FormatNumber(static_cast<double>(r.reads) / r.seconds) + " reads/s (" +
                 FormatNumber(static_cast<double>(r.events) / std::max<uint64_t>(r.reads, 1)) +
                 " events/read), p50 " + FormatNumber(Percentile(r.latency_us, 0.5)) + " us, p99 " +
                 FormatNumber(Percentile(r.latency_us, 0.99)) + " us; " + CpuText(r.cpu, false));
      }
    }
  }

  void EnsureReopenStore() {
    if (!reopen_dir_.empty()) return;
    reopen_dir_ = root_ + "/reopen";
    RemoveTree(reopen_dir_);
    std::cerr << "[e] building a store of " << FormatNumber(cfg_.reopen_events)
              << " events with no-sync (UNSAFE, build only), " << cfg_.reopen_batch
              << "-event appends\n";
    auto t0 = Clock::now();
    auto store = OpenStore(reopen_dir_, Durability::kNoSync);
    AppendSpec spec;
    spec.total_events = cfg_.reopen_events;
    spec.writers = cfg_.writers_a;
    spec.batch = cfg_.reopen_batch;
    spec.inflight = 4;
    spec.streams = cfg_.streams;
    spec.payload_bytes = cfg_.payload_bytes;
    AppendOutcome o = RunAppends(store.get(), spec);
    CheckNoErrors("building the reopen store");
    reopen_events_ = o.events;
    store.reset();  // clean close: syncs the log, flushes the index
    const uint64_t bytes = DirBytes(reopen_dir_);
    Progress("built in " + FormatNumber(SecondsSince(t0)) + " s (" +
             FormatNumber(static_cast<double>(o.events) / o.seconds) + " events/s no-sync), " +
             GiB(bytes) + " on disk");
    report_.Note("(e) the store was built with Durability::kNoSync (UNSAFE, build only) from " +
                 std::to_string(cfg_.reopen_batch) + "-event appends, " + GiB(bytes) +
                 " on disk, and closed cleanly; only Store::Open is timed (median of " +
                 std::to_string(cfg_.reopen_opens) + " opens per repetition, warm page cache).");
  }

  void WorkloadE() {
    EnsureReopenStore();
    std::vector<double> opens;
    for (int i = 0; i < cfg_.reopen_opens; ++i) {
      auto t0 = Clock::now();
      auto store = OpenStore(reopen_dir_, Durability::kSyncEveryGroup);
      opens.push_back(SecondsSince(t0));
      if (store->LogEnd().value == 0) Die("reopened store is empty");
      store.reset();
    }
    std::sort(opens.begin(), opens.end());
    const std::string label = "(e) Store::Open of " +
                              FormatNumber(static_cast<double>(reopen_events_)) +
                              " events after a clean close";
    report_.Add("e.open_s", label,
                "open time (median of " + std::to_string(cfg_.reopen_opens) + ")", "s",
                opens[opens.size() / 2], Goal::kAtMost, 2.0);
    std::string all;
    for (double s : opens) all += (all.empty() ? "" : ", ") + FormatNumber(s);
    Progress("open times (s): " + all);
  }

  // (a) and (b) against the physical limits measured in the same repetition.
  void DeriveRepetition() {
    auto fsync = report_.LastOf("phys.fsync_p50_ms");
    auto fsync_net = report_.LastOf("phys.fsync_net_p50_ms");
    auto seq = report_.LastOf("phys.seq_mb_s");
    struct Case {
      std::string key, label;
      double in_flight;
    };
    const double a_flight = static_cast<double>(cfg_.writers_a) * cfg_.batch_a;
    const std::vector<Case> cases = {
        {"a_sync", "(a) sync writers", a_flight},
        {"a_pipelined", "(a) pipelined writers", a_flight * cfg_.inflight},
        {"b_sync", "(b) sync writers", static_cast<double>(cfg_.writers_b)},
        {"b_pipelined", "(b) pipelined writers",
         static_cast<double>(cfg_.writers_b) * cfg_.inflight_b},
    };
    for (const Case& c : cases) {
      auto eps = report_.LastOf(c.key + ".events_per_s");
      auto mbs = report_.LastOf(c.key + ".log_mb_s");
      if (!eps) continue;
      const std::string label = c.label + " vs physical limits (same repetition)";
      if (seq && mbs) {
        report_.Add(c.key + ".pct_seq_bw", label, "log MB/s / sequential write MB/s", "%",
                    100 * *mbs / *seq);
      }
      const std::string flight = FormatNumber(c.in_flight) + " in flight";
      if (fsync) {
        const double bound = c.in_flight / (*fsync / 1e3);
        report_.Add(c.key + ".fsync_bound", label, "fsync bound (" + flight + " / fsync p50)",
                    "events/s", bound);
        report_.Add(c.key + ".pct_fsync_bound", label, "throughput / fsync bound", "%",
                    100 * *eps / bound);
      }
      if (fsync_net) {
        const double bound = c.in_flight / (*fsync_net / 1e3);
        report_.Add(c.key + ".fsync_net_bound", label,
                    "disk-only fsync bound (same, p50 without CPU wait)", "events/s", bound);
        report_.Add(c.key + ".pct_fsync_net_bound", label, "throughput / disk-only fsync bound",
                    "%", 100 * *eps / bound);
      }
    }
  }

  Config cfg_;
  std::string root_;
  Report report_;
  int rep_ = 0;
  std::string read_dir_;
  uint64_t read_events_ = 0;
  std::string reopen_dir_;
  uint64_t reopen_events_ = 0;
};

Fields Parameters(const Config& c) {
  Fields f;
  std::string only;
  for (const auto& w : c.only) only += (only.empty() ? "" : ",") + w;
  f.emplace_back("workloads", only.empty() ? "phys,a,b,c,d,e" : only);
  f.emplace_back("durability", std::string(DurabilityName(Durability::kSyncEveryGroup)) +
                                   " (builds for c,d,e: " + DurabilityName(Durability::kNoSync) +
                                   ")");
  f.emplace_back("payload", std::to_string(c.payload_bytes) + "-byte JSON events");
  f.emplace_back("streams", std::to_string(c.streams));
  f.emplace_back("events-a", std::to_string(c.events_a));
  f.emplace_back("a", std::to_string(c.writers_a) + " writers x " + std::to_string(c.batch_a) +
                          "-event batches; pipelined: " + std::to_string(c.inflight) +
                          " in flight per writer");
  f.emplace_back("events-b", std::to_string(c.events_b));
  f.emplace_back("b", std::to_string(c.writers_b) + " writers x 1 event; pipelined: " +
                          std::to_string(c.inflight_b) + " in flight per writer");
  f.emplace_back("d", std::to_string(c.readers) + " reader threads, " +
                          FormatNumber(c.read_seconds) + " s per read kind");
  f.emplace_back("reopen-events", std::to_string(c.reopen_events));
  f.emplace_back("seq-bytes", std::to_string(c.seq_bytes));
  f.emplace_back("fsync probes", std::to_string(c.fsync_count));
  f.emplace_back("repeat", std::to_string(c.repeat));
  return f;
}

std::string RenderFields(const std::string& title, const Fields& f) {
  std::ostringstream out;
  out << title << "\n";
  size_t w = 0;
  for (const auto& [k, v] : f) w = std::max(w, k.size());
  for (const auto& [k, v] : f)
    out << "  " << k << std::string(w - k.size(), ' ') << "  " << v << "\n";
  return out.str();
}

int Main(int argc, char** argv) {
  Config cfg;
  CLI::App app{"kiroku-bench: throughput and latency of the embedded kiroku store"};
  app.option_defaults()->always_capture_default();
  app.add_option("--data", cfg.data,
                 "Directory for the stores; created and deleted at the end, or if it exists, "
                 "a subdirectory of it is");
  app.add_option("--events-a", cfg.events_a, "Events per run of workload a (batched appends)");
  app.add_option("--events-b", cfg.events_b, "Events per run of workload b (single appends)");
  app.add_option("--reopen-events", cfg.reopen_events, "Events in the store reopened by e");
  app.add_option("--seq-bytes", cfg.seq_bytes, "Bytes of the sequential write probe");
  app.add_option("--only", cfg.only, "Workloads to run: a,b,c,d,e,phys")
      ->delimiter(',')
      ->check(CLI::IsMember({"a", "b", "c", "d", "e", "phys"}));
  app.add_option("--repeat", cfg.repeat, "Runs of each workload; prints median and min..max")
      ->check(CLI::PositiveNumber);
  app.add_flag("--json", cfg.json, "Print one JSON object on stdout (the table goes to stderr)");
  app.add_option("--writers-a", cfg.writers_a, "Writer threads of a")->check(CLI::PositiveNumber);
  app.add_option("--batch", cfg.batch_a, "Events per append in a")->check(CLI::PositiveNumber);
  app.add_option("--inflight", cfg.inflight, "Appends in flight per pipelined writer in a")
      ->check(CLI::PositiveNumber);
  app.add_option("--writers-b", cfg.writers_b, "Writer threads of b")->check(CLI::PositiveNumber);
  app.add_option("--inflight-b", cfg.inflight_b, "Appends in flight per pipelined writer in b")
      ->check(CLI::PositiveNumber);
  app.add_option("--streams", cfg.streams, "Number of streams")->check(CLI::PositiveNumber);
  app.add_option("--payload", cfg.payload_bytes, "Bytes of each event's JSON data")
      ->check(CLI::Range(48, 1 << 20));
  app.add_option("--readers", cfg.readers, "Reader threads of d")->check(CLI::PositiveNumber);
  app.add_option("--read-seconds", cfg.read_seconds, "Seconds per read kind in d")
      ->check(CLI::PositiveNumber);
  app.add_option("--fsync-count", cfg.fsync_count, "fdatasync probes")->check(CLI::PositiveNumber);
  app.add_option("--reopen-batch", cfg.reopen_batch, "Events per append when building e's store")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  // Work in a directory of our own: all of --data if we create it, else a subdirectory.
  std::error_code ec;
  const bool existed = fs::exists(cfg.data, ec);
  const std::string root =
      existed ? cfg.data + "/kiroku-bench-" + std::to_string(::getpid()) : cfg.data;
  fs::create_directories(root, ec);
  if (ec) Die("create " + root + ": " + ec.message());
  g_cleanup_dir = root;

  const Fields machine = Machine(root);
  const Fields params = Parameters(cfg);
  std::ostream& human = cfg.json ? std::cerr : std::cout;
  human << "kiroku-bench\n\n"
        << RenderFields("machine", machine) << "\n"
        << RenderFields("workload parameters", params) << std::endl;

  auto t0 = Clock::now();
  Bench bench(cfg, root);
  bench.RunAll();
  bench.report().Note(
      "targets from the issue: (a) >= 1.5M events/s, (b) >= 150k events/s with "
      "p99 <= 2 ms, (c) >= 10M events/s, (e) <= 2 s; 'met' compares the median.");
  bench.report().Note("total run time " + FormatNumber(SecondsSince(t0)) +
                      " s; load average at end " + LoadAverage());
  RemoveTree(root);

  human << "\nresults (median of " << cfg.repeat << " run" << (cfg.repeat > 1 ? "s" : "") << ")\n\n"
        << RenderTable(bench.report()) << std::flush;
  if (cfg.json) std::cout << RenderJson(machine, params, bench.report()) << std::flush;
  return 0;
}

}  // namespace
}  // namespace kiroku::bench

int main(int argc, char** argv) { return kiroku::bench::Main(argc, argv); }
