// Running real processes from tests: a `kiroku serve` child on free ports, and shell
// commands with their output and exit code.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace kiroku::testing {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};
CommandResult RunCommand(const std::string& shell_command);

// A `kiroku serve` process. Start() waits until it prints its ports.
class ServerProcess {
 public:
  ServerProcess(std::string binary, std::string data_dir, std::vector<std::string> extra = {});
  ~ServerProcess();  // SIGKILL if still running
  bool Start(std::string* error);
  // SIGTERM, wait; returns the exit code (or 128+signal) and fills *output.
  int Stop(std::string* output = nullptr);
  void Kill();  // SIGKILL, wait
  int port() const { return port_; }
  int http_port() const { return http_port_; }
  std::string url() const { return "esdb://127.0.0.1:" + std::to_string(port_) + "?tls=false"; }

 private:
  std::string binary_, data_dir_;
  std::vector<std::string> extra_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::string output_;
  int port_ = 0, http_port_ = 0;
};

}  // namespace kiroku::testing
