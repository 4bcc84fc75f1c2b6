#include "support/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <regex>

namespace kiroku::testing {

CommandResult RunCommand(const std::string& shell_command) {
  CommandResult r;
  std::string cmd = shell_command + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

ServerProcess::ServerProcess(std::string binary, std::string data_dir,
                             std::vector<std::string> extra)
    : binary_(std::move(binary)), data_dir_(std::move(data_dir)), extra_(std::move(extra)) {}

ServerProcess::~ServerProcess() { Kill(); }

bool ServerProcess::Start(std::string* error) {
  int fds[2];
  if (::pipe(fds) != 0) return false;
  std::vector<std::string> args = {binary_, "serve", "--data", data_dir_, "--http-port", "0"};
  // Any free gRPC port unless the caller chose one (e.g. to restart on the same port).
  if (std::find(extra_.begin(), extra_.end(), "--port") == extra_.end()) {
    args.insert(args.end(), {"--port", "0"});
  }
  args.insert(args.end(), extra_.begin(), extra_.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::close(fds[0]);
    ::close(fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary_.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  out_fd_ = fds[0];
  output_.clear();
  const std::regex grpc_re(R"(gRPC\s+[\d.]+:(\d+))"), http_re(R"(http://[\d.]+:(\d+)/)");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd pfd{out_fd_, POLLIN, 0};
    if (::poll(&pfd, 1, 200) > 0) {
      char buf[1024];
      ssize_t n = ::read(out_fd_, buf, sizeof buf);
      if (n <= 0) break;
      output_.append(buf, static_cast<size_t>(n));
      std::smatch g, h;
      if (std::regex_search(output_, g, grpc_re) && std::regex_search(output_, h, http_re)) {
        port_ = std::stoi(g[1]);
        http_port_ = std::stoi(h[1]);
        return true;
      }
    }
  }
  *error = "kiroku serve did not start: " + output_;
  Kill();
  return false;
}

int ServerProcess::Stop(std::string* output) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  std::string rest;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(out_fd_, buf, sizeof buf)) > 0) output_.append(buf, static_cast<size_t>(n));
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  ::close(out_fd_);
  out_fd_ = -1;
  if (output) *output = output_;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  if (out_fd_ >= 0) ::close(out_fd_);
  out_fd_ = -1;
}

}  // namespace kiroku::testing
