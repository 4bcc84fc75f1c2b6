// studylog: the study-log example service (README.md, API.md).
//
//   studylog --kiroku esdb://127.0.0.1:2113?tls=false --read-model sqlite:data/read/studylog.db
//
// Commands go to kiroku through Repository aggregates; pages come from the read model the
// studylog projection keeps (run by `kiroku serve --projections examples/studylog/projections`).
// SIGINT/SIGTERM stop it: in-flight requests finish, then it exits 0.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <thread>

#include "http_api.h"
#include "kiroku/event_store.h"
#include "read_model.h"

int main(int argc, char** argv) {
  CLI::App app{"studylog: the study-log example service over kiroku"};
  std::string kiroku_url = "esdb://127.0.0.1:2113?tls=false";
  std::string read_model_target = "sqlite:data/read/studylog.db";
  std::string bind = "127.0.0.1";
  int port = 8080;
  // cpp-httplib serves a kept-alive connection on one pool thread until it closes, so
  // connections beyond the pool wait: size it for the expected client connections.
  int threads = 64;
  app.add_option("--kiroku", kiroku_url, "kiroku connection string (or embedded:DIR)")
      ->capture_default_str();
  app.add_option("--read-model", read_model_target,
                 "the projection's target: sqlite:PATH or postgresql://URL")
      ->capture_default_str();
  app.add_option("--bind", bind, "address to listen on")->capture_default_str();
  app.add_option("--port", port, "HTTP port; 0 = any free one")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  app.add_option("--threads", threads,
                 "request threads (one per open keep-alive connection; more connections wait)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Signals are taken by one thread with sigwait; block them before any thread starts.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto store = kiroku::OpenEventStore(kiroku_url);
  if (!store.ok()) {
    std::cerr << "studylog: " << store.status().ToString() << "\n";
    return 2;
  }
  auto read_model = studylog::OpenReadModel(read_model_target);
  if (!read_model.ok()) {
    std::cerr << "studylog: " << read_model.status().ToString() << "\n";
    return 2;
  }
  studylog::HttpApi api(store->get(), read_model->get(), threads);
  kiroku::Result<int> bound = api.Bind(bind, port);
  if (!bound.ok()) {
    std::cerr << "studylog: " << bound.status().ToString() << "\n";
    return 2;
  }
  std::printf("studylog: listening on http://%s:%d\n", bind.c_str(), *bound);
  std::fflush(stdout);

  std::thread stopper([&api, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    api.Stop();
  });
  api.Serve();
  // Serve also returns if listening failed; wake the stopper in that case.
  pthread_kill(stopper.native_handle(), SIGTERM);
  stopper.join();
  std::printf("studylog: stopped\n");
  return 0;
}
