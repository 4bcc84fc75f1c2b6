#include "subscriptions/consumer_groups.h"

#include <nlohmann/json.hpp>

namespace kiroku {
namespace {

Status NoSuchGroup(const GroupKey& key) {
  return Status::NotFound("subscription group " + key.group + " on " + key.Source() +
                          " does not exist");
}

constexpr const char* kConfigType = "$PersistentConfig";
constexpr int kConfigVersion = 1;

Status ValidateKey(const GroupKey& key) {
  if (key.group.empty()) return Status::InvalidArgument("group name must not be empty");
  if (!key.all && key.stream.empty())
    return Status::InvalidArgument("stream name must not be empty");
  if (!key.all && key.stream == "$all") {
    return Status::InvalidArgument("use the $all form, not a stream named $all");
  }
  return Status::Ok();
}

}  // namespace

ConsumerGroups::ConsumerGroups(Store* store, LiveHub* hub) : store_(store), hub_(hub) {}

ConsumerGroups::~ConsumerGroups() { Stop(); }

void ConsumerGroups::Notify() {
  {
    std::lock_guard lock(wake_->mu);
    wake_->woken = true;
  }
  wake_->cv.notify_one();
}

std::shared_ptr<ConsumerGroup> ConsumerGroups::MakeGroup(const GroupKey& key,
                                                         const GroupSettings& s) {
  std::weak_ptr<Wake> weak = wake_;
  return std::make_shared<ConsumerGroup>(store_, key, s, [weak] {
    if (auto w = weak.lock()) {
      {
        std::lock_guard lock(w->mu);
        w->woken = true;
      }
      w->cv.notify_one();
    }
  });
}

Status ConsumerGroups::Start() {
  std::lock_guard admin(admin_mu_);
  ReadStreamOptions o;
  o.direction = Direction::kBackwards;
  o.from = StreamRevision::End();
  o.max_count = 1;
  auto last = store_->ReadStream(kConfigStream, o);
  if (last.ok() && !last->empty()) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(last->front().data);
    } catch (const std::exception& e) {
      return Status::Corruption(std::string("unreadable ") + kConfigStream + ": " + e.what());
    }
    for (const auto& g : j.value("groups", nlohmann::json::array())) {
      auto parsed = GroupFromJson(g.dump());
      if (!parsed.ok()) return parsed.status();
      auto group = MakeGroup(parsed->first, parsed->second);
      KIROKU_RETURN_IF_ERROR(group->Load());
      std::lock_guard lock(mu_);
      groups_[parsed->first] = std::move(group);
    }
  } else if (!last.ok() && last.status().code() != StatusCode::kStreamNotFound) {
    return last.status();
  }
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void ConsumerGroups::Stop() {
  {
    std::lock_guard lock(wake_->mu);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_->cv.notify_one();
  if (thread_.joinable()) thread_.join();
  for (auto& g : Snapshot()) {
    (void)g->Flush();  // best effort: a failure means at most a checkpoint window again
    g->Shutdown(Status::Closed("the server is shutting down"));
  }
}

Status ConsumerGroups::Persist() {
  nlohmann::json j;
  j["version"] = kConfigVersion;
  j["groups"] = nlohmann::json::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, g] : groups_) {
      j["groups"].push_back(nlohmann::json::parse(GroupToJson(key, g->settings())));
    }
  }
  auto md = store_->GetStreamMetadata(kConfigStream);
  if (md.ok() && !md->metadata.max_count) {
    StreamMetadata m = md->metadata;
    m.max_count = 10;
    KIROKU_RETURN_IF_ERROR(
        store_->SetStreamMetadata(kConfigStream, ExpectedRevision::Any(), m).status());
  }
  EventData e;
  e.id = EventId::Random();
  e.type = kConfigType;
  e.data = j.dump();
  return store_->Append(kConfigStream, ExpectedRevision::Any(), {e}).status();
}

