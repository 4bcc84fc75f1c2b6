// kiroku bench append|subscribe --url ...: a load generator over gRPC (the KurrentDB
// protocol), for the server benchmarks in BENCHMARKS.md. Prints a summary; --json for one
// JSON object.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "cli/commands.h"
#include "kiroku/client.h"

namespace kiroku::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct BenchArgs {
  std::string url;
  uint64_t events = 200000;
  int connections = 4;
  int concurrency = 64;  // single-event mode: concurrent calls
  int batch = 100;       // 1 = single-event mode
  int streams = 10000;
  int payload = 200;
  int subscribers = 10;
  int rate = 10000;
  double seconds = 10;
  bool json = false;
};

std::string Payload(int size, uint64_t i) {
  std::string s = "{\"n\":" + std::to_string(i) + ",\"pad\":\"";
  while (static_cast<int>(s.size()) < size - 2) s.push_back('x');
  return s + "\"}";
}

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

int BenchAppend(const BenchArgs& a) {
  const bool single = a.batch == 1;
  const int threads = single ? a.concurrency : a.connections;
  std::vector<std::unique_ptr<RemoteClient>> clients;
  for (int c = 0; c < a.connections; ++c) {
    auto cl = RemoteClient::Connect(a.url);
    if (!cl.ok()) return PrintError(cl.status());
    clients.push_back(std::move(cl).value());
  }
  std::atomic<uint64_t> next{0}, failures{0};
  std::vector<std::vector<double>> lat(threads);
  auto start = Clock::now();
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      RemoteClient* c = clients[t % clients.size()].get();
      std::mt19937 rng(t);
      while (true) {
        uint64_t first = next.fetch_add(a.batch);
        if (first >= a.events) break;
        std::vector<EventData> batch;
        for (int i = 0; i < a.batch; ++i) {
          EventData e;
          e.id = EventId::Random();
          e.type = "BenchEvent";
          e.data = Payload(a.payload, first + i);
          batch.push_back(std::move(e));
        }
        auto t0 = Clock::now();
        auto r =
            c->Append("bench-" + std::to_string(rng() % a.streams), ExpectedRevision::Any(), batch);
        lat[t].push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
        if (!r.ok()) failures++;
      }
    });
  }
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  double eps = static_cast<double>(std::min<uint64_t>(next.load(), a.events)) / secs;
  double p50 = Percentile(all, 0.5), p99 = Percentile(all, 0.99);
  if (a.json) {
    nlohmann::json j{{"workload", single ? "append-single" : "append-batched"},
                     {"events_per_s", eps},
                     {"appends", all.size()},
                     {"failures", failures.load()},
                     {"latency_p50_us", p50},
                     {"latency_p99_us", p99},
                     {"threads", threads},
                     {"connections", a.connections},
                     {"batch", a.batch}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "append over gRPC: %s, %d threads on %d connections: %.0f events/s, "
        "latency p50 %.0f us p99 %.0f us, %llu failures\n",
        single ? "single events" : ("batches of " + std::to_string(a.batch)).c_str(), threads,
        a.connections, eps, p50, p99, static_cast<unsigned long long>(failures.load()));
  }
  return failures.load() == 0 ? 0 : 1;
}

