// NATS JetStream as a peer-benchmark target.
//
// Layout: one JetStream stream EVENTS (file storage, one replica) with subjects ev.>; an
// event stream "learner-42" is the subject ev.learner-42, and the global order is the
// JetStream stream sequence. Event type, id and version travel as message headers.
//
// Append = HPUB with `Nats-Expected-Last-Subject-Sequence: <stream sequence of the
// subject's last message>` (0 for a new subject) and a reply inbox for the publish ack;
// a stale sequence is rejected (error code 10071 -> WrongExpectedVersion). JetStream (2.9)
// has no multi-message atomic publish: a batch is its messages pipelined on one
// connection, the first carrying the check and the rest unchecked, then all acks awaited.
// It is neither atomic nor fully checked; the table says so.
// ReadAll = an ephemeral pull consumer (ack none) fetched `page` messages at a time;
// CatchUp = an ephemeral push consumer with flow control (what the clients' ordered
// consumer uses), from the first message.
#include <charconv>
#include <nlohmann/json.hpp>
#include <string>

#include "event_payload.h"
#include "nats_client.h"
#include "peer_target.h"

namespace kiroku::bench::peers {
namespace {

constexpr const char* kStream = "EVENTS";
constexpr uint64_t kWrongLastSequence = 10071;  // JetStream's err_code for a failed check
constexpr uint64_t kStreamNameInUse = 10058;

std::string SubjectOf(const std::string& stream) { return "ev." + stream; }

// An API error in a JetStream JSON response, or OK.
Status ApiError(const std::string& payload, const std::string& what, uint64_t* err_code) {
  if (payload.find("\"error\"") == std::string::npos) return Status::Ok();
  auto j = nlohmann::json::parse(payload, nullptr, false);
  std::string desc = payload;
  uint64_t code = 0;
  if (!j.is_discarded() && j.contains("error")) {
    desc = j["error"].value("description", payload);
    code = j["error"].value("err_code", uint64_t{0});
  }
  if (err_code != nullptr) *err_code = code;
  if (code == kWrongLastSequence) {
    return Status::WrongExpectedVersion(what + ": " + desc, std::nullopt);
  }
  return Status::IOError(what + ": " + desc + " (err_code " + std::to_string(code) + ")");
}

// The "seq" of a publish ack, without a JSON parser on the hot path.
Result<uint64_t> AckSequence(const std::string& payload) {
  KIROKU_RETURN_IF_ERROR(ApiError(payload, "publish", nullptr));
  size_t p = payload.find("\"seq\":");
  if (p == std::string::npos) return Status::IOError("publish ack without seq: " + payload);
  p += 6;
  uint64_t seq = 0;
  auto r = std::from_chars(payload.data() + p, payload.data() + payload.size(), seq);
  if (r.ec != std::errc()) return Status::IOError("bad publish ack: " + payload);
  return seq;
}

// Stream sequence from a JetStream delivery's reply subject:
// $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>
uint64_t StreamSeqOfReply(std::string_view reply) {
  size_t pos = 0;
  for (int dots = 0; dots < 5 && pos != std::string_view::npos; ++dots) {
    pos = reply.find('.', pos);
    if (pos != std::string_view::npos) ++pos;
  }
  if (pos == std::string_view::npos) return 0;
  uint64_t seq = 0;
  std::from_chars(reply.data() + pos, reply.data() + reply.size(), seq);
  return seq;
}

ReadEvent EventOf(const NatsMessage& m) {
  std::string_view subject = m.subject;
  if (subject.rfind("ev.", 0) == 0) subject.remove_prefix(3);
  return ReadEvent{StreamSeqOfReply(m.reply), subject, m.Header("Event-Type"), m.payload};
}

class NatsWriter : public PeerWriter {
 public:
  NatsWriter(std::unique_ptr<NatsConnection> c, const std::string& payload)
      : c_(std::move(c)), payload_(payload) {
    c_->Subscribe(c_->inbox() + "a.*", "acks");
  }

