// Redis as a peer-benchmark target.
//
// Layout: every event is an entry of one Redis stream `all` (fields s = stream, v = version,
// t = type, id = event id, d = data), so the global order is that stream's entry ids; each
// event stream "learner-42" is a Redis stream `s:learner-42` whose entries point to the
// global entry (field g). Append = one Lua script (atomic in Redis) that compares XLEN of
// the event stream with the expected event count, then XADDs every event to `all` and its
// pointer to `s:<stream>`; a mismatch returns WRONGVERSION (-> WrongExpectedVersion).
// ReadAll = XRANGE all in pages; CatchUp = XREAD from 0-0, 1000 entries per call.
// Durability comes from the server's AOF settings (appendfsync always: the AOF is fsynced
// before replies are written), reported as the server states them.
#include <charconv>
#include <string>

#include "event_payload.h"
#include "peer_target.h"
#include "resp_client.h"

namespace kiroku::bench::peers {
namespace {

constexpr int64_t kCatchUpPage = 1000;

constexpr const char* kAppendScript = R"lua(
local n = redis.call('XLEN', KEYS[1])
if n ~= tonumber(ARGV[1]) then
  return redis.error_reply('WRONGVERSION ' .. ARGV[2] .. ' has ' .. n .. ' events, expected ' .. ARGV[1])
end
for i = 4, #ARGV, 2 do
  local g = redis.call('XADD', KEYS[2], '*', 's', ARGV[2], 'v', n, 't', ARGV[3], 'id', ARGV[i], 'd', ARGV[i + 1])
  redis.call('XADD', KEYS[1], '*', 'g', g)
  n = n + 1
end
return n
)lua";

// "1700000000000-12" -> ms << 20 | seq: increasing with the entry id.
uint64_t OrderOfId(std::string_view id) {
  uint64_t ms = 0, seq = 0;
  size_t dash = id.find('-');
  std::from_chars(id.data(), id.data() + (dash == std::string_view::npos ? id.size() : dash), ms);
  if (dash != std::string_view::npos)
    std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  return (ms << 20) | (seq & 0xFFFFF);
}

// Visits the entries of an XRANGE/XREAD entry list; returns the last id seen.
std::string VisitEntries(const RespValue& entries, const ReadVisitor& visit, uint64_t* seen,
                         uint64_t limit) {
  std::string last;
  for (const RespValue& e : entries.elements) {
    if (*seen >= limit) break;
    if (e.elements.size() != 2) continue;
    const std::string& id = e.elements[0].str;
    std::string_view stream, type, data;
    const auto& f = e.elements[1].elements;
    for (size_t i = 0; i + 1 < f.size(); i += 2) {
      const std::string& k = f[i].str;
      if (k == "s")
        stream = f[i + 1].str;
      else if (k == "t")
        type = f[i + 1].str;
      else if (k == "d")
        data = f[i + 1].str;
    }
    visit(ReadEvent{OrderOfId(id), stream, type, data});
    ++*seen;
    last = id;
  }
  return last;
}

class RedisWriter : public PeerWriter {
 public:
  RedisWriter(std::unique_ptr<RespConnection> c, const std::string& sha, const std::string& payload)
      : c_(std::move(c)), sha_(sha), payload_(payload) {}

  Result<StreamHead> Append(const std::string& stream, const StreamHead& expected,
                            int count) override {
    const std::string key = "s:" + stream;
    const std::string expected_count = std::to_string(expected.version + 1);
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(count));
    std::vector<std::string_view> args = {"EVALSHA", sha_,           "2",    key,
                                          "all",     expected_count, stream, "LessonCompleted"};
    for (int i = 0; i < count; ++i) {
      ids.push_back(RandomUuidText());
      args.push_back(ids.back());
      args.push_back(payload_);
    }
    c_->Send(args);
    RespValue v;
    KIROKU_RETURN_IF_ERROR(c_->Read(&v));
    if (v.type == RespValue::Type::kError) {
      if (v.str.rfind("WRONGVERSION", 0) == 0 || v.str.find("WRONGVERSION") != std::string::npos) {
        return Status::WrongExpectedVersion("redis: " + v.str, std::nullopt);
      }
      return Status::IOError("redis append: " + v.str);
    }
    if (v.type != RespValue::Type::kInteger || v.integer != expected.version + 1 + count) {
      return Status::IOError("redis append: unexpected reply");
    }
    return StreamHead{expected.version + count, 0};
  }