Status ConsumerGroups::Create(const GroupKey& key, const GroupSettings& settings) {
  KIROKU_RETURN_IF_ERROR(ValidateKey(key));
  KIROKU_RETURN_IF_ERROR(settings.Validate());
  if (!key.all && settings.filter.target != EventFilter::Target::kNone) {
    return Status::InvalidArgument("a filter applies to $all groups only");
  }
  std::lock_guard admin(admin_mu_);
  {
    std::lock_guard lock(mu_);
    if (groups_.count(key)) {
      return Status::AlreadyExists("subscription group " + key.group + " on " + key.Source() +
                                   " exists");
    }
  }
  auto group = MakeGroup(key, settings);
  // A group created again after a delete starts fresh, as KurrentDB's does.
  KIROKU_RETURN_IF_ERROR(group->Load());
  {
    std::lock_guard lock(mu_);
    groups_[key] = group;
  }
  Status s = Persist();
  if (!s.ok()) {
    std::lock_guard lock(mu_);
    groups_.erase(key);
    return s;
  }
  Notify();
  return Status::Ok();
}

Status ConsumerGroups::Update(const GroupKey& key, const GroupSettings& settings) {
  KIROKU_RETURN_IF_ERROR(ValidateKey(key));
  KIROKU_RETURN_IF_ERROR(settings.Validate());
  std::lock_guard admin(admin_mu_);
  KIROKU_ASSIGN_OR_RETURN(std::shared_ptr<ConsumerGroup> old, Find(key));
  GroupSettings merged = settings;
  if (key.all && settings.filter.target == EventFilter::Target::kNone) {
    merged.filter = old->settings().filter;  // Update carries no filter: keep the group's
    merged.filter_window = old->settings().filter_window;
    merged.checkpoint_interval_multiplier = old->settings().checkpoint_interval_multiplier;
  }
  KIROKU_RETURN_IF_ERROR(old->Flush());
  old->Shutdown(Status::Closed("the subscription group was updated"));
  auto group = MakeGroup(key, merged);
  KIROKU_RETURN_IF_ERROR(group->Load());
  {
    std::lock_guard lock(mu_);
    groups_[key] = group;
  }
  Notify();
  return Persist();
}

Status ConsumerGroups::Delete(const GroupKey& key) {
  KIROKU_RETURN_IF_ERROR(ValidateKey(key));
  std::lock_guard admin(admin_mu_);
  std::shared_ptr<ConsumerGroup> old;
  {
    std::lock_guard lock(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end()) return NoSuchGroup(key);
    old = it->second;
    groups_.erase(it);
  }
  old->Shutdown(Status::NotFound("the subscription group was deleted"));
  KIROKU_RETURN_IF_ERROR(Persist());
  for (const auto& s : {key.CheckpointStream(), key.ParkedStream()}) {
    auto r = store_->Delete(s, ExpectedRevision::Any());
    if (!r.ok() && r.status().code() != StatusCode::kStreamNotFound) return r.status();
  }
  return Status::Ok();
}

Result<std::shared_ptr<ConsumerGroup>> ConsumerGroups::Find(const GroupKey& key) const {
  std::lock_guard lock(mu_);
  auto it = groups_.find(key);
  if (it == groups_.end()) return NoSuchGroup(key);
  return it->second;
}

std::vector<GroupInfo> ConsumerGroups::List() const {
  std::vector<GroupInfo> out;
  for (const auto& g : Snapshot()) out.push_back(g->Info());
  return out;
}

Status ConsumerGroups::Restart() {
  std::lock_guard admin(admin_mu_);
  std::map<GroupKey, std::shared_ptr<ConsumerGroup>> old;
  {
    std::lock_guard lock(mu_);
    old = groups_;
  }
  for (auto& [key, g] : old) {
    (void)g->Flush();
    g->Shutdown(Status::Closed("the persistent subscription subsystem restarted"));
    auto fresh = MakeGroup(key, g->settings());
    KIROKU_RETURN_IF_ERROR(fresh->Load());
    std::lock_guard lock(mu_);
    groups_[key] = std::move(fresh);
  }
  Notify();
  return Status::Ok();
}

Status ConsumerGroups::Reset(const GroupKey& key, GroupStart start) {
  KIROKU_ASSIGN_OR_RETURN(auto group, Find(key));
  return group->Reset(start);
}

