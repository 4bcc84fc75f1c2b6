#include "nats_client.h"

#include <charconv>
#include <random>
#include <vector>

namespace kiroku::bench::peers {
namespace {

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ParseSize(std::string_view s, size_t* v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace

int NatsMessage::Status() const {
  // "NATS/1.0 100 FlowControl Request\r\n..."
  if (headers.size() < 12 || headers.compare(0, 9, "NATS/1.0 ") != 0) return 0;
  int code = 0;
  std::from_chars(headers.data() + 9, headers.data() + 12, code);
  return code;
}

std::string_view NatsMessage::Header(std::string_view key) const {
  std::string_view h = headers;
  size_t pos = h.find("\r\n");
  while (pos != std::string_view::npos && pos + 2 < h.size()) {
    size_t start = pos + 2;
    size_t end = h.find("\r\n", start);
    if (end == std::string_view::npos) break;
    std::string_view line = h.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && line.substr(0, colon) == key) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      return v;
    }
    pos = end;
  }
  return {};
}

Result<std::unique_ptr<NatsConnection>> NatsConnection::Connect(const std::string& host,
                                                                uint16_t port) {
  auto tcp = TcpConnection::Connect(host, port);
  if (!tcp.ok()) return tcp.status();
  std::unique_ptr<NatsConnection> c(new NatsConnection(std::move(tcp).value()));
  auto info = c->conn_->ReadLine();
  if (!info.ok()) return info.status();
  if (info->rfind("INFO ", 0) != 0) return Status::IOError("not a NATS server: " + *info);
  c->info_ = info->substr(5);
  std::random_device rd;
  c->inbox_ = "_INBOX." + std::to_string(rd()) + std::to_string(rd()) + ".";
  c->conn_->Write(
      "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"no_responders\":true,"
      "\"protocol\":1,\"lang\":\"cpp\",\"version\":\"kiroku-peer-bench\"}\r\nPING\r\n");
  while (true) {
    auto line = c->conn_->ReadLine();
    if (!line.ok()) return line.status();
    if (*line == "PONG") break;
    if (line->rfind("-ERR", 0) == 0) return Status::IOError("NATS CONNECT: " + *line);
  }
  return c;
}

void NatsConnection::Subscribe(std::string_view subject, std::string_view sid) {
  std::string cmd = "SUB ";
  cmd.append(subject).append(" ").append(sid).append("\r\n");
  conn_->Write(cmd);
}

void NatsConnection::Unsubscribe(std::string_view sid) {
  std::string cmd = "UNSUB ";
  cmd.append(sid).append("\r\n");
  conn_->Write(cmd);
}

void NatsConnection::Publish(std::string_view subject, std::string_view reply,
                             std::string_view headers, std::string_view payload) {
  std::string cmd = headers.empty() ? "PUB " : "HPUB ";
  cmd.append(subject).append(" ");
  if (!reply.empty()) cmd.append(reply).append(" ");
  if (!headers.empty()) cmd.append(std::to_string(headers.size())).append(" ");
  cmd.append(std::to_string(headers.size() + payload.size())).append("\r\n");
  conn_->Write(cmd);
  conn_->Write(headers);
  conn_->Write(payload);
  conn_->Write("\r\n");
}

Status NatsConnection::Next(NatsMessage* m) {
  std::string body;
  while (true) {
    auto line = conn_->ReadLine();
    if (!line.ok()) return line.status();
    const std::string& l = *line;
    if (l == "PING") {
      conn_->Write("PONG\r\n");
      KIROKU_RETURN_IF_ERROR(conn_->Flush());
      continue;
    }
    if (l == "PONG" || l == "+OK" || l.rfind("INFO ", 0) == 0) continue;
    if (l.rfind("-ERR", 0) == 0) return Status::IOError("NATS: " + l);
    const bool hmsg = l.rfind("HMSG ", 0) == 0;
    if (!hmsg && l.rfind("MSG ", 0) != 0) return Status::IOError("NATS: unexpected '" + l + "'");
    std::vector<std::string_view> t = Split(l);
    // MSG subject sid [reply] total | HMSG subject sid [reply] hdr total
    const size_t fixed = hmsg ? 5 : 4;
    if (t.size() != fixed && t.size() != fixed + 1) return Status::IOError("NATS: bad '" + l + "'");
    const bool has_reply = t.size() == fixed + 1;
    size_t hdr = 0, total = 0;
    if (!ParseSize(t.back(), &total) || (hmsg && !ParseSize(t[t.size() - 2], &hdr)) ||
        hdr > total) {
      return Status::IOError("NATS: bad sizes in '" + l + "'");
    }
    m->subject.assign(t[1]);
    m->sid.assign(t[2]);
    m->reply.assign(has_reply ? t[3] : std::string_view());
    KIROKU_RETURN_IF_ERROR(conn_->ReadExact(total + 2, &body));
    m->headers.assign(body, 0, hdr);
    m->payload.assign(body, hdr, total - hdr);
    return Status::Ok();
  }
}

Result<NatsMessage> NatsConnection::Request(std::string_view subject, std::string_view payload) {
  if (!request_sub_) {
    Subscribe(inbox_ + "r.*", "req");
    request_sub_ = true;
  }
  const std::string reply = inbox_ + "r." + std::to_string(++requests_);
  Publish(subject, reply, {}, payload);
  NatsMessage m;
  while (true) {
    KIROKU_RETURN_IF_ERROR(Next(&m));
    if (m.subject != reply) continue;
    if (m.Status() == 503)
      return Status::NotFound("NATS: no responders for " + std::string(subject));
    return m;
  }
}

}  // namespace kiroku::bench::peers