  Result<StreamHead> Append(const std::string& stream, const StreamHead& expected,
                            int count) override {
    const std::string subject = SubjectOf(stream);
    for (int i = 0; i < count; ++i) {
      std::string h = "NATS/1.0\r\n";
      if (i == 0) {
        h += "Nats-Expected-Last-Subject-Sequence: " + std::to_string(expected.token) + "\r\n";
      }
      h += "Event-Type: LessonCompleted\r\nEvent-Id: " + RandomUuidText() +
           "\r\nEvent-Version: " + std::to_string(expected.version + 1 + i) + "\r\n\r\n";
      c_->Publish(subject, c_->inbox() + "a." + std::to_string(i), h, payload_);
    }
    KIROKU_RETURN_IF_ERROR(c_->Flush());
    uint64_t last = 0;
    Status first_error;
    for (int got = 0; got < count;) {
      KIROKU_RETURN_IF_ERROR(c_->Next(&m_));
      if (m_.sid != "acks") continue;
      ++got;
      auto seq = AckSequence(m_.payload);
      if (!seq.ok()) {
        if (first_error.ok()) first_error = seq.status();
        continue;
      }
      last = std::max(last, *seq);
    }
    if (!first_error.ok()) return first_error;
    return StreamHead{expected.version + count, last};
  }

 private:
  std::unique_ptr<NatsConnection> c_;
  const std::string& payload_;
  NatsMessage m_;
};

class Nats : public PeerTarget {
 public:
  Nats(const TargetOptions& o) : o_(o), payload_(JsonPayload(o.payload_bytes)) {}

  Status CreateStream() {
    auto c = NatsConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    auto info = nlohmann::json::parse((*c)->server_info(), nullptr, false);
    if (!info.is_discarded()) version_ = info.value("version", "?");
    nlohmann::json cfg = {{"name", kStream},       {"subjects", {"ev.>"}}, {"storage", "file"},
                          {"retention", "limits"}, {"discard", "old"},     {"num_replicas", 1},
                          {"max_msgs", -1},        {"max_bytes", -1},      {"max_age", 0},
                          {"max_msg_size", -1},    {"max_consumers", -1}};
    auto r = (*c)->Request(std::string("$JS.API.STREAM.CREATE.") + kStream, cfg.dump());
    if (!r.ok()) return r.status();
    uint64_t code = 0;
    Status s = ApiError(r->payload, "create stream", &code);
    if (!s.ok() && code != kStreamNameInUse) return s;
    return Status::Ok();
  }

  Result<std::unique_ptr<PeerWriter>> NewWriter() override {
    auto c = NatsConnection::Connect(o_.host, o_.port);
    if (!c.ok()) return c.status();
    return std::unique_ptr<PeerWriter>(new NatsWriter(std::move(c).value(), payload_));
  }