// Latency from "append acknowledged to the writer" to "delivered to a live subscriber".
int BenchSubscribe(const BenchArgs& a) {
  auto writer = RemoteClient::Connect(a.url);
  if (!writer.ok()) return PrintError(writer.status());
  std::mutex mu;
  std::map<std::string, Clock::time_point> acked;  // event id -> ack time
  std::vector<std::vector<std::pair<std::string, Clock::time_point>>> delivered(a.subscribers);
  std::atomic<bool> stop{false};
  std::atomic<int> live{0};
  std::vector<std::thread> subs;
  std::vector<std::unique_ptr<RemoteClient>> sub_clients;
  for (int s = 0; s < a.subscribers; ++s) {
    auto c = RemoteClient::Connect(a.url);
    if (!c.ok()) return PrintError(c.status());
    sub_clients.push_back(std::move(c).value());
  }
  for (int s = 0; s < a.subscribers; ++s) {
    subs.emplace_back([&, s] {
      SubscribeRequest r;
      r.all = true;
      r.start = SubscribeRequest::Start::kEnd;
      r.filter = EventFilter::StreamPrefix({"latency-"});
      Status st = sub_clients[s]->Subscribe(
          r,
          [&](const SubscriptionMessage& m) {
            if (m.kind == SubscriptionMessage::Kind::kCaughtUp) live++;
            if (m.kind == SubscriptionMessage::Kind::kEvent) {
              delivered[s].emplace_back(m.event.id.ToString(), Clock::now());
            }
            return true;
          },
          &stop);
      (void)st;
    });
  }
  while (live.load() < a.subscribers) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // Pace: W writer threads, each appending rate/1000 events every W ms (an append takes
  // longer than 1 ms, so one paced writer could not hold the rate).
  constexpr int kWriters = 4;
  const int per_tick = std::max(1, a.rate / 1000);
  const int ticks = static_cast<int>(a.seconds * 1000) / kWriters;
  auto start = Clock::now();
  std::atomic<uint64_t> sent{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int tick = 0; tick < ticks; ++tick) {
        std::this_thread::sleep_until(start + std::chrono::milliseconds(tick * kWriters + w));
        std::vector<EventData> batch;
        std::vector<std::string> ids;
        for (int i = 0; i < per_tick; ++i) {
          EventData e;
          e.id = EventId::Random();
          ids.push_back(e.id.ToString());
          e.type = "LatencyProbe";
          e.data = Payload(a.payload, static_cast<uint64_t>(tick) * per_tick + i);
          batch.push_back(std::move(e));
        }
        auto r = (*writer)->Append("latency-" + std::to_string((tick * kWriters + w) % 100),
                                   ExpectedRevision::Any(), batch);
        auto now = Clock::now();
        if (r.ok()) {
          std::lock_guard lock(mu);
          for (auto& id : ids) acked[id] = now;
          sent += per_tick;
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop = true;
  for (auto& t : subs) t.join();
  std::vector<double> lat;
  uint64_t missing = 0;
  for (auto& d : delivered) {
    for (auto& [id, t] : d) {
      auto it = acked.find(id);
      if (it == acked.end()) continue;
      // Delivery can beat the writer's own ack: the server publishes, then answers.
      lat.push_back(
          std::max(0.0, std::chrono::duration<double, std::micro>(t - it->second).count()));
    }
    if (d.size() < sent) missing += sent - d.size();
  }
  double p50 = Percentile(lat, 0.5), p99 = Percentile(lat, 0.99);
  if (a.json) {
    nlohmann::json j{{"workload", "subscribe-latency"},
                     {"subscribers", a.subscribers},
                     {"rate_events_per_s", static_cast<double>(sent) / secs},
                     {"deliveries", lat.size()},
                     {"missing", missing},
                     {"latency_p50_us", p50},
                     {"latency_p99_us", p99}};
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "%d live $all subscribers at %.0f events/s: ack->delivery p50 %.0f us, p99 %.0f us "
        "(%zu deliveries, %llu missing)\n",
        a.subscribers, static_cast<double>(sent) / secs, p50, p99, lat.size(),
        static_cast<unsigned long long>(missing));
  }
  return missing == 0 ? 0 : 1;
}

}  // namespace

void AddBenchCommand(CLI::App& app, Action* action) {
  auto a = std::make_shared<BenchArgs>();
  auto* bench = app.add_subcommand("bench", "Load generator against a server (gRPC)");
  bench->require_subcommand(1);
  auto* ap = bench->add_subcommand("append", "Append throughput and latency");
  ap->add_option("--url", a->url, "Server connection string")->required();
  ap->add_option("--events", a->events, "Events to append")->default_val(200000);
  ap->add_option("--connections", a->connections, "gRPC channels")->default_val(4);
  ap->add_option("--batch", a->batch, "Events per append (1 = single-event mode)")
      ->default_val(100);
  ap->add_option("--concurrency", a->concurrency, "Concurrent calls in single-event mode")
      ->default_val(64);
  ap->add_option("--streams", a->streams, "Streams written")->default_val(10000);
  ap->add_option("--payload", a->payload, "Bytes of JSON per event")->default_val(200);
  ap->add_flag("--json", a->json, "One JSON object");
  ap->callback([a, action] { *action = [a] { return BenchAppend(*a); }; });
  auto* sb = bench->add_subcommand("subscribe", "Live delivery latency to $all subscribers");
  sb->add_option("--url", a->url, "Server connection string")->required();
  sb->add_option("--subscribers", a->subscribers, "Live subscribers")->default_val(10);
  sb->add_option("--rate", a->rate, "Events per second appended")->default_val(10000);
  sb->add_option("--seconds", a->seconds, "Duration")->default_val(10);
  sb->add_option("--payload", a->payload, "Bytes of JSON per event")->default_val(200);
  sb->add_flag("--json", a->json, "One JSON object");
  sb->callback([a, action] { *action = [a] { return BenchSubscribe(*a); }; });
}

}  // namespace kiroku::cli
