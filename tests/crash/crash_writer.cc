// The victim of crash_loop_test: appends to a store from several threads until it is killed.
//
//   crash_writer --data DIR --seed S [--power-loss]
//
// The store is opened through a FaultInjectionEnv (no faults injected; it observes syncs).
// Writers append batches of 1..20 events to a few shared streams, with a random mix of
// expected revisions: exact (from the writer's own last known head), any, and no_stream.
// Each fact goes to stdout as one line written with a single write(2), so lines from
// different threads never interleave (each is shorter than PIPE_BUF) and nothing waits in
// a buffer when SIGKILL comes:
//
//   P <id>...                                        before an append: these ids may appear
//   A <stream> <first revision> <count> <position of last event> <id>...
//                                                    after the append is acknowledged
//   S <path> <size>                                  after a file is synced (--power-loss only)
//
// An event's data is a JSON document holding its own id, so a reader can tell a misplaced
// or garbled event. Exits 2 on bad arguments or when the store does not open, 3 when an
// append fails for any reason other than a wrong expected revision.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kiroku/env.h"
#include "common/fault_injection_env.h"
#include "kiroku/store.h"

namespace kiroku {
namespace {

constexpr int kWriters = 4;
constexpr int kStreams = 6;
constexpr int kMaxBatch = 20;
constexpr uint64_t kSegmentSize = 32 * 1024;  // small, so crashes also hit segment rolls
// Never outlive the test that started us, even if it forgot to kill us.
constexpr auto kMaxRuntime = std::chrono::seconds(30);

// One line, one write(2).
void WriteLine(const std::string& line) {
  std::string out = line + "\n";
  const char* p = out.data();
  size_t left = out.size();
  while (left > 0) {
    ssize_t n = ::write(STDOUT_FILENO, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::_Exit(5);  // the reader is gone
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

[[noreturn]] void Fail(int code, const std::string& message) {
  std::fprintf(stderr, "crash_writer: %s\n", message.c_str());
  std::_Exit(code);
}

// A version-4 UUID from the writer's own generator, so a seed replays the same ids.
EventId NextId(std::mt19937_64& rng) {
  std::array<uint8_t, 16> b;
  uint64_t hi = rng(), lo = rng();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (8 * i));
  }
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return EventId(b);
}

void Writer(Store* store, uint64_t seed, int index) {
  std::mt19937_64 rng(seed * 1000003 + static_cast<uint64_t>(index));
  std::map<std::string, uint64_t> known_head;  // this writer's idea of each stream's head
  const auto deadline = std::chrono::steady_clock::now() + kMaxRuntime;
  for (uint64_t n = 0; std::chrono::steady_clock::now() < deadline; ++n) {
    const std::string stream = "crash-" + std::to_string(rng() % kStreams);
    const size_t count = 1 + rng() % kMaxBatch;
    std::vector<EventData> events;
    std::string proposed = "P";
    for (size_t i = 0; i < count; ++i) {
      EventData e;
      e.id = NextId(rng);
      e.type = "CrashTested";
      e.content_type = ContentType::kJson;
      e.data = R"({"id":")" + e.id.ToString() + R"(","writer":)" + std::to_string(index) +
               R"(,"pad":")" + std::string(rng() % 200, 'x') + R"("})";
      proposed += " " + e.id.ToString();
      events.push_back(std::move(e));
    }
    ExpectedRevision expected = ExpectedRevision::Any();
    switch (rng() % 3) {
      case 0:
        break;
      case 1:
        expected = ExpectedRevision::NoStream();
        break;
      default: {
        auto it = known_head.find(stream);
        expected = it == known_head.end() ? ExpectedRevision::NoStream()
                                          : ExpectedRevision::Exact(StreamRevision(it->second));
      }
    }
    std::vector<std::string> ids;
    for (const EventData& e : events) ids.push_back(e.id.ToString());
    WriteLine(proposed);
    auto r = store->Append(stream, expected, std::move(events));
    if (r.ok()) {
      const uint64_t last = r->current_revision.value;
      std::string line = "A " + stream + " " + std::to_string(last + 1 - count) + " " +
                         std::to_string(count) + " " + std::to_string(r->position.value);
      for (const std::string& id : ids) line += " " + id;
      WriteLine(line);
      known_head[stream] = last;
    } else if (r.status().code() == StatusCode::kWrongExpectedVersion) {
      if (auto actual = r.status().actual_revision()) {
        known_head[stream] = *actual;
      } else {
        known_head.erase(stream);
      }
    } else {
      Fail(3, "append to " + stream + " failed: " + r.status().ToString());
    }
  }
}

int Main(int argc, char** argv) {
  std::string dir;
  std::optional<uint64_t> seed;
  bool power_loss = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--data" && i + 1 < argc) {
      dir = argv[++i];
    } else if (arg == "--seed" && i + 1 < argc) {
      seed = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--power-loss") {
      power_loss = true;
    } else {
      Fail(2, "usage: crash_writer --data DIR --seed S [--power-loss]");
    }
  }
  if (dir.empty() || !seed) Fail(2, "usage: crash_writer --data DIR --seed S [--power-loss]");
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // die with the test

  std::unique_ptr<Env> posix = NewPosixEnv();
  FaultInjectionEnv env(posix.get());
  if (power_loss) {
    // Called on the committer thread after the sync and before anything it covers is
    // acknowledged, so an "S" line always precedes the "A" lines it makes durable.
    env.OnSync([](const std::string& path, uint64_t size) {
      WriteLine("S " + path + " " + std::to_string(size));
    });
  }
  StoreOptions options;
  options.env = &env;
  options.segment_size = kSegmentSize;
  auto store = Store::Open(dir, options);
  if (!store.ok()) Fail(2, "open " + dir + ": " + store.status().ToString());

  std::vector<std::thread> writers;
  for (int i = 0; i < kWriters; ++i) writers.emplace_back(Writer, store->get(), *seed, i);
  for (std::thread& w : writers) w.join();
  Fail(4, "not killed within the time limit");
}

}  // namespace
}  // namespace kiroku

int main(int argc, char** argv) { return kiroku::Main(argc, argv); }
