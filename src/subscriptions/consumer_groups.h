// Every persistent subscription (consumer group) of a store: create, update, delete, list,
// reset, restart, and the one pump thread that drives them all.
//
// Groups' definitions are kept in the store itself, in the `$persistentSubscriptionConfig`
// stream (the latest event holds all of them; docs/format/consumer_groups.md), so they
// survive restarts and need no other file. Each group's checkpoint and parked events live
// in its own system streams (consumer_group.h).
//
// The pump thread calls ConsumerGroup::Pump() for every group whenever something happened
// (an ack, a join, a store callback), when the log grows past what a caught-up group has
// read (through the LiveHub), and every 100 ms for message timeouts and checkpoint timers.
//
// Thread-safety: all public methods are thread-safe; admin calls are serialised.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "kiroku/store.h"
#include "subscriptions/consumer_group.h"
#include "subscriptions/live_hub.h"

namespace kiroku {

class ConsumerGroups {
 public:
  static constexpr const char* kConfigStream = "$persistentSubscriptionConfig";

  // Borrows both; Stop() before destroying them.
  ConsumerGroups(Store* store, LiveHub* hub);
  ~ConsumerGroups();

  // Loads the groups and starts the pump thread.
  Status Start();
  // Writes every group's checkpoint, drops their members, stops the pump.
  void Stop();

  // AlreadyExists, InvalidArgument (settings, names).
  Status Create(const GroupKey& key, const GroupSettings& settings);
  // NotFound. Members are dropped and must reconnect; the checkpoint is kept.
  Status Update(const GroupKey& key, const GroupSettings& settings);
  // NotFound. Members are dropped; the group's checkpoint and parked streams are deleted.
  Status Delete(const GroupKey& key);
  Result<std::shared_ptr<ConsumerGroup>> Find(const GroupKey& key) const;
  // Every group, or those of one source (`source_all`, or `source_stream`).
  std::vector<GroupInfo> List() const;
  // Drops every member and reloads every group from its checkpoint.
  Status Restart();
  // Restart delivery at a point (kiroku's "reset offset"); see ConsumerGroup::Reset.
  Status Reset(const GroupKey& key, GroupStart start);
  // The first event of the group's source created at or after `unix_us`, as a start point
  // (the end if there is none). Scans the source from its start: O(events before it).
  Result<GroupStart> StartAtTime(const GroupKey& key, int64_t unix_us);

  // How far a group is behind its source: events not yet finished (appended but not
  // acked, skipped or parked), and the age of the oldest of them. `$all` groups count the
  // log records after their last finished event, up to kLagScanLimit.
  struct Lag {
    uint64_t events = 0;
    bool events_capped = false;
    double seconds = 0;
  };
  static constexpr uint64_t kLagScanLimit = 1'000'000;
  Lag LagOf(const GroupInfo& info);

 private:
  struct Wake {
    std::mutex mu;
    std::condition_variable cv;
    bool woken = false;
    bool hub_parked = false;
  };

  std::shared_ptr<ConsumerGroup> MakeGroup(const GroupKey& key, const GroupSettings& s);
  Status Persist();  // with admin_mu_ held
  void Notify();     // run the pump soon
  std::vector<std::shared_ptr<ConsumerGroup>> Snapshot() const;
  void Run();

  Store* const store_;
  LiveHub* const hub_;
  std::shared_ptr<Wake> wake_ = std::make_shared<Wake>();

  std::mutex admin_mu_;  // serialises Create/Update/Delete/Restart and config writes
  mutable std::mutex mu_;
  std::map<GroupKey, std::shared_ptr<ConsumerGroup>> groups_;  // guarded by mu_
  bool stopping_ = false;                                      // guarded by wake_->mu
  std::thread thread_;
};

}  // namespace kiroku
