// One persistent subscription (consumer group): reads its source (a stream or filtered
// `$all`) from the store at its own pace, hands each event to one member according to the
// consumer strategy, tracks what is in flight, and takes acks and nacks.
//
// Guarantees:
// - At least once: an event leaves the group only when acked, skipped, or durably parked
//   in `$persistentsubscription-{source}::{group}-parked`. A member that leaves or times
//   out gives its in-flight events back; they are retried (retry count + 1) and parked once
//   they have been delivered 1 + max_retry_count times.
// - The checkpoint is the last event such that it and every event before it have left the
//   group; it is appended to `...-checkpoint` when min/max checkpoint counts and
//   checkpoint_after say so, and on Flush(). A restarted group resumes after it, so at most
//   the events finished since the last checkpoint are delivered again.
// - Per member, events are delivered in source order, except retries, which go first.
//
// Thread-safety: every public method may be called from any thread. Members are called
// (Deliver, Drop) without the group's lock held, and must not block.
// Ownership: held by ConsumerGroups through shared_ptr; store callbacks hold weak_ptrs.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiroku/store.h"
#include "subscriptions/catch_up_reader.h"
#include "subscriptions/group_settings.h"

namespace kiroku {

struct GroupMessage {
  RecordedEvent event;                // the event (the link's target when resolved)
  std::optional<RecordedEvent> link;  // the link record, for resolved links and replays
  int32_t retry_count = 0;
  // What the client acks: the link's id if there is a link, else the event's.
  const EventId& AckId() const { return link ? link->id : event.id; }
};
using GroupMessagePtr = std::shared_ptr<const GroupMessage>;

enum class NackAction : uint8_t { kUnknown, kPark, kRetry, kSkip, kStop };

// A connected consumer (the server's Read call). Called without the group lock.
class GroupMember {
 public:
  virtual ~GroupMember() = default;
  // Queue these for the consumer; must not block or call back into the group.
  virtual void Deliver(std::vector<GroupMessagePtr> messages) = 0;
  // The group no longer serves this member (deleted, updated, stopped, restart).
  virtual void Drop(const Status& why) = 0;
};

struct GroupMemberInfo {
  uint64_t id = 0;
  std::string from;
  std::string name;
  int32_t max_in_flight = 0;
  int32_t in_flight = 0;
  uint64_t total_items = 0;
};

struct GroupInfo {
  GroupKey key;
  GroupSettings settings;
  std::string status;  // "Live", "CatchingUp", "ReplayingParkedMessages"
  std::vector<GroupMemberInfo> members;
  uint64_t total_items = 0;        // deliveries, retries included
  int32_t average_per_second = 0;  // deliveries in the last full second
  uint64_t acked = 0;
  std::optional<uint64_t> last_checkpointed;  // revision or position of the checkpoint
  std::optional<uint64_t> last_known;         // revision or position of the last event read
  std::optional<uint64_t> last_finished;      // everything up to it left the group
  uint64_t read_buffer_count = 0;
  uint64_t retry_buffer_count = 0;
  uint64_t in_flight = 0;
  uint64_t parked = 0;
  // Age of the oldest event not yet finished, 0 when none waits.
  double oldest_pending_seconds = 0;
  std::string last_error;  // the last failed read of the source, if any
};

class ConsumerGroup : public std::enable_shared_from_this<ConsumerGroup> {
 public:
  using Clock = std::chrono::steady_clock;
  // `wake` asks the owner to call Pump() soon (after acks, joins, store callbacks).
  ConsumerGroup(Store* store, GroupKey key, GroupSettings settings, std::function<void()> wake);

  // Reads the checkpoint and the parked count. Call once before anything else.
  Status Load();

  // Adds a member that may hold up to `max_in_flight` unacknowledged events. Busy when the
  // group has max_subscriber_count members.
  Result<uint64_t> Join(std::shared_ptr<GroupMember> member, int32_t max_in_flight,
                        std::string from, std::string name);
  // Its in-flight events are retried. No Drop() is called.
  void Leave(uint64_t member_id);
  // Unknown ids (already finished, or from before a reset) are ignored.
  void Ack(uint64_t member_id, const std::vector<EventId>& ids);
  void Nack(uint64_t member_id, const std::vector<EventId>& ids, NackAction action,
            const std::string& reason);

  // Expires timed-out messages, reads ahead, dispatches, writes a due checkpoint. Returns
  // true if it made progress and should be called again without waiting; `caught_up` tells
  // whether the group waits for new events in the log.
  bool Pump(bool* caught_up);

