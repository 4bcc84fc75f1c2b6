// kiroku-peer-bench: one workload against one target, printed as one JSON line; or, with
// --report, the table of a whole run. bench/peers/run.sh starts the peers and calls it for
// every target x workload x repetition, interleaved (docs/benchmarks-peers.md).
//
//   kiroku-peer-bench --target postgres --url postgresql://... --workload single64
//   kiroku-peer-bench --workload probe --dir /tmp/x      (machine facts, fdatasync latency)
//   kiroku-peer-bench --report results.jsonl
//
// Workloads: batch (4 writers x 100-event appends), single8 / single64 (1-event appends from
// 8 / 64 writers, p50/p99), readall (the first --read-events events in global order, pages
// of --page), catchup (a subscriber from the start until --read-events), load (writes the
// --read-events events the reads use), probe. Exit status 0 and a JSON line with "error"
// when the workload fails, so a run goes on; 2 for bad arguments.
#include <sys/utsname.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "machine_probe.h"
#include "peer_report.h"
#include "peer_target.h"
#include "peer_workloads.h"
#include "report.h"

namespace kiroku::bench::peers {
namespace {

struct Config {
  TargetOptions target;
  std::string workload;
  std::string run_id = "run";
  int rep = 0;
  double seconds = 3;
  double warmup = 0.5;
  int streams = 10'000;
  uint64_t read_events = 300'000;
  uint64_t page = 10'000;
  int load_batch = 500;
  std::string dir = "/tmp";
  int fsync_count = 500;
  std::string when;
  std::string report;
  std::string command;
};

Result<std::unique_ptr<PeerTarget>> Open(const TargetOptions& o) {
  if (o.kind == "kiroku-embedded") return OpenKirokuEmbedded(o);
  if (o.kind == "kiroku-grpc") return OpenKirokuGrpc(o);
  if (o.kind == "postgres") return OpenPostgres(o);
  if (o.kind == "nats") return OpenNats(o);
  if (o.kind == "redis") return OpenRedis(o);
  return Status::InvalidArgument("unknown target " + o.kind);
}

nlohmann::json Probe(const Config& c) {
  nlohmann::json j = {{"workload", "probe"}, {"when", c.when}};
  auto p = ProbeFdatasync(c.dir, c.fsync_count);
  if (!p.ok()) {
    j["error"] = p.status().ToString();
    return j;
  }
  j["fsync_p50_ms"] = p->p50_ms;
  j["fsync_p99_ms"] = p->p99_ms;
  j["fsync_net_p50_ms"] = p->net_p50_ms;
  j["nproc"] = std::to_string(std::thread::hardware_concurrency());
  j["cpu"] = ReadFirstMatch("/proc/cpuinfo", "model name");
  struct utsname u;
  if (uname(&u) == 0) j["kernel"] = std::string(u.sysname) + " " + u.release;
  j["memory"] = ReadFirstMatch("/proc/meminfo", "MemTotal");
  j["fs"] = MountOf(c.dir);
  j["load"] = LoadAverage();
  return j;
}

nlohmann::json RunWorkload(const Config& c) {
  nlohmann::json j = {{"target", c.target.kind}, {"workload", c.workload}, {"rep", c.rep}};
  auto opened = Open(c.target);
  if (!opened.ok()) {
    j["error"] = "open: " + opened.status().ToString();
    return j;
  }
  PeerTarget* t = opened->get();
  auto d = t->Durability();
  if (d.ok()) {
    j["durability"] = d->summary;
    j["durability_detail"] = d->detail;
    j["fsync_before_ack"] = d->fsync_before_ack;
  }
  j["notes"] = t->Notes();
  const std::map<std::string, std::pair<int, int>> writes = {
      {"batch", {4, 100}}, {"single8", {8, 1}}, {"single64", {64, 1}}, {"load", {4, 0}}};
  if (auto it = writes.find(c.workload); it != writes.end()) {
    WriteSpec s;
    s.writers = it->second.first;
    s.batch = c.workload == "load" ? c.load_batch : it->second.second;
    s.streams = c.streams;
    s.stream_prefix = c.workload == "load" ? "load" : c.run_id;
    s.seconds = c.seconds;
    s.warmup = c.warmup;
    s.total_events = c.workload == "load" ? c.read_events : 0;
    auto r = RunWrites(t, s);
    if (!r.ok()) {
      j["error"] = r.status().ToString();
      return j;
    }
    if (r->errors > 0) {
      j["error"] = std::to_string(r->errors) + " appends failed, first: " + r->first_error;
      return j;
    }
    j["writers"] = s.writers;
    j["batch"] = s.batch;
    j["events"] = r->events;
    j["appends"] = r->appends;
    j["seconds"] = r->seconds;
    j["events_per_s"] = static_cast<double>(r->events) / r->seconds;
    if (!r->latency_ms.empty()) {
      j["p50_ms"] = Percentile(r->latency_ms, 0.50);
      j["p99_ms"] = Percentile(r->latency_ms, 0.99);
      j["p999_ms"] = Percentile(r->latency_ms, 0.999);
    }
    j["concurrency_check"] = r->concurrency_check;
    j["cpu_bench_cores"] = r->cpu.process_cores;
    j["cpu_machine_cores"] = r->cpu.process_cores + r->cpu.other_cores;
    return j;
  }
  if (c.workload == "readall" || c.workload == "catchup") {
    auto r = RunRead(t, c.read_events, c.page, c.workload == "catchup");
    if (!r.ok()) {
      j["error"] = r.status().ToString();
      return j;
    }
    j["page"] = c.page;
    j["events"] = r->events;
    j["seconds"] = r->seconds;
    j["events_per_s"] = static_cast<double>(r->events) / r->seconds;
    j["data_mb_s"] = static_cast<double>(r->data_bytes) / r->seconds / 1e6;
    j["cpu_bench_cores"] = r->cpu.process_cores;
    j["cpu_machine_cores"] = r->cpu.process_cores + r->cpu.other_cores;
    return j;
  }
  j["error"] = "unknown workload " + c.workload;
  return j;
}

int Main(int argc, char** argv) {
  Config c;
  CLI::App app{"kiroku-peer-bench: kiroku's workloads against kiroku and its peers"};
  app.option_defaults()->always_capture_default();
  app.add_option("--target", c.target.kind,
                 "kiroku-embedded | kiroku-grpc | postgres | nats | redis")
      ->check(CLI::IsMember({"kiroku-embedded", "kiroku-grpc", "postgres", "nats", "redis"}));
  app.add_option("--workload", c.workload,
                 "batch | single8 | single64 | readall | catchup | load | probe")
      ->check(
          CLI::IsMember({"batch", "single8", "single64", "readall", "catchup", "load", "probe"}));
  app.add_option("--kiroku-dir", c.target.kiroku_dir, "kiroku-embedded: store directory");
  app.add_option("--url", c.target.url, "kiroku-grpc: esdb://...; postgres: postgresql://...");
  app.add_option("--port", c.target.port, "nats, redis: port on 127.0.0.1");
  app.add_flag("--nats-sync-always", c.target.nats_sync_always,
               "nats-server runs with sync_interval: always");
  app.add_option("--connections", c.target.connections, "kiroku-grpc: gRPC channels");
  app.add_option("--payload", c.target.payload_bytes, "Bytes of each event's JSON data")
      ->check(CLI::Range(48, 1 << 20));
  app.add_option("--run-id", c.run_id, "Names this run's streams ([a-z0-9-])");
  app.add_option("--rep", c.rep, "Repetition number, copied to the output");
  app.add_option("--seconds", c.seconds, "Timed window of a write workload")
      ->check(CLI::PositiveNumber);
  app.add_option("--warmup", c.warmup, "Seconds of appends before the window");
  app.add_option("--streams", c.streams, "Streams the writers share out")
      ->check(CLI::PositiveNumber);
  app.add_option("--read-events", c.read_events, "Events loaded by load and read by the reads")
      ->check(CLI::PositiveNumber);
  app.add_option("--page", c.page, "Page size of readall")->check(CLI::PositiveNumber);
  app.add_option("--load-batch", c.load_batch, "Events per append of load")
      ->check(CLI::PositiveNumber);
  app.add_option("--dir", c.dir, "probe: directory on the disk under test");
  app.add_option("--fsync-count", c.fsync_count, "probe: fdatasyncs")->check(CLI::PositiveNumber);
  app.add_option("--when", c.when, "probe: a label copied to the output");
  app.add_option("--report", c.report, "Print the table of a run's JSON lines and exit");
  app.add_option("--command", c.command, "report: the command line to print with the table");
  CLI11_PARSE(app, argc, argv);

  if (!c.report.empty()) {
    auto r = RenderPeerReport(ReportOptions{c.report, c.command});
    if (!r.ok()) {
      std::cerr << "kiroku-peer-bench: " << r.status().ToString() << "\n";
      return 1;
    }
    std::cout << *r << std::flush;
    return 0;
  }
  if (c.workload.empty()) {
    std::cerr << "kiroku-peer-bench: --workload is required (or --report)\n";
    return 2;
  }
  if (c.workload == "probe") {
    std::cout << Probe(c).dump() << std::endl;
    return 0;
  }
  if (c.target.kind.empty()) {
    std::cerr << "kiroku-peer-bench: --target is required\n";
    return 2;
  }
  std::cout << RunWorkload(c).dump() << std::endl;
  return 0;
}

}  // namespace
}  // namespace kiroku::bench::peers

int main(int argc, char** argv) { return kiroku::bench::peers::Main(argc, argv); }
