// One system under test in the peer benchmark (kiroku embedded, kiroku over gRPC,
// PostgreSQL, NATS JetStream, Redis) behind one interface, so every workload runs the same
// logical operations on each: appends to a stream with that system's own optimistic
// concurrency check, a read of the first N events in global order through its read API,
// and a catch-up subscription from the beginning through its subscription mechanism.
//
// Ownership and threads: a PeerTarget is created once per process and outlives everything
// it hands out. NewWriter may be called from any thread; each PeerWriter is used by one
// thread. ReadAll and CatchUp run on the calling thread and open their own connections.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "kiroku/status.h"

namespace kiroku::bench::peers {

// What a writer knows about one of its streams: the version of its last event (-1 while
// the stream has none) and, for a peer whose check is not a version (JetStream checks the
// stream sequence of the subject's last message), that peer's token for it.
struct StreamHead {
  int64_t version = -1;
  uint64_t token = 0;
};

class PeerWriter {
 public:
  virtual ~PeerWriter() = default;
  // Appends `count` events (type "LessonCompleted", the benchmark's JSON payload, a fresh
  // event id each) to `stream`, on condition that the stream's head is `expected`, and
  // returns the new head. WrongExpectedVersion when the peer rejects the condition.
  virtual Result<StreamHead> Append(const std::string& stream, const StreamHead& expected,
                                    int count) = 0;
};

// One event as a reader sees it; views valid during the visitor call only.
struct ReadEvent {
  uint64_t global = 0;  // the peer's global order key (position, sequence, id's ms part)
  std::string_view stream;
  std::string_view type;
  std::string_view data;
};
using ReadVisitor = std::function<void(const ReadEvent&)>;

// How a peer was configured to make an acknowledged append durable.
struct DurabilityInfo {
  std::string summary;            // short, for the table ("WAL fdatasync per commit")
  std::string detail;             // the settings as the server reports them
  bool fsync_before_ack = false;  // true: at least kiroku's guarantee (fdatasync before ack)
};

class PeerTarget {
 public:
  virtual ~PeerTarget() = default;
  virtual Result<std::unique_ptr<PeerWriter>> NewWriter() = 0;
  // Reads the first `limit` events in global order with the read API, `page` at a time.
  virtual Status ReadAll(uint64_t limit, uint64_t page, const ReadVisitor& visit) = 0;
  // Subscribes from the beginning and returns after `limit` events were delivered.
  virtual Status CatchUp(uint64_t limit, const ReadVisitor& visit) = 0;
  virtual Result<DurabilityInfo> Durability() = 0;
  // How this target implements each operation (printed under the table).
  virtual std::string Notes() const = 0;
};

// Settings from the command line; each target uses the ones it needs.
struct TargetOptions {
  std::string kind;        // kiroku-embedded | kiroku-grpc | postgres | nats | redis
  std::string kiroku_dir;  // kiroku-embedded: store directory
  std::string url;         // kiroku-grpc: esdb://...; postgres: postgresql://...
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // nats, redis
  int payload_bytes = 200;
  int connections = 4;            // kiroku-grpc: channels shared by the writers
  bool nats_sync_always = false;  // nats-server was started with sync_interval: always
};

Result<std::unique_ptr<PeerTarget>> OpenKirokuEmbedded(const TargetOptions& o);
Result<std::unique_ptr<PeerTarget>> OpenKirokuGrpc(const TargetOptions& o);
Result<std::unique_ptr<PeerTarget>> OpenPostgres(const TargetOptions& o);
Result<std::unique_ptr<PeerTarget>> OpenNats(const TargetOptions& o);
Result<std::unique_ptr<PeerTarget>> OpenRedis(const TargetOptions& o);

// A random version-4 UUID in its 36-character text form.
std::string RandomUuidText();

}  // namespace kiroku::bench::peers
