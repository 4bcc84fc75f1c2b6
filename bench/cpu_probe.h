// Where the CPU went during one workload, to tell a CPU-bound engine from an fsync-bound one
// and to show how much the other tenants of a shared machine took: this process's CPU, the
// machine's CPU used by other processes (/proc/stat minus ours), and the busiest long-lived
// thread of this process (the committer in append workloads) from its schedstat: time on a
// CPU and time runnable but waiting for one.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

namespace kiroku::bench {

struct CpuUsage {
  double seconds = 0;        // wall time between Start and Stop
  double process_cores = 0;  // this process's user+sys CPU / wall time
  double other_cores = 0;    // the machine's busy CPU not used by this process / wall time
  double steal_cores = 0;    // CPU the hypervisor gave to other guests / wall time
  // The thread of this process, other than the caller and RocksDB's, that ran the most
  // between Start and Stop (it must exist at both): share of wall time on a CPU, and share
  // of wall time runnable but waiting for a CPU (taken by someone else).
  double busiest_on_cpu = 0;
  double busiest_waiting = 0;
  // The calling thread: CPU seconds and runqueue wait share.
  double caller_cpu_seconds = 0;
  double caller_waiting = 0;
};

class CpuProbe {
 public:
  // Snapshots now.
  CpuProbe();
  CpuUsage Stop() const;

  // The calling thread's schedstat: nanoseconds on a CPU and runnable but waiting for one.
  struct Sched {
    uint64_t run_ns = 0;
    uint64_t wait_ns = 0;
  };
  static Sched ThisThread();

 private:
  static std::map<int, Sched> Threads();
  static double ProcessCpuSeconds();
  struct Machine {
    double busy = 0;   // user, nice, system, irq, softirq
    double steal = 0;  // taken by the hypervisor
  };
  static Machine MachineSeconds();

  std::chrono::steady_clock::time_point t0_;
  double process_cpu0_;
  Machine machine0_;
  std::map<int, Sched> threads0_;
  Sched caller0_;
};

}  // namespace kiroku::bench