  // Moves up to `stop_at` (all if nullopt) parked events back for delivery.
  Status ReplayParked(std::optional<int64_t> stop_at);
  // Restarts delivery at `start` (inclusive) and durably records that as the checkpoint;
  // in-flight and buffered events are forgotten (their late acks are ignored).
  Status Reset(GroupStart start);
  // Drops every member with `why` and stops delivering.
  void Shutdown(const Status& why);
  // Writes the checkpoint now if it moved (clean shutdown). Blocks until durable.
  Status Flush();

  GroupInfo Info() const;
  const GroupKey& key() const { return key_; }
  const GroupSettings& settings() const { return settings_; }
  Position seen_log_end() const;

 private:
  struct Pending {
    GroupMessagePtr msg;
    std::optional<uint64_t> seq;  // source revision/position; none for parked replays
  };
  struct Outstanding {
    Pending pending;
    uint64_t member = 0;
    Clock::time_point deadline;
  };
  struct Member {
    uint64_t id = 0;
    std::shared_ptr<GroupMember> sink;
    int32_t max_in_flight = 0;
    int32_t in_flight = 0;
    uint64_t total = 0;
    std::string from, name;
  };
  struct IdHash {
    size_t operator()(const EventId& id) const;
  };
  struct Unfinished {
    uint64_t seq;
    bool done;
    int64_t created_us;
  };
  using Deliveries =
      std::vector<std::pair<std::shared_ptr<GroupMember>, std::vector<GroupMessagePtr>>>;
  struct CheckpointWrite {
    uint64_t last;  // the last finished event; the group resumes after it
  };

  // All with mu_ held.
  Status OpenReader(GroupStart start);
  bool Fill();
  void Dispatch(Deliveries* out);
  Member* Choose(const GroupMessage& m);
  // Removes an in-flight event (end() = none), freeing its member's slot. Under mu_.
  std::optional<Pending> TakeOutstanding(
      std::unordered_map<EventId, Outstanding, IdHash>::iterator it);
  void Finish(const Pending& p);
  // Retry with count + 1, or park when the count is exhausted (appends to *parks).
  void RetryOrPark(Pending p, std::vector<Pending>* parks, const std::string& reason);
  void ExpireTimeouts(Clock::time_point now, std::vector<Pending>* parks);
  std::optional<CheckpointWrite> DueCheckpoint(Clock::time_point now);
  uint64_t NextAfter(uint64_t seq) const { return seq + 1; }

  // Without mu_.
  void StartParks(std::vector<Pending> parks, const std::string& reason);
  void StartCheckpoint(CheckpointWrite cp);
  static void Send(Deliveries& out);
  void FinishReplay();
  uint64_t Epoch() const;

  Store* const store_;
  const GroupKey key_;
  const GroupSettings settings_;
  const std::function<void()> wake_;

  mutable std::mutex mu_;
  std::unique_ptr<CatchUpReader> reader_;
  bool caught_up_ = false;
  bool shut_down_ = false;
  std::deque<Pending> buffer_;  // read from the source, not yet sent
  std::deque<Pending> retry_;   // to send before buffer_
  std::unordered_map<EventId, Outstanding, IdHash> outstanding_;
  std::deque<std::pair<Clock::time_point, EventId>> deadlines_;  // in send order
  std::deque<Unfinished> unfinished_;  // source events read and not finished, in order
  std::optional<uint64_t> last_done_;  // checkpoint candidate: everything up to it finished
  std::optional<uint64_t> last_known_;
  std::optional<uint64_t> checkpointed_;  // last_done_ as last written
  bool checkpoint_in_flight_ = false;
  uint64_t done_since_checkpoint_ = 0;
  Clock::time_point last_checkpoint_time_;
  std::vector<Member> members_;  // in join order
  uint64_t next_member_id_ = 1;
  size_t round_robin_ = 0;
  uint64_t parked_ = 0;
  uint64_t total_items_ = 0, acked_ = 0;
  uint64_t second_count_ = 0;
  int32_t last_second_rate_ = 0;
  Clock::time_point second_start_;
  uint64_t epoch_ = 0;  // bumped by Reset/Shutdown: late store callbacks are ignored
  std::string last_error_;
  // Replay of parked events: how many are still in the group, and the parked stream's new
  // truncate-before once they all left it.
  uint64_t replay_remaining_ = 0;
  bool replay_done_ = false;
  uint64_t replay_truncate_before_ = 0;
  uint64_t replay_count_ = 0;
};

}  // namespace kiroku
