// Wakes readers waiting for the log to grow (live subscriptions). The committer calls
// Published() after each group becomes visible; it takes a lock only when someone waits.
// Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace kiroku {

class LogEndNotifier {
 public:
  explicit LogEndNotifier(const std::atomic<uint64_t>* end) : end_(end) {}

  void Published() {
    if (waiters_.load() == 0) return;  // seq_cst pairs with the waiter's increment
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }
  // Also wakes every waiter (e.g. on shutdown).
  void WakeAll() {
    std::lock_guard lock(mu_);
    cv_.notify_all();
  }

  // True once the log end is past `known_end`; false on timeout.
  bool WaitPast(uint64_t known_end, std::chrono::milliseconds timeout) {
    if (end_->load() > known_end) return true;
    std::unique_lock lock(mu_);
    waiters_.fetch_add(1);
    bool grew = cv_.wait_for(lock, timeout, [&] { return end_->load() > known_end; });
    waiters_.fetch_sub(1);
    return grew;
  }

 private:
  const std::atomic<uint64_t>* end_;
  std::atomic<int> waiters_{0};
  std::mutex mu_;
  std::condition_variable cv_;
};

}  // namespace kiroku