 private:
  std::unique_ptr<RespConnection> c_;
  std::string sha_;
  const std::string& payload_;
};

class Redis : public PeerTarget {
 public:
  explicit Redis(const TargetOptions& o) : o_(o), payload_(JsonPayload(o.payload_bytes)) {}

  Status LoadScript() {
    auto c = RespConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    auto r = (*c)->Command({"SCRIPT", "LOAD", kAppendScript});
    if (!r.ok()) return r.status();
    sha_ = r->str;
    return Status::Ok();
  }

  Result<std::unique_ptr<PeerWriter>> NewWriter() override {
    auto c = RespConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    return std::unique_ptr<PeerWriter>(new RedisWriter(std::move(c).value(), sha_, payload_));
  }

  Status ReadAll(uint64_t limit, uint64_t page, const ReadVisitor& visit) override {
    auto c = RespConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    std::string start = "-";
    uint64_t seen = 0;
    while (seen < limit) {
      const std::string count = std::to_string(std::min(page, limit - seen));
      auto r = (*c)->Command({"XRANGE", "all", start, "+", "COUNT", count});
      if (!r.ok()) return r.status();
      if (r->elements.empty()) break;
      start = "(" + VisitEntries(*r, visit, &seen, limit);
    }
    if (seen < limit) return Status::NotFound("all ended after " + std::to_string(seen));
    return Status::Ok();
  }

  Status CatchUp(uint64_t limit, const ReadVisitor& visit) override {
    auto c = RespConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    std::string last = "0-0";
    const std::string count = std::to_string(kCatchUpPage);
    uint64_t seen = 0;
    while (seen < limit) {
      auto r = (*c)->Command({"XREAD", "COUNT", count, "STREAMS", "all", last});
      if (!r.ok()) return r.status();
      if (r->type != RespValue::Type::kArray || r->elements.empty()) break;
      const RespValue& entries = r->elements[0].elements.at(1);
      if (entries.elements.empty()) break;
      last = VisitEntries(entries, visit, &seen, limit);
    }
    if (seen < limit) return Status::NotFound("all ended after " + std::to_string(seen));
    return Status::Ok();
  }

  Result<DurabilityInfo> Durability() override {
    auto c = RespConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    std::string detail;
    std::string appendonly, appendfsync;
    for (const char* key : {"appendonly", "appendfsync"}) {
      auto r = (*c)->Command({"CONFIG", "GET", key});
      if (!r.ok()) return r.status();
      const std::string v = r->elements.size() == 2 ? r->elements[1].str : "?";
      detail += (detail.empty() ? "" : ", ") + std::string(key) + "=" + v;
      (std::string(key) == "appendonly" ? appendonly : appendfsync) = v;
    }
    auto info = (*c)->Command({"INFO", "server"});
    if (info.ok()) {
      size_t p = info->str.find("redis_version:");
      if (p != std::string::npos) {
        detail =
            "redis " + info->str.substr(p + 14, info->str.find('\r', p) - p - 14) + ", " + detail;
      }
    }
    const bool strict = appendonly == "yes" && appendfsync == "always";
    return DurabilityInfo{
        strict ? "AOF fdatasync per event-loop pass" : "WEAKER: AOF appendfsync " + appendfsync,
        detail, strict};
  }

  std::string Notes() const override {
    return "one connection per writer; append = one Lua script (XLEN check, XADD to `all` and "
           "to s:<stream>); ReadAll = XRANGE all; catch-up = XREAD COUNT " +
           std::to_string(kCatchUpPage);
  }

 private:
  TargetOptions o_;
  std::string payload_;
  std::string sha_;
};

}  // namespace

Result<std::unique_ptr<PeerTarget>> OpenRedis(const TargetOptions& o) {
  if (o.port == 0) return Status::InvalidArgument("redis needs --port");
  auto r = std::make_unique<Redis>(o);
  KIROKU_RETURN_IF_ERROR(r->LoadScript());
  return std::unique_ptr<PeerTarget>(std::move(r));
}

}  // namespace kiroku::bench::peers
