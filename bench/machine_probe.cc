#include "machine_probe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "cpu_probe.h"
#include "report.h"

namespace kiroku::bench {

std::string ReadFirstMatch(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      size_t colon = line.find(':');
      std::string v = colon == std::string::npos ? line : line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "?";
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string MountOf(const std::string& path) {
  std::error_code ec;
  std::string real = std::filesystem::weakly_canonical(path, ec).string();
  std::ifstream in("/proc/mounts");
  std::string dev, mnt, type, rest, best = "?";
  size_t best_len = 0;
  while (in >> dev >> mnt >> type && std::getline(in, rest)) {
    bool under =
        real == mnt || (real.rfind(mnt, 0) == 0 &&
                        (mnt == "/" || (real.size() > mnt.size() && real[mnt.size()] == '/')));
    if (under && mnt.size() >= best_len) {
      best_len = mnt.size();
      best = type + " on " + dev + " (mounted at " + mnt + ")";
    }
  }
  return best;
}

Result<FsyncProbeResult> ProbeFdatasync(const std::string& dir, int count) {
  using Clock = std::chrono::steady_clock;
  const std::string path = dir + "/fsync.probe";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IOError("open " + path + ": " + std::strerror(errno));
  std::vector<char> buf(4096, 'k');
  std::vector<double> lat, net;
  lat.reserve(static_cast<size_t>(count));
  net.reserve(static_cast<size_t>(count));
  double total_ms = 0, wait_ms = 0;
  Status failed;
  for (int i = 0; i < count && failed.ok(); ++i) {
    const CpuProbe::Sched s0 = CpuProbe::ThisThread();
    auto t0 = Clock::now();
    // Appending, as the log does: the file grows with every write.
    if (::pwrite(fd, buf.data(), buf.size(), static_cast<off_t>(i) * 4096) != 4096) {
      failed = Status::IOError("write " + path + ": " + std::strerror(errno));
    } else if (::fdatasync(fd) != 0) {
      failed = Status::IOError("fdatasync " + path + ": " + std::strerror(errno));
    }
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const double waited = static_cast<double>(CpuProbe::ThisThread().wait_ns - s0.wait_ns) / 1e6;
    lat.push_back(ms);
    net.push_back(std::max(0.0, ms - waited));
    total_ms += ms;
    wait_ms += waited;
  }
  ::close(fd);
  ::unlink(path.c_str());
  if (!failed.ok()) return failed;
  FsyncProbeResult out;
  if (lat.empty()) return out;
  std::sort(lat.begin(), lat.end());
  std::sort(net.begin(), net.end());
  out.p50_ms = Percentile(lat, 0.50);
  out.p99_ms = Percentile(lat, 0.99);
  out.max_ms = lat.back();
  out.net_p50_ms = Percentile(net, 0.50);
  out.net_p99_ms = Percentile(net, 0.99);
  out.cpu_wait_share = total_ms > 0 ? wait_ms / total_ms : 0;
  return out;
}

}  // namespace kiroku::bench
