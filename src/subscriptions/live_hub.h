// Parks live subscriptions that have read everything and wakes them when the log grows,
// so a caught-up subscription holds no thread while it waits. One hub thread per store.
// Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "kiroku/store.h"

namespace kiroku {

class LiveHub {
 public:
  explicit LiveHub(Store* store);
  ~LiveHub();  // wakes every parked subscription with false, then stops

  // Registers `wake` to run (on the hub thread) once the log end passes `seen_end`.
  // Returns false, without registering, if it already has: the caller reads again now.
  // After Stop(), returns false too and `wake` is never called.
  bool Park(Position seen_end, std::function<void(bool live)> wake);
  size_t parked() const;
  void Stop();

 private:
  void Run();

  Store* store_;
  mutable std::mutex mu_;
  std::vector<std::pair<Position, std::function<void(bool)>>> parked_;  // guarded by mu_
  bool stopping_ = false;                                               // guarded by mu_
  std::thread thread_;
};

}  // namespace kiroku