Result<GroupStart> ConsumerGroups::StartAtTime(const GroupKey& key, int64_t unix_us) {
  KIROKU_ASSIGN_OR_RETURN(auto group, Find(key));
  if (key.all) {
    std::optional<uint64_t> found;
    ReadAllOptions o;
    auto r = store_->ScanAll(o, [&](const EventView& e) {
      if (e.created_us >= unix_us) {
        found = e.position.value;
        return false;
      }
      return true;
    });
    if (!r.ok()) return r.status();
    if (!found) return GroupStart{GroupStart::Kind::kEnd, 0};
    return GroupStart{GroupStart::Kind::kAt, *found};
  }
  ReadStreamOptions o;
  o.max_count = 1024;
  while (true) {
    auto r = store_->ReadStream(key.stream, o);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kStreamNotFound) {
        return GroupStart{GroupStart::Kind::kEnd, 0};
      }
      return r.status();
    }
    for (const auto& e : *r) {
      if (e.created_us >= unix_us) return GroupStart{GroupStart::Kind::kAt, e.revision.value};
    }
    if (r->size() < o.max_count) return GroupStart{GroupStart::Kind::kEnd, 0};
    o.from = StreamRevision(r->back().revision.value + 1);
  }
}

ConsumerGroups::Lag ConsumerGroups::LagOf(const GroupInfo& info) {
  Lag lag;
  std::optional<int64_t> oldest_created_us;
  if (info.key.all) {
    ReadAllOptions o;
    o.from = Position(info.last_finished ? *info.last_finished + 1 : 0);
    o.filter = info.settings.filter;
    auto r = store_->ScanAll(o, [&](const EventView& e) {
      if (!oldest_created_us) oldest_created_us = e.created_us;
      if (++lag.events >= kLagScanLimit) {
        lag.events_capped = true;
        return false;
      }
      return true;
    });
    (void)r;  // a failed count reads as "no lag known"
  } else {
    auto head = store_->StreamHead(info.key.stream);
    if (head.ok() && *head) {
      const uint64_t next = info.last_finished ? *info.last_finished + 1 : 0;
      if ((*head)->value + 1 > next) {
        lag.events = (*head)->value + 1 - next;
        ReadStreamOptions o;
        o.from = StreamRevision(next);
        o.max_count = 1;
        auto first = store_->ReadStream(info.key.stream, o);
        if (first.ok() && !first->empty()) oldest_created_us = first->front().created_us;
      }
    }
  }
  if (oldest_created_us) {
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    lag.seconds = std::max<double>(0, static_cast<double>(now_us - *oldest_created_us) / 1e6);
  }
  return lag;
}

std::vector<std::shared_ptr<ConsumerGroup>> ConsumerGroups::Snapshot() const {
  std::lock_guard lock(mu_);
  std::vector<std::shared_ptr<ConsumerGroup>> out;
  for (const auto& [_, g] : groups_) out.push_back(g);
  return out;
}

void ConsumerGroups::Run() {
  while (true) {
    {
      std::lock_guard lock(wake_->mu);
      if (stopping_) return;
      wake_->woken = false;
    }
    bool again = false;
    std::optional<Position> wait_end;  // the lowest log end a caught-up group has seen
    for (auto& g : Snapshot()) {
      bool caught_up = false;
      again |= g->Pump(&caught_up);
      if (caught_up) {
        Position seen = g->seen_log_end();
        if (!wait_end || seen < *wait_end) wait_end = seen;
      }
    }
    if (again) continue;
    if (wait_end) {
      bool park = false;
      {
        std::lock_guard lock(wake_->mu);
        if (!wake_->hub_parked) park = wake_->hub_parked = true;
      }
      if (park) {
        std::weak_ptr<Wake> weak = wake_;
        bool parked = hub_->Park(*wait_end, [weak](bool) {
          if (auto w = weak.lock()) {
            {
              std::lock_guard lock(w->mu);
              w->hub_parked = false;
              w->woken = true;
            }
            w->cv.notify_one();
          }
        });
        if (!parked) {
          std::lock_guard lock(wake_->mu);
          wake_->hub_parked = false;
          continue;  // the log already moved: read again now
        }
      }
    }
    std::unique_lock lock(wake_->mu);
    wake_->cv.wait_for(lock, std::chrono::milliseconds(100),
                       [&] { return wake_->woken || stopping_; });
  }
}

}  // namespace kiroku
