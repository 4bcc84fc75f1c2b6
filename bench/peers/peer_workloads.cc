#include "peer_workloads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include "kiroku/event.h"

namespace kiroku::bench::peers {

std::string RandomUuidText() { return EventId::Random().ToString(); }

namespace {

using Clock = std::chrono::steady_clock;

// The stale-append probe: a second "new stream" append to the same stream must fail.
Result<std::string> CheckConcurrency(PeerWriter* w, const std::string& stream) {
  auto first = w->Append(stream, StreamHead{}, 1);
  if (!first.ok()) return Status::IOError("probe append: " + first.status().ToString());
  auto stale = w->Append(stream, StreamHead{}, 1);
  if (stale.ok()) {
    return Status::InvalidArgument("a stale append to " + stream +
                                   " was accepted: no optimistic concurrency check");
  }
  if (stale.status().code() != StatusCode::kWrongExpectedVersion) {
    return Status::IOError("probe: stale append failed otherwise: " + stale.status().ToString());
  }
  auto next = w->Append(stream, *first, 1);
  if (!next.ok()) return Status::IOError("probe: append after " + next.status().ToString());
  return std::string("stale append rejected: ") + stale.status().message().substr(0, 120);
}

}  // namespace

Result<WriteOutcome> RunWrites(PeerTarget* target, const WriteSpec& spec) {
  std::vector<std::unique_ptr<PeerWriter>> writers;
  for (int w = 0; w < spec.writers; ++w) {
    auto r = target->NewWriter();
    if (!r.ok()) return r.status();
    writers.push_back(std::move(r).value());
  }
  WriteOutcome out;
  if (spec.total_events == 0) {
    auto probe = CheckConcurrency(writers[0].get(), spec.stream_prefix + "-probe");
    if (!probe.ok()) return probe.status();
    out.concurrency_check = *probe;
  }

  const bool fixed = spec.total_events > 0;
  const uint64_t total_appends = fixed ? (spec.total_events + spec.batch - 1) / spec.batch : 0;
  std::vector<std::vector<double>> lat(static_cast<size_t>(spec.writers));
  std::vector<uint64_t> events(static_cast<size_t>(spec.writers), 0);
  std::vector<uint64_t> appends(static_cast<size_t>(spec.writers), 0);
  std::atomic<uint64_t> errors{0};
  std::mutex err_mu;
  std::latch ready(spec.writers + 1);
  std::latch go(1);
  Clock::time_point warm_end, end;
  std::vector<std::thread> threads;
  for (int w = 0; w < spec.writers; ++w) {
    threads.emplace_back([&, w] {
      PeerWriter* writer = writers[static_cast<size_t>(w)].get();
      std::vector<int> own;
      for (int i = w; i < spec.streams; i += spec.writers) own.push_back(i);
      std::vector<std::string> names;
      for (int i : own) names.push_back(spec.stream_prefix + "-learner-" + std::to_string(i));
      std::vector<StreamHead> heads(own.size());
      std::mt19937_64 rng(0x9e3779b97f4a7c15ull * static_cast<uint64_t>(w + 1));
      std::uniform_int_distribution<size_t> pick(0, own.size() - 1);
      const uint64_t quota =
          fixed
              ? total_appends / static_cast<uint64_t>(spec.writers) +
                    (static_cast<uint64_t>(w) < total_appends % static_cast<uint64_t>(spec.writers))
              : UINT64_MAX;
      auto& my_lat = lat[static_cast<size_t>(w)];
      ready.count_down();
      go.wait();
      for (uint64_t i = 0; i < quota; ++i) {
        const Clock::time_point t0 = Clock::now();
        if (!fixed && t0 >= end) break;
        const size_t s = pick(rng);
        auto r = writer->Append(names[s], heads[s], spec.batch);
        const Clock::time_point t1 = Clock::now();
        if (!r.ok()) {
          if (errors.fetch_add(1) == 0) {
            std::lock_guard lock(err_mu);
            out.first_error = r.status().ToString();
          }
          // Resynchronising after an unknown outcome is peer-specific; stop this writer.
          break;
        }
        heads[s] = *r;
        if (fixed || (t1 >= warm_end && t1 <= end)) {
          events[static_cast<size_t>(w)] += static_cast<uint64_t>(spec.batch);
          appends[static_cast<size_t>(w)] += 1;
          if (!fixed) my_lat.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        }
      }
    });
  }
  ready.arrive_and_wait();
  const Clock::time_point t0 = Clock::now();
  warm_end = t0 + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(fixed ? 0 : spec.warmup));
  end = warm_end +
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.seconds));
  std::unique_ptr<CpuProbe> probe;
  go.count_down();
  if (!fixed) {
    std::this_thread::sleep_until(warm_end);
    probe = std::make_unique<CpuProbe>();
  } else {
    probe = std::make_unique<CpuProbe>();
  }
  for (std::thread& t : threads) t.join();
  out.cpu = probe->Stop();
  out.seconds = fixed ? std::chrono::duration<double>(Clock::now() - t0).count() : spec.seconds;
  for (int w = 0; w < spec.writers; ++w) {
    out.events += events[static_cast<size_t>(w)];
    out.appends += appends[static_cast<size_t>(w)];
    out.latency_ms.insert(out.latency_ms.end(), lat[static_cast<size_t>(w)].begin(),
                          lat[static_cast<size_t>(w)].end());
  }
  std::sort(out.latency_ms.begin(), out.latency_ms.end());
  out.errors = errors.load();
  return out;
}

Result<ReadOutcome> RunRead(PeerTarget* target, uint64_t events, uint64_t page, bool catch_up) {
  ReadOutcome out;
  uint64_t last = 0;
  uint64_t disorder = 0, empty = 0;
  auto visit = [&](const ReadEvent& e) {
    if (out.events > 0 && e.global <= last) ++disorder;
    last = e.global;
    if (e.data.empty() || e.stream.empty()) ++empty;
    out.data_bytes += e.data.size();
    ++out.events;
  };
  const Clock::time_point t0 = Clock::now();
  const CpuProbe probe;
  Status s = catch_up ? target->CatchUp(events, visit) : target->ReadAll(events, page, visit);
  out.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  out.cpu = probe.Stop();
  if (!s.ok()) return s;
  if (out.events != events) {
    return Status::IOError("read " + std::to_string(out.events) + " events, expected " +
                           std::to_string(events));
  }
  if (disorder > 0) {
    return Status::Corruption(std::to_string(disorder) + " events out of global order");
  }
  if (empty > 0) return Status::Corruption(std::to_string(empty) + " events without data");
  return out;
}

}  // namespace kiroku::bench::peers
