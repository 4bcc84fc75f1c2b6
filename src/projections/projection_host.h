// Runs projections inside `kiroku serve --projections DIR`: every *.yaml / *.yml spec in DIR,
// each on its own thread, reading straight from the engine (EmbeddedSource).
//
// Load() parses and validates every spec before anything runs, so a spec error stops the
// server from starting with FILE:LINE and the database's message. Start() opens each
// projection's version (the first version run becomes live) and starts its thread. A
// projection that fails stays stopped with its error in the status until the server is
// restarted (after a fix, it resumes at the failed event); the others go on.
// Thread-safety: StatusJson/MetricsText/Statuses from any thread; Start/Stop from one.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kiroku/store.h"
#include "projections/runner.h"
#include "projections/spec.h"
#include "projections/status.h"

namespace kiroku::projections {

class ProjectionHost {
 public:
  static Result<std::unique_ptr<ProjectionHost>> Load(const std::string& dir);
  ~ProjectionHost();

  // `store` is not owned; call Stop() before it closes.
  Status Start(Store* store);
  void Stop();  // idempotent; commits and records state `stopped`

  // With lag computed from the store now.
  std::vector<ProjectionStatus> Statuses() const;
  std::string StatusJson() const;   // {"projections":[…]}
  std::string MetricsText() const;  // Prometheus

 private:
  struct Running {
    ProjectionSpec spec;
    std::unique_ptr<ProjectionRunner> runner;
    std::unique_ptr<EventSource> source;
    std::thread thread;
    std::string exit_error;  // set by the thread when Run returns an error
    std::atomic<bool> done{false};
  };

  ProjectionHost() = default;

  std::vector<ProjectionSpec> specs_;
  mutable std::mutex mu_;  // guards running_ (the HTTP threads read it)
  std::vector<std::unique_ptr<Running>> running_;
  Store* store_ = nullptr;
  std::atomic<bool> stop_{false};
};

}  // namespace kiroku::projections
