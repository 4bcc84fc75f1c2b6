#include "resp_client.h"

#include <charconv>

namespace kiroku::bench::peers {

Result<std::unique_ptr<RespConnection>> RespConnection::Connect(const std::string& host,
                                                                uint16_t port) {
  auto tcp = TcpConnection::Connect(host, port);
  if (!tcp.ok()) return tcp.status();
  return std::unique_ptr<RespConnection>(new RespConnection(std::move(tcp).value()));
}

void RespConnection::Send(const std::vector<std::string_view>& args) {
  std::string head = "*" + std::to_string(args.size()) + "\r\n";
  conn_->Write(head);
  for (std::string_view a : args) {
    conn_->Write("$" + std::to_string(a.size()) + "\r\n");
    conn_->Write(a);
    conn_->Write("\r\n");
  }
}

Status RespConnection::Read(RespValue* v) {
  auto line = conn_->ReadLine();
  if (!line.ok()) return line.status();
  if (line->empty()) return Status::IOError("RESP: empty line");
  const char kind = (*line)[0];
  const std::string_view rest = std::string_view(*line).substr(1);
  int64_t n = 0;
  auto number = [&]() -> Status {
    auto r = std::from_chars(rest.data(), rest.data() + rest.size(), n);
    if (r.ec != std::errc()) return Status::IOError("RESP: bad number in '" + *line + "'");
    return Status::Ok();
  };
  v->elements.clear();
  switch (kind) {
    case '+':
      v->type = RespValue::Type::kSimple;
      v->str.assign(rest);
      return Status::Ok();
    case '-':
      v->type = RespValue::Type::kError;
      v->str.assign(rest);
      return Status::Ok();
    case ':':
      KIROKU_RETURN_IF_ERROR(number());
      v->type = RespValue::Type::kInteger;
      v->integer = n;
      return Status::Ok();
    case '$':
      KIROKU_RETURN_IF_ERROR(number());
      if (n < 0) {
        v->type = RespValue::Type::kNil;
        return Status::Ok();
      }
      v->type = RespValue::Type::kBulk;
      KIROKU_RETURN_IF_ERROR(conn_->ReadExact(static_cast<size_t>(n) + 2, &v->str));
      v->str.resize(static_cast<size_t>(n));
      return Status::Ok();
    case '*':
      KIROKU_RETURN_IF_ERROR(number());
      if (n < 0) {
        v->type = RespValue::Type::kNil;
        return Status::Ok();
      }
      v->type = RespValue::Type::kArray;
      v->elements.resize(static_cast<size_t>(n));
      for (RespValue& e : v->elements) KIROKU_RETURN_IF_ERROR(Read(&e));
      return Status::Ok();
    default:
      return Status::IOError("RESP: unexpected '" + *line + "'");
  }
}

Result<RespValue> RespConnection::Command(const std::vector<std::string_view>& args) {
  Send(args);
  RespValue v;
  KIROKU_RETURN_IF_ERROR(Read(&v));
  if (v.type == RespValue::Type::kError) return Status::IOError("redis: " + v.str);
  return v;
}

}  // namespace kiroku::bench::peers
