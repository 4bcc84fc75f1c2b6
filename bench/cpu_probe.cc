#include "cpu_probe.h"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace kiroku::bench {

namespace {

double Seconds(const timeval& tv) {
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

}  // namespace

CpuProbe::CpuProbe()
    : t0_(std::chrono::steady_clock::now()),
      process_cpu0_(ProcessCpuSeconds()),
      machine0_(MachineSeconds()),
      threads0_(Threads()),
      caller0_(ThisThread()) {}

CpuUsage CpuProbe::Stop() const {
  CpuUsage u;
  u.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
  if (u.seconds <= 0) return u;
  const double process = ProcessCpuSeconds() - process_cpu0_;
  const Machine m = MachineSeconds();
  const double busy = m.busy - machine0_.busy;
  u.process_cores = process / u.seconds;
  u.other_cores = busy > process ? (busy - process) / u.seconds : 0;
  u.steal_cores = (m.steal - machine0_.steal) / u.seconds;
  Sched best;
  for (const auto& [tid, after] : Threads()) {
    auto it = threads0_.find(tid);
    if (it == threads0_.end()) continue;
    Sched d{after.run_ns - it->second.run_ns, after.wait_ns - it->second.wait_ns};
    if (d.run_ns > best.run_ns) best = d;
  }
  u.busiest_on_cpu = static_cast<double>(best.run_ns) / 1e9 / u.seconds;
  u.busiest_waiting = static_cast<double>(best.wait_ns) / 1e9 / u.seconds;
  Sched caller = ThisThread();
  u.caller_cpu_seconds = static_cast<double>(caller.run_ns - caller0_.run_ns) / 1e9;
  u.caller_waiting = static_cast<double>(caller.wait_ns - caller0_.wait_ns) / 1e9 / u.seconds;
  return u;
}

std::map<int, CpuProbe::Sched> CpuProbe::Threads() {
  std::map<int, Sched> out;
  const int self = static_cast<int>(::gettid());
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    const std::string name = entry.path().filename().string();
    const int tid = std::atoi(name.c_str());
    if (tid == self) continue;
    std::string comm;
    std::ifstream(entry.path() / "comm") >> comm;
    if (comm.rfind("rocksdb", 0) == 0) continue;
    Sched s;
    std::ifstream in(entry.path() / "schedstat");
    if (in >> s.run_ns >> s.wait_ns) out[tid] = s;
  }
  return out;
}

CpuProbe::Sched CpuProbe::ThisThread() {
  Sched s;
  std::ifstream in("/proc/thread-self/schedstat");
  in >> s.run_ns >> s.wait_ns;
  return s;
}

double CpuProbe::ProcessCpuSeconds() {
  rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return Seconds(ru.ru_utime) + Seconds(ru.ru_stime);
}

CpuProbe::Machine CpuProbe::MachineSeconds() {
  // cpu  user nice system idle iowait irq softirq steal ...
  std::ifstream in("/proc/stat");
  std::string cpu;
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  Machine m;
  m.busy = static_cast<double>(user + nice + system + irq + softirq) / hz;
  m.steal = static_cast<double>(steal) / hz;
  return m;
}

}  // namespace kiroku::bench
