#include "tcp_connection.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kiroku::bench::peers {

Result<std::unique_ptr<TcpConnection>> TcpConnection::Connect(const std::string& host,
                                                              uint16_t port,
                                                              std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    return Status::InvalidArgument("not an IPv4 address: " + host);
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    Status s = Status::IOError("connect " + host + ":" + std::to_string(port) + ": " +
                               std::strerror(errno));
    ::close(fd);
    return s;
  }
  return std::unique_ptr<TcpConnection>(new TcpConnection(fd));
}

TcpConnection::~TcpConnection() { ::close(fd_); }

Status TcpConnection::Flush() {
  size_t done = 0;
  while (done < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + done, out_.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IOError(std::string("send: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  out_.clear();
  return Status::Ok();
}

Status TcpConnection::Fill() {
  if (!out_.empty()) KIROKU_RETURN_IF_ERROR(Flush());
  if (in_pos_ > 0 && in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  } else if (in_pos_ > (1u << 20)) {
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  const size_t old = in_.size();
  in_.resize(old + (256u << 10));
  while (true) {
    ssize_t n = ::recv(fd_, in_.data() + old, in_.size() - old, 0);
    if (n > 0) {
      in_.resize(old + static_cast<size_t>(n));
      return Status::Ok();
    }
    in_.resize(old);
    if (n == 0) return Status::Closed("the peer closed the connection");
    if (errno == EINTR) {
      in_.resize(old + (256u << 10));
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::IOError("recv: timed out");
    return Status::IOError(std::string("recv: ") + std::strerror(errno));
  }
}

Result<std::string> TcpConnection::ReadLine() {
  size_t scanned = in_pos_;
  while (true) {
    size_t nl = in_.find("\r\n", scanned > in_pos_ ? scanned - 1 : in_pos_);
    if (nl != std::string::npos) {
      std::string line = in_.substr(in_pos_, nl - in_pos_);
      in_pos_ = nl + 2;
      return line;
    }
    const size_t consumed_before = in_pos_;
    scanned = in_.size();
    KIROKU_RETURN_IF_ERROR(Fill());
    // Fill may have compacted the buffer: keep `scanned` relative to the unread part.
    scanned = scanned - consumed_before + in_pos_;
  }
}

Status TcpConnection::ReadExact(size_t n, std::string* out) {
  while (in_.size() - in_pos_ < n) KIROKU_RETURN_IF_ERROR(Fill());
  out->assign(in_, in_pos_, n);
  in_pos_ += n;
  return Status::Ok();
}

}  // namespace kiroku::bench::peers
