// kiroku-aggregate-bench: Repository<A> costs, embedded and remote.
//
//  1. Load time of one aggregate whose stream holds N events (N = 1k, 10k, 100k), with a
//     snapshot every 1000 events (load = newest snapshot + tail) and without (full replay).
//     Median of several loads.
//  2. Commands/s over many aggregates: T threads each pick a random aggregate out of A and
//     run a command through Repository::Handle (load snapshot + tail, decide, append with
//     the expected revision, snapshot every 10 events).
//
// Remote runs start a private `kiroku serve` (--kiroku PATH) on free ports in --data.
// Prints the workload, machine and results; BENCHMARKS.md keeps the latest figures.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "kiroku/aggregate.h"
#include "kiroku/event_store.h"
#include "support/process.h"

namespace kiroku::bench {
namespace {

// A small aggregate with bounded state, so snapshot size does not grow with the stream.
struct Added {
  static constexpr std::string_view kType = "Added";
  int64_t amount = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Added, amount)
struct Account {
  struct State {
    int64_t balance = 0;
    uint64_t operations = 0;
    std::string owner = "bench";
    bool operator==(const State&) const = default;
  };
  using Event = std::variant<Added>;
  struct Command {
    int64_t amount = 0;
  };
  static constexpr std::string_view kCategory = "account";
  static void Apply(State& s, const Event& e) {
    s.balance += std::get<Added>(e).amount;
    s.operations++;
  }
  static Decision<Event> Decide(const State& s, const Command& c) {
    if (s.balance + c.amount < 0) return Decision<Event>::Reject("overdrawn", "not enough");
    return Decision<Event>::Accept(Added{c.amount});
  }
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Account::State, balance, operations, owner)

using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

// Writes `n` events into account-<id> in batches of 1000, each batch with a snapshot of the
// state after it (the same atomic append), as Repository does with snapshot_every = 1000.
Status Fill(EventStore* store, const std::string& id, uint64_t n) {
  JsonSnapshotCodec<Account::State> codec;
  Account::State state;
  const std::string stream = Repository<Account>::StreamOf(id);
  for (uint64_t done = 0; done < n;) {
    const uint64_t k = std::min<uint64_t>(1000, n - done);
    std::vector<EventData> batch;
    for (uint64_t i = 0; i < k; ++i) {
      EventData e;
      e.id = EventId::Random();
      e.type = "Added";
      e.data = "{\"amount\":1}";
      batch.push_back(std::move(e));
      Account::Apply(state, Added{1});
    }
    KIROKU_ASSIGN_OR_RETURN(std::string snap, codec.Encode(state));
    const ExpectedRevision expected = done == 0 ? ExpectedRevision::NoStream()
                                                : ExpectedRevision::Exact(StreamRevision(done - 1));
    KIROKU_RETURN_IF_ERROR(store
                               ->AppendWithSnapshot(stream, expected, batch,
                                                    SnapshotData{1, ContentType::kJson, snap}, {})
                               .status());
    done += k;
  }
  return Status::Ok();
}

int LoadBench(EventStore* store, const std::string& label, const std::vector<uint64_t>& sizes) {
  Repository<Account> repo(store);
  for (uint64_t n : sizes) {
    const std::string id = label + "-" + std::to_string(n) + "-" + EventId::Random().ToString();
    Status s = Fill(store, id, n);
    if (!s.ok()) {
      std::cerr << "fill failed: " << s.ToString() << "\n";
      return 1;
    }
    // One extra event after the last snapshot, so the tail is not empty.
    if (auto r = repo.Handle(id, Account::Command{1}); !r.ok()) {
      std::cerr << r.status().ToString() << "\n";
      return 1;
    }
    std::vector<double> with, without;
    for (int i = 0; i < 31; ++i) {
      auto t0 = Clock::now();
      auto r = repo.Load(id);
      with.push_back(Ms(Clock::now() - t0));
      if (!r.ok() || r->state.operations != n + 1 || !r->snapshot_revision) {
        std::cerr << "bad load\n";
        return 1;
      }
    }
    const int full_reps = n >= 100000 ? 5 : 11;
    for (int i = 0; i < full_reps; ++i) {
      auto t0 = Clock::now();
      auto r = repo.LoadWithoutSnapshot(id);
      without.push_back(Ms(Clock::now() - t0));
      if (!r.ok() || r->state.operations != n + 1) {
        std::cerr << "bad full load\n";
        return 1;
      }
    }
    std::printf(
        "load %-8s events=%-7lu with snapshot: median %8.3f ms (31 runs)   "
        "full replay: median %9.2f ms (%d runs)\n",
        label.c_str(), static_cast<unsigned long>(n + 1), Median(with), Median(without), full_reps);
  }
  return 0;
}

int CommandBench(EventStore* store, const std::string& label, int aggregates, int commands,
                 int threads) {
  RepositoryOptions o;
  o.snapshot_every = 10;
  o.max_attempts = 1000;
  Repository<Account> repo(store, o);
  const std::string run = EventId::Random().ToString().substr(0, 8);
  std::atomic<int> next{0}, failed{0}, conflicts{0};
  std::vector<double> latencies(commands);
  auto t0 = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(t * 7919 + 1);
      for (int i = next++; i < commands; i = next++) {
        const std::string id = run + "-" + std::to_string(rng() % aggregates);
        auto c0 = Clock::now();
        auto r = repo.Handle(id, Account::Command{static_cast<int64_t>(rng() % 100)});
        latencies[i] = Ms(Clock::now() - c0);
        if (!r.ok() || r->rejected) {
          ++failed;
        } else {
          conflicts += r->attempts - 1;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  const double secs = Ms(Clock::now() - t0) / 1000;
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "commands %-8s aggregates=%d commands=%d threads=%d: %.0f commands/s  "
      "p50 %.2f ms  p99 %.2f ms  conflicts retried=%d failed=%d\n",
      label.c_str(), aggregates, commands, threads, commands / secs,
      latencies[latencies.size() / 2], latencies[latencies.size() * 99 / 100], conflicts.load(),
      failed.load());
  return failed.load() == 0 ? 0 : 1;
}

int Main(int argc, char** argv) {
  CLI::App app{"kiroku-aggregate-bench: Repository load time and commands/s"};
  std::string data, kiroku_bin, durability = "sync";
  std::vector<uint64_t> sizes = {1000, 10000, 100000};
  int aggregates = 10000, commands = 20000, threads = 16;
  bool skip_remote = false, skip_embedded = false;
  app.add_option("--data", data, "Directory for the stores (emptied first)")->required();
  app.add_option("--kiroku", kiroku_bin, "kiroku binary for the remote runs");
  app.add_option("--sizes", sizes, "Stream lengths for the load benchmark")->delimiter(',');
  app.add_option("--aggregates", aggregates, "Aggregates for the command benchmark");
  app.add_option("--commands", commands, "Commands per command benchmark");
  app.add_option("--threads", threads, "Client threads for the command benchmark");
  app.add_option("--durability", durability, "sync | none (UNSAFE) for the embedded store");
  app.add_flag("--no-remote", skip_remote);
  app.add_flag("--no-embedded", skip_embedded);
  CLI11_PARSE(app, argc, argv);
  std::filesystem::remove_all(data);
  std::filesystem::create_directories(data);
  std::printf("machine: %s, %u hardware threads\n", CpuModel().c_str(),
              std::thread::hardware_concurrency());
  std::printf(
      "workload: account aggregate (bounded state, JSON codecs); load: snapshot every "
      "1000 events + 1 tail event; commands: Repository::Handle, snapshot every 10 "
      "events, random aggregate per command; durability: embedded %s, server default "
      "(fsync every commit group)\n",
      durability.c_str());
  int rc = 0;
  if (!skip_embedded) {
    StoreOptions so;
    if (durability == "none") so.durability = Durability::kNoSync;
    auto store = OpenEventStore("embedded:" + data + "/embedded", so);
    if (!store.ok()) {
      std::cerr << store.status().ToString() << "\n";
      return 1;
    }
    rc |= LoadBench(store->get(), "embedded", sizes);
    rc |= CommandBench(store->get(), "embedded", aggregates, commands, threads);
  }
  if (!skip_remote && !kiroku_bin.empty()) {
    testing::ServerProcess server(kiroku_bin, data + "/server");
    std::string err;
    if (!server.Start(&err)) {
      std::cerr << err << "\n";
      return 1;
    }
    auto store = OpenEventStore(server.url());
    if (!store.ok()) {
      std::cerr << store.status().ToString() << "\n";
      return 1;
    }
    rc |= LoadBench(store->get(), "remote", sizes);
    rc |= CommandBench(store->get(), "remote", aggregates, commands, threads);
    store->reset();
    server.Stop();
  }
  return rc;
}

}  // namespace
}  // namespace kiroku::bench

int main(int argc, char** argv) { return kiroku::bench::Main(argc, argv); }