  Status ReadAll(uint64_t limit, uint64_t page, const ReadVisitor& visit) override {
    auto cr = NatsConnection::Connect(o_.host, o_.port);
    if (!cr.ok()) return cr.status();
    NatsConnection& c = **cr;
    nlohmann::json cfg = {{"stream_name", kStream},
                          {"config",
                           {{"deliver_policy", "all"},
                            {"ack_policy", "none"},
                            {"replay_policy", "instant"},
                            {"inactive_threshold", 60'000'000'000LL},
                            {"mem_storage", true}}}};
    auto created = c.Request(std::string("$JS.API.CONSUMER.CREATE.") + kStream, cfg.dump());
    if (!created.ok()) return created.status();
    KIROKU_RETURN_IF_ERROR(ApiError(created->payload, "create pull consumer", nullptr));
    const std::string name =
        nlohmann::json::parse(created->payload, nullptr, false).value("name", "");
    if (name.empty()) return Status::IOError("create pull consumer: " + created->payload);
    const std::string pull_inbox = c.inbox() + "pull";
    c.Subscribe(pull_inbox, "pull");
    uint64_t seen = 0;
    NatsMessage m;
    while (seen < limit) {
      const uint64_t want = std::min(page, limit - seen);
      nlohmann::json next = {{"batch", want}, {"expires", 30'000'000'000LL}};
      c.Publish(std::string("$JS.API.CONSUMER.MSG.NEXT.") + kStream + "." + name, pull_inbox, {},
                next.dump());
      uint64_t got = 0;
      while (got < want) {
        KIROKU_RETURN_IF_ERROR(c.Next(&m));
        if (m.sid != "pull") continue;
        if (m.Status() != 0) {  // 404 no messages / 408 timeout: the stream has no more
          if (m.Status() == 100) continue;
          return Status::NotFound("pull consumer ended after " + std::to_string(seen + got) +
                                  " messages (status " + std::to_string(m.Status()) + ")");
        }
        visit(EventOf(m));
        ++got;
      }
      seen += got;
    }
    (void)c.Request(std::string("$JS.API.CONSUMER.DELETE.") + kStream + "." + name, "");
    return Status::Ok();
  }

  Status CatchUp(uint64_t limit, const ReadVisitor& visit) override {
    auto cr = NatsConnection::Connect(o_.host, o_.port);
    if (!cr.ok()) return cr.status();
    NatsConnection& c = **cr;
    const std::string deliver = c.inbox() + "push";
    c.Subscribe(deliver, "push");
    nlohmann::json cfg = {{"stream_name", kStream},
                          {"config",
                           {{"deliver_policy", "all"},
                            {"ack_policy", "none"},
                            {"replay_policy", "instant"},
                            {"deliver_subject", deliver},
                            {"flow_control", true},
                            {"idle_heartbeat", 5'000'000'000LL},
                            {"max_deliver", 1},
                            {"mem_storage", true}}}};
    auto created = c.Request(std::string("$JS.API.CONSUMER.CREATE.") + kStream, cfg.dump());
    if (!created.ok()) return created.status();
    KIROKU_RETURN_IF_ERROR(ApiError(created->payload, "create push consumer", nullptr));
    const std::string name =
        nlohmann::json::parse(created->payload, nullptr, false).value("name", "");
    uint64_t seen = 0;
    NatsMessage m;
    while (seen < limit) {
      KIROKU_RETURN_IF_ERROR(c.Next(&m));
      if (m.sid != "push") continue;
      if (m.Status() != 0) {
        // Flow control request or a heartbeat carrying a stalled-consumer reply: answer.
        std::string_view stalled = m.Header("Nats-Consumer-Stalled");
        if (!m.reply.empty()) c.Publish(m.reply, {}, {}, {});
        if (!stalled.empty()) c.Publish(stalled, {}, {}, {});
        continue;
      }
      visit(EventOf(m));
      ++seen;
    }
    c.Unsubscribe("push");
    if (!name.empty()) {
      (void)c.Request(std::string("$JS.API.CONSUMER.DELETE.") + kStream + "." + name, "");
    }
    return Status::Ok();
  }

  Result<DurabilityInfo> Durability() override {
    if (o_.nats_sync_always) {
      return DurabilityInfo{"fsync per write (sync_interval: always)",
                            "nats-server " + version_ +
                                ", JetStream file storage, "
                                "sync_interval: always",
                            true};
    }
    return DurabilityInfo{"WEAKER: ack before fsync",
                          "nats-server " + version_ +
                              ", JetStream file storage; this version has no sync_interval "
                              "option: a publish is acknowledged without an fsync (strace saw "
                              "none during 150,000 publishes; docs/benchmarks-peers.md)",
                          false};
  }

  std::string Notes() const override {
    return "one stream EVENTS, subject ev.<stream>; append = HPUB with "
           "Nats-Expected-Last-Subject-Sequence, one connection per writer; batch = pipelined "
           "messages, first one checked (not atomic); ReadAll = pull consumer; catch-up = push "
           "consumer with flow control";
  }

 private:
  TargetOptions o_;
  std::string payload_;
  std::string version_ = "?";
};

}  // namespace

Result<std::unique_ptr<PeerTarget>> OpenNats(const TargetOptions& o) {
  if (o.port == 0) return Status::InvalidArgument("nats needs --port");
  auto n = std::make_unique<Nats>(o);
  KIROKU_RETURN_IF_ERROR(n->CreateStream());
  return std::unique_ptr<PeerTarget>(std::move(n));
}

}  // namespace kiroku::bench::peers
