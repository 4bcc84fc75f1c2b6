#include "peer_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

#include "report.h"

namespace kiroku::bench::peers {
namespace {

using nlohmann::json;

const std::vector<std::string> kWorkloads = {"batch", "single8", "single64", "readall", "catchup"};
const std::vector<std::string> kTargets = {"kiroku-embedded", "kiroku-grpc", "postgres", "nats",
                                           "redis"};

std::string WorkloadLabel(const std::string& w, const json& sample) {
  const int writers = sample.value("writers", 0);
  const int batch = sample.value("batch", 0);
  if (w == "batch") {
    return "batched appends (" + std::to_string(writers) + " writers x " + std::to_string(batch) +
           " events)";
  }
  if (w == "single8" || w == "single64") {
    return "single-event appends, " + std::to_string(writers) + " writers";
  }
  if (w == "readall")
    return "read all in global order (pages of " + std::to_string(sample.value("page", 0)) + ")";
  if (w == "catchup") return "catch-up subscriber from the start";
  return w;
}

std::string TargetLabel(const std::string& t) {
  if (t == "kiroku-embedded") return "kiroku embedded";
  if (t == "kiroku-grpc") return "kiroku gRPC";
  if (t == "postgres") return "PostgreSQL";
  if (t == "nats") return "NATS JetStream";
  if (t == "redis") return "Redis";
  return t;
}

struct Series {
  std::vector<double> eps, p50, p99;
  json last;
  int failures = 0;
  std::string failure;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  if (v.empty()) return 0;
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

std::string Range(const std::vector<double>& v) {
  if (v.empty()) return "";
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  return FormatNumber(*lo) + ".." + FormatNumber(*hi);
}

std::string Ms(const std::vector<double>& v) {
  if (v.empty()) return "";
  char buf[32];
  const double m = Median(v);
  std::snprintf(buf, sizeof buf, m < 10 ? "%.2f" : "%.1f", m);
  return buf;
}

std::string Ratio(double num, double den) {
  if (num <= 0 || den <= 0) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, num / den < 10 ? "%.2fx" : "%.1fx", num / den);
  return buf;
}

}  // namespace

Result<std::string> RenderPeerReport(const ReportOptions& options) {
  std::ifstream in(options.results_path);
  if (!in) return Status::IOError("cannot read " + options.results_path);
  std::map<std::string, std::map<std::string, Series>> data;  // workload -> target
  std::vector<json> probes;
  std::vector<double> busy;  // cores busy machine-wide during each measurement
  json meta;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] != '{') continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    const std::string w = j.value("workload", "");
    if (w == "probe") {
      probes.push_back(j);
      continue;
    }
    if (w == "meta") {
      meta.update(j);
      continue;
    }
    const std::string t = j.value("target", "");
    if (w.empty() || t.empty()) continue;
    Series& s = data[w][t];
    if (j.contains("error")) {
      ++s.failures;
      s.failure = j.value("error", "");
      continue;
    }
    s.eps.push_back(j.value("events_per_s", 0.0));
    if (j.contains("cpu_machine_cores")) busy.push_back(j.value("cpu_machine_cores", 0.0));
    if (j.contains("p50_ms")) s.p50.push_back(j.value("p50_ms", 0.0));
    if (j.contains("p99_ms")) s.p99.push_back(j.value("p99_ms", 0.0));
    s.last = j;
  }

  std::ostringstream out;
  // Machine.
  const json machine = probes.empty() ? json::object() : probes.front();
  out << "Machine: " << machine.value("nproc", std::string("?")) << " cores, "
      << machine.value("cpu", std::string("?")) << ", " << machine.value("kernel", std::string("?"))
      << ", " << machine.value("memory", std::string("?")) << " memory; every server's data in "
      << machine.value("fs", std::string("?")) << ".\n";
  if (!probes.empty()) {
    out << "Disk: 4 KiB append + fdatasync p50 / p99, and p50 without the time the prober "
           "then waited for a CPU:";
    for (const json& p : probes) {
      char buf[160];
      std::snprintf(buf, sizeof buf, " %.3f / %.3f ms, disk-only %.3f ms (%s);",
                    p.value("fsync_p50_ms", 0.0), p.value("fsync_p99_ms", 0.0),
                    p.value("fsync_net_p50_ms", 0.0), p.value("when", std::string("")).c_str());
      out << buf;
    }
    out << "\n";
  }
  if (!busy.empty()) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "CPU busy during the measurements (every process on the machine): median "
                  "%.2f, range %.2f..%.2f cores.\n",
                  Median(busy), *std::min_element(busy.begin(), busy.end()),
                  *std::max_element(busy.begin(), busy.end()));
    out << buf;
  }
  out << "Load average: " << meta.value("load_start", std::string("?")) << " at start, "
      << meta.value("load_end", std::string("?"))
      << " at end. Repetitions: " << meta.value("repeat", std::string("?"))
      << ", interleaved (round robin over targets, "
      << "order rotated each repetition). Total wall time: "
      << meta.value("wall_seconds", std::string("?")) << " s.\n";
  if (!options.command.empty()) out << "Command: `" << options.command << "`\n";
  out << "\n";

  // The table.
  out << "| workload | target | durability | events/s median | min..max | p50 ms | p99 ms | "
         "embedded ÷ it | gRPC ÷ it |\n";
  out << "|---|---|---|---:|---|---:|---:|---:|---:|\n";
  std::map<std::string, std::string> durability, notes;
  for (const std::string& w : kWorkloads) {
    if (!data.count(w)) continue;
    const auto& targets = data[w];
    auto median_of = [&](const std::string& t) -> double {
      auto it = targets.find(t);
      return it == targets.end() ? 0 : Median(it->second.eps);
    };
    const double emb = median_of("kiroku-embedded"), grpc = median_of("kiroku-grpc");
    bool first = true;
    for (const std::string& t : kTargets) {
      auto it = targets.find(t);
      if (it == targets.end()) continue;
      const Series& s = it->second;
      const json& any = s.last.is_null() ? json::object() : s.last;
      out << "| " << (first ? WorkloadLabel(w, any) : "") << " | " << TargetLabel(t) << " | ";
      first = false;
      if (!any.empty()) {
        durability[t] = any.value("durability", "");
        notes[t] = any.value("notes", "");
      }
      const bool is_write = w == "batch" || w == "single8" || w == "single64";
      out << (is_write ? any.value("durability", "") : "") << " | ";
      if (s.eps.empty()) {
        out << "failed | " << s.failure.substr(0, 80) << " | | | | |\n";
        continue;
      }
      const double m = Median(s.eps);
      out << "**" << FormatNumber(m) << "** | " << Range(s.eps);
      if (s.failures) out << " (" << s.failures << " failed)";
      out << " | " << Ms(s.p50) << " | " << Ms(s.p99) << " | "
          << (t == "kiroku-embedded" ? "" : Ratio(emb, m)) << " | "
          << (t == "kiroku-grpc" ? "" : Ratio(grpc, m)) << " |\n";
    }
  }
  out << "\n";

  // The targets.
  auto ratio = [&](const std::string& w, const std::string& k,
                   const std::string& peer) -> std::optional<double> {
    if (!data.count(w) || !data[w].count(k) || !data[w].count(peer)) return std::nullopt;
    const double a = Median(data[w][k].eps), b = Median(data[w][peer].eps);
    if (a <= 0 || b <= 0) return std::nullopt;
    return a / b;
  };
  struct Goal {
    std::string workload, peer;
    double at_least;
  };
  const std::vector<Goal> goals = {{"single8", "postgres", 10},
                                   {"single64", "postgres", 10},
                                   {"single8", "nats", 3},
                                   {"single64", "nats", 3},
                                   {"batch", "postgres", 10}};
  out << "Targets (kiroku ÷ peer, medians; the issue asks for them at equal or stronger "
         "durability):\n\n";
  for (const Goal& g : goals) {
    for (const std::string& k : {std::string("kiroku-embedded"), std::string("kiroku-grpc")}) {
      auto r = ratio(g.workload, k, g.peer);
      if (!r) continue;
      const json& pj = data[g.workload][g.peer].last;
      const bool peer_weaker = !pj.is_null() && !pj.value("fsync_before_ack", true);
      out << "- " << g.workload << ": " << TargetLabel(k) << " ÷ " << TargetLabel(g.peer) << " = "
          << Ratio(*r, 1) << " (>= " << static_cast<int>(g.at_least)
          << "x: " << (*r >= g.at_least ? "met" : "**missed**, " + Ratio(g.at_least, *r) + " short")
          << ")"
          << (peer_weaker
                  ? "; " + TargetLabel(g.peer) + " does not fsync before acknowledging, kiroku does"
                  : "")
          << "\n";
    }
  }
  out << "\nDurability as each server reported it:\n\n";
  for (const std::string& t : kTargets) {
    for (const auto& [w, targets] : data) {
      auto it = targets.find(t);
      if (it == targets.end() || it->second.last.is_null()) continue;
      out << "- " << TargetLabel(t) << ": " << it->second.last.value("durability_detail", "")
          << "\n";
      break;
    }
  }
  out << "\nHow each target does the work:\n\n";
  for (const std::string& t : kTargets) {
    if (notes.count(t)) out << "- " << TargetLabel(t) << ": " << notes[t] << "\n";
  }
  return out.str();
}

}  // namespace kiroku::bench::peers
