// The studylog HTTP API (API.md): commands through Repository aggregates into kiroku,
// pages from the read model, the naive page and histories from the events.
#pragma once

#include <memory>
#include <string>

#include "kiroku/event_store.h"
#include "read_model.h"

namespace httplib {
class Server;
}

namespace studylog {

class HttpApi {
 public:
  // Borrows both; they must outlive the API.
  HttpApi(kiroku::EventStore* store, ReadModel* read_model, int threads);
  ~HttpApi();
  // Binds (port 0: a free one) and returns the port.
  kiroku::Result<int> Bind(const std::string& host, int port);
  // Serves until Stop (from another thread).
  void Serve();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace studylog
