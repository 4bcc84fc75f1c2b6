// A fixed-bucket latency histogram with atomic counters (Prometheus-style cumulative
// export). Lock-free; safe to record from one thread and read from others.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

namespace kiroku {

class LatencyHistogram {
 public:
  // Upper bounds in microseconds; the last bucket is +Inf.
  static constexpr std::array<uint64_t, 12> kBoundsUs = {
      50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 1000000};
  void Record(uint64_t us) {
    size_t i = 0;
    while (i < kBoundsUs.size() && us > kBoundsUs[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(us, std::memory_order_relaxed);
  }
  struct Snapshot {
    std::vector<std::pair<double, uint64_t>> cumulative;  // (upper bound seconds, count <=)
    uint64_t count = 0;
    double sum_seconds = 0;
  };
  Snapshot Read() const {
    Snapshot s;
    uint64_t running = 0;
    for (size_t i = 0; i < kBoundsUs.size(); ++i) {
      running += counts_[i].load(std::memory_order_relaxed);
      s.cumulative.emplace_back(static_cast<double>(kBoundsUs[i]) / 1e6, running);
    }
    running += counts_[kBoundsUs.size()].load(std::memory_order_relaxed);
    s.count = running;
    s.sum_seconds = static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6;
    return s;
  }

 private:
  std::array<std::atomic<uint64_t>, kBoundsUs.size() + 1> counts_{};
  std::atomic<uint64_t> sum_us_{0};
};

}  // namespace kiroku
