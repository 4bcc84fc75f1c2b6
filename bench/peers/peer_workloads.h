// The peer benchmark's workloads, identical for every PeerTarget:
//   write  `writers` threads, each owning the streams i with i % writers == its index out of
//          `streams`, append `batch` events to a random one of its streams with the exact
//          expected head it tracks, for `seconds` after `warmup` seconds; events/s and
//          per-append latency. Before the clock starts, a stale append is checked to be
//          rejected, so every target really runs its optimistic concurrency check.
//   load   the same with a fixed event count (the read data set; not a result)
//   read   the first `events` events in global order, through ReadAll (pages) or CatchUp;
//          order is checked (strictly increasing) and every event must carry data.
// Thread-safety: each function runs to completion on the calling thread and joins the
// threads it starts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cpu_probe.h"
#include "peer_target.h"

namespace kiroku::bench::peers {

struct WriteSpec {
  int writers = 1;
  int batch = 1;
  int streams = 10'000;
  std::string stream_prefix;  // [a-z0-9-] only (it becomes part of NATS subjects)
  double seconds = 3;         // timed window (write); ignored by load
  double warmup = 0.5;        // appends before the window are not counted
  uint64_t total_events = 0;  // load: stop after this many events instead
};

struct WriteOutcome {
  uint64_t events = 0;  // completed inside the timed window
  uint64_t appends = 0;
  double seconds = 0;              // the window
  std::vector<double> latency_ms;  // sorted, appends completed inside the window
  uint64_t errors = 0;
  std::string first_error;
  std::string concurrency_check;  // what the stale-append probe saw
  CpuUsage cpu;
};

Result<WriteOutcome> RunWrites(PeerTarget* target, const WriteSpec& spec);

struct ReadOutcome {
  uint64_t events = 0;
  uint64_t data_bytes = 0;
  double seconds = 0;
  CpuUsage cpu;
};

// catch_up: CatchUp; else ReadAll in pages of `page`.
Result<ReadOutcome> RunRead(PeerTarget* target, uint64_t events, uint64_t page, bool catch_up);

}  // namespace kiroku::bench::peers
