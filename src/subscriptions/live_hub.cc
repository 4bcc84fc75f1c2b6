#include "subscriptions/live_hub.h"

namespace kiroku {

LiveHub::LiveHub(Store* store) : store_(store) {
  thread_ = std::thread([this] { Run(); });
}

LiveHub::~LiveHub() { Stop(); }

void LiveHub::Stop() {
  std::vector<std::pair<Position, std::function<void(bool)>>> left;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    left.swap(parked_);
  }
  if (thread_.joinable()) thread_.join();
  for (auto& [_, wake] : left) wake(false);
}

bool LiveHub::Park(Position seen_end, std::function<void(bool)> wake) {
  // Checked under the lock that the hub's scan takes too, so no append can fall between
  // this check and the scan unnoticed (see Run).
  std::lock_guard lock(mu_);
  if (stopping_ || store_->LogEnd() > seen_end) return false;
  parked_.emplace_back(seen_end, std::move(wake));
  return true;
}

size_t LiveHub::parked() const {
  std::lock_guard lock(mu_);
  return parked_.size();
}

void LiveHub::Run() {
  std::vector<std::function<void(bool)>> ready;
  while (true) {
    Position end;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      end = store_->LogEnd();
      for (size_t i = 0; i < parked_.size();) {
        if (parked_[i].first < end) {
          ready.push_back(std::move(parked_[i].second));
          parked_[i] = std::move(parked_.back());
          parked_.pop_back();
        } else {
          ++i;
        }
      }
    }
    for (auto& wake : ready) wake(true);
    ready.clear();
    // Returns at once if anything was appended since `end` was read.
    store_->WaitForAppend(end, std::chrono::milliseconds(100));
  }
}

}  // namespace kiroku
