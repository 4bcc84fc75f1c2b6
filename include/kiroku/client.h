// A C++ client for a kiroku (or KurrentDB) server over the KurrentDB gRPC client protocol.
// Same value types as the embedded store (event.h, store.h), so code can move between
// embedded and remote. Connection strings as the official clients: esdb://host:2113?tls=false.
//
// Thread-safety: one RemoteClient may be used from many threads at once (gRPC channels
// multiplex). Each call has the connection string's defaultDeadline unless it streams.
// TLS: tls=true (the default) with tlsCAFile for a private CA; tls=false for plain text.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiroku/event.h"
#include "kiroku/event_store.h"
#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku {

// The EventStore interface (event_store.h) over a server; SubscribeRequest and
// SubscriptionMessage live there too. Appends, reads and deletes are retried on transient
// errors (server unavailable, broken stream) up to the connection string's maxRetries with
// exponential backoff from retryBackoff (ms), jittered; appends keep their event ids across
// retries so a retried append that had in fact succeeded is recognised as idempotent.
// Snapshots go over kiroku's own gRPC service kiroku.v1.Snapshots
// (proto/kiroku_snapshots.proto); a plain KurrentDB server does not offer it (Unimplemented
// -> IOError).
// Consumer groups (persistent subscriptions; docs/consumer_groups.md), a server feature.
struct GroupTarget {
  bool all = false;    // the `$all` group `group`
  std::string stream;  // else the group on this stream
  std::string group;
};

// One delivery to a group member.
struct GroupEvent {
  RecordedEvent event;                // the event (a link's target when resolved)
  std::optional<RecordedEvent> link;  // the link, for resolved links and parked replays
  int32_t retry_count = 0;
  // What to ack or nack: the link's id if there is one, else the event's.
  const EventId& AckId() const { return link ? link->id : event.id; }
};

enum class GroupNack : uint8_t { kPark, kRetry, kSkip, kStop };

// Given to the handler of SubscribeToGroup; valid during the subscription. Acks and nacks
// are sent on the subscription's stream, in order.
class GroupAcks {
 public:
  virtual ~GroupAcks() = default;
  virtual Status Ack(const std::vector<EventId>& ids) = 0;
  virtual Status Nack(const std::vector<EventId>& ids, GroupNack action,
                      const std::string& reason) = 0;
};

class RemoteClient : public EventStore {
 public:
  // Parses the connection string and creates the channel (it connects lazily).
  static Result<std::unique_ptr<RemoteClient>> Connect(const std::string& connection_string);
  ~RemoteClient() override = default;

  // Creates a RoundRobin group with KurrentDB's default settings, starting at the source's
  // first event (from_start) or at its end. AlreadyExists if it exists.
  virtual Status CreateGroup(const GroupTarget& target, bool from_start) = 0;
  // NotFound if it does not exist.
  virtual Status DeleteGroup(const GroupTarget& target) = 0;
  // Joins the group as one member holding at most `buffer_size` unacknowledged events, and
  // runs on the calling thread until the handler returns false, `stop` becomes true, or the
  // server drops the member (NotFound: no such group; Busy: max subscribers reached;
  // Closed: dropped). Unacked events go back to the group when it returns.
  virtual Status SubscribeToGroup(const GroupTarget& target, int32_t buffer_size,
                                  const std::function<bool(const GroupEvent&, GroupAcks&)>& handler,
                                  const std::atomic<bool>* stop = nullptr) = 0;
};

}  // namespace kiroku
