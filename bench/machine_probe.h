// Facts about the machine a benchmark runs on, shared by kiroku-bench and kiroku-peer-bench:
// what /proc says (CPU model, load, the file system holding a directory) and the latency of
// the disk's fdatasync measured the way the log uses it (append 4 KiB, fdatasync).
// Stateless functions; safe to call from any thread.
#pragma once

#include <string>

#include "kiroku/status.h"

namespace kiroku::bench {

// The value after the ':' of the first line of `path` starting with `prefix` ("?" if none),
// e.g. ReadFirstMatch("/proc/cpuinfo", "model name").
std::string ReadFirstMatch(const std::string& path, const std::string& prefix);
// "0.52 1.10 2.01" from /proc/loadavg.
std::string LoadAverage();
// File system type and device of the mount holding `path` (longest matching mount point).
std::string MountOf(const std::string& path);

struct FsyncProbeResult {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  // The same without the time the probing thread sat runnable waiting for a CPU after the
  // disk answered (on a busy machine that wait is a scheduler tick or more).
  double net_p50_ms = 0, net_p99_ms = 0;
  double cpu_wait_share = 0;  // of the total probe time
};

// Appends 4 KiB and fdatasyncs, `count` times, in a file created (and removed) in `dir`.
Result<FsyncProbeResult> ProbeFdatasync(const std::string& dir, int count);

}  // namespace kiroku::bench
