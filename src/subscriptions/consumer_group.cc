#include "subscriptions/consumer_group.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "subscriptions/links.h"

namespace kiroku {
namespace {

constexpr const char* kCheckpointType = "$SubscriptionCheckpoint";
// A filtered `$all` group examines at most this many records per read when its filter
// window is not set, so a selective filter cannot stall the pump.
constexpr uint64_t kDefaultScanWindow = 4096;

// The checkpoint record: where a restarted group resumes.
std::string CheckpointJson(const GroupStart& resume, std::optional<uint64_t> last) {
  nlohmann::json j;
  j["kind"] = resume.kind == GroupStart::Kind::kStart ? "start" : last ? "after" : "at";
  j["at"] = last ? *last : resume.at;
  return j.dump();
}

std::vector<EventData> CheckpointEvent(std::string json) {
  EventData e;
  e.id = EventId::Random();
  e.type = kCheckpointType;
  e.data = std::move(json);
  return {std::move(e)};
}

}  // namespace

size_t ConsumerGroup::IdHash::operator()(const EventId& id) const {
  uint64_t a = 0, b = 0;
  std::memcpy(&a, id.bytes().data(), 8);
  std::memcpy(&b, id.bytes().data() + 8, 8);
  return static_cast<size_t>(a * 0x9E3779B97F4A7C15ull ^ b);
}

ConsumerGroup::ConsumerGroup(Store* store, GroupKey key, GroupSettings settings,
                             std::function<void()> wake)
    : store_(store), key_(std::move(key)), settings_(std::move(settings)), wake_(std::move(wake)) {
  last_checkpoint_time_ = second_start_ = Clock::now();
}

Status ConsumerGroup::Load() {
  // The parked count: events in the parked stream after its truncate-before.
  auto head = store_->StreamHead(key_.ParkedStream());
  if (head.ok() && *head) {
    uint64_t tb = 0;
    auto md = store_->GetStreamMetadata(key_.ParkedStream());
    if (md.ok() && md->metadata.truncate_before) tb = md->metadata.truncate_before->value;
    parked_ = (*head)->value + 1 > tb ? (*head)->value + 1 - tb : 0;
  }
  // Only the last checkpoint matters.
  auto md = store_->GetStreamMetadata(key_.CheckpointStream());
  if (md.ok() && !md->metadata.max_count) {
    StreamMetadata m = md->metadata;
    m.max_count = 1;
    KIROKU_RETURN_IF_ERROR(
        store_->SetStreamMetadata(key_.CheckpointStream(), ExpectedRevision::Any(), m).status());
  }
  ReadStreamOptions o;
  o.direction = Direction::kBackwards;
  o.from = StreamRevision::End();
  o.max_count = 1;
  auto cp = store_->ReadStream(key_.CheckpointStream(), o);
  std::lock_guard lock(mu_);
  if (cp.ok() && !cp->empty()) {
    try {
      auto j = nlohmann::json::parse(cp->front().data);
      std::string kind = j.at("kind").get<std::string>();
      uint64_t at = j.at("at").get<uint64_t>();
      if (kind == "after") {
        last_done_ = checkpointed_ = at;
        return OpenReader(GroupStart{GroupStart::Kind::kAt, at});  // see OpenReader
      }
      return OpenReader(
          GroupStart{kind == "start" ? GroupStart::Kind::kStart : GroupStart::Kind::kAt, at});
    } catch (const std::exception& e) {
      return Status::Corruption("consumer group " + key_.Id() +
                                ": unreadable checkpoint: " + e.what());
    }
  }
  KIROKU_RETURN_IF_ERROR(OpenReader(settings_.start));
  return Status::Ok();
}

// With last_done_ set, the reader resumes after it; otherwise it starts at `start`
// (inclusive). kEnd is resolved here, once, and recorded as the checkpoint so that a
// restart before the first checkpoint does not skip what was appended meanwhile.
Status ConsumerGroup::OpenReader(GroupStart start) {
  SubscriptionSource src;
  src.all = key_.all;
  src.stream = key_.stream;
  src.filter = settings_.filter;
  std::optional<std::string> record;
  if (last_done_) {
    src.start = SubscriptionSource::Start::kAfter;
    src.from_position = Position(*last_done_);
    src.from_revision = StreamRevision(*last_done_);
  } else {
    if (start.kind == GroupStart::Kind::kEnd) {
      if (key_.all) {
        start = GroupStart{GroupStart::Kind::kAt, store_->LogEnd().value};
      } else {
        auto head = store_->StreamHead(key_.stream);
        uint64_t next = head.ok() && *head ? (*head)->value + 1 : 0;
        start = GroupStart{GroupStart::Kind::kAt, next};
      }
      record = CheckpointJson(start, std::nullopt);
    }
    if (start.kind == GroupStart::Kind::kStart) {
      src.start = SubscriptionSource::Start::kBeginning;
    } else {
      src.start = SubscriptionSource::Start::kAt;
      src.from_position = Position(start.at);
      src.from_revision = StreamRevision(start.at);
    }
  }
  reader_ = std::make_unique<CatchUpReader>(store_, src);
  caught_up_ = false;
  if (record) {
    KIROKU_RETURN_IF_ERROR(
        store_->Append(key_.CheckpointStream(), ExpectedRevision::Any(), CheckpointEvent(*record))
            .status());
  }
  return Status::Ok();
}

Result<uint64_t> ConsumerGroup::Join(std::shared_ptr<GroupMember> member, int32_t max_in_flight,
                                     std::string from, std::string name) {
  uint64_t id;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) return Status::Closed("consumer group " + key_.Id() + " is stopping");
    if (settings_.max_subscriber_count > 0 &&
        members_.size() >= static_cast<size_t>(settings_.max_subscriber_count)) {
      return Status::Busy("maximum subscriber count of " +
                          std::to_string(settings_.max_subscriber_count) + " reached for " +
                          key_.Id());
    }
    Member m;
    m.id = id = next_member_id_++;
    m.sink = std::move(member);
    m.max_in_flight = std::max(1, max_in_flight);
    m.from = std::move(from);
    m.name = std::move(name);
    members_.push_back(std::move(m));
  }
  wake_();
  return id;
}

void ConsumerGroup::Leave(uint64_t member_id) {
  std::vector<Pending> parks;
  {
    std::lock_guard lock(mu_);
    auto it = std::find_if(members_.begin(), members_.end(),
                           [&](const Member& m) { return m.id == member_id; });
    if (it == members_.end()) return;
    members_.erase(it);
    // Give its events back, oldest first, ahead of what is already waiting for a retry.
    std::vector<Pending> lost;
    for (auto o = outstanding_.begin(); o != outstanding_.end();) {
      if (o->second.member == member_id) {
        lost.push_back(std::move(o->second.pending));
        o = outstanding_.erase(o);
      } else {
        ++o;
      }
    }
    std::sort(lost.begin(), lost.end(), [](const Pending& a, const Pending& b) {
      return a.seq.value_or(UINT64_MAX) < b.seq.value_or(UINT64_MAX);
    });
    for (auto& p : lost) RetryOrPark(std::move(p), &parks, "member left");
  }
  StartParks(std::move(parks), "member left");
  wake_();
}

std::optional<ConsumerGroup::Pending> ConsumerGroup::TakeOutstanding(
    std::unordered_map<EventId, Outstanding, IdHash>::iterator it) {
  if (it == outstanding_.end()) return std::nullopt;
  for (auto& m : members_) {
    if (m.id == it->second.member) --m.in_flight;
  }
  Pending p = std::move(it->second.pending);
  outstanding_.erase(it);
  return p;
}

void ConsumerGroup::Ack(uint64_t, const std::vector<EventId>& ids) {
  {
    std::lock_guard lock(mu_);
    for (const auto& id : ids) {
      std::optional<Pending> p = TakeOutstanding(outstanding_.find(id));
      if (!p) continue;
      ++acked_;
      Finish(*p);
    }
  }
  wake_();
}

void ConsumerGroup::Nack(uint64_t member_id, const std::vector<EventId>& ids, NackAction action,
                         const std::string& reason) {
  std::vector<Pending> parks;
  std::shared_ptr<GroupMember> stop_member;
  {
    std::lock_guard lock(mu_);
    for (const auto& id : ids) {
      std::optional<Pending> taken = TakeOutstanding(outstanding_.find(id));
      if (!taken) continue;
      Pending p = std::move(*taken);
      switch (action) {
        case NackAction::kPark:
          parks.push_back(std::move(p));
          break;
        case NackAction::kSkip:
          Finish(p);
          break;
        case NackAction::kStop:
          // The event goes back as it was; the member that asked to stop is let go below.
          retry_.push_front(std::move(p));
          break;
        case NackAction::kUnknown:
        case NackAction::kRetry:
          RetryOrPark(std::move(p), &parks, reason);
          break;
      }
    }
    if (action == NackAction::kStop) {
      for (auto& m : members_) {
        if (m.id == member_id) stop_member = m.sink;
      }
    }
  }
  StartParks(std::move(parks), reason.empty() ? "parked by client" : reason);
  if (stop_member) {
    Leave(member_id);
    stop_member->Drop(Status::Closed("stopped by the member's nack: " + reason));
  }
  wake_();
}

void ConsumerGroup::Finish(const Pending& p) {
  if (!p.seq) {
    if (replay_remaining_ > 0 && --replay_remaining_ == 0) replay_done_ = true;
    return;
  }
  ++done_since_checkpoint_;
  auto it = std::lower_bound(unfinished_.begin(), unfinished_.end(), *p.seq,
                             [](const Unfinished& u, uint64_t s) { return u.seq < s; });
  if (it == unfinished_.end() || it->seq != *p.seq) return;  // from before a reset
  it->done = true;
  while (!unfinished_.empty() && unfinished_.front().done) {
    last_done_ = unfinished_.front().seq;
    unfinished_.pop_front();
  }
}

void ConsumerGroup::RetryOrPark(Pending p, std::vector<Pending>* parks, const std::string&) {
  if (p.msg->retry_count >= settings_.max_retry_count) {
    parks->push_back(std::move(p));
    return;
  }
  auto again = std::make_shared<GroupMessage>(*p.msg);
  again->retry_count++;
  p.msg = std::move(again);
  retry_.push_back(std::move(p));
}

void ConsumerGroup::StartParks(std::vector<Pending> parks, const std::string& reason) {
  for (auto& p : parks) {
    const RecordedEvent& e = p.msg->event;
    EventData link;
    link.id = EventId::Random();
    link.type = kLinkEventType;
    link.content_type = ContentType::kBinary;
    link.data = LinkData(e);
    nlohmann::json md;
    md["reason"] = reason;
    md["retry_count"] = p.msg->retry_count;
    link.metadata = md.dump();
    std::weak_ptr<ConsumerGroup> weak = weak_from_this();
    const uint64_t epoch = Epoch();
    store_->AppendAsync(key_.ParkedStream(), ExpectedRevision::Any(), {std::move(link)},
                        [weak, p, epoch](Result<AppendResult> r) {
                          auto self = weak.lock();
                          if (!self) return;
                          {
                            std::lock_guard lock(self->mu_);
                            if (epoch == self->epoch_) {
                              if (r.ok()) {
                                ++self->parked_;
                                self->Finish(p);
                              } else {
                                // Not parked: keep it, try again later.
                                self->retry_.push_back(p);
                              }
                            }
                          }
                          self->wake_();
                        });
  }
}

void ConsumerGroup::ExpireTimeouts(Clock::time_point now, std::vector<Pending>* parks) {
  // Entries of events already finished are dropped as they reach the front, expired or
  // not, so the queue stays about as long as what is in flight.
  while (!deadlines_.empty()) {
    auto [deadline, id] = deadlines_.front();
    auto it = outstanding_.find(id);
    const bool stale = it == outstanding_.end() || it->second.deadline != deadline;
    if (!stale && deadline > now) break;
    deadlines_.pop_front();
    if (stale) continue;
    RetryOrPark(std::move(*TakeOutstanding(it)), parks, "message timeout");
  }
}

bool ConsumerGroup::Fill() {
  if (!reader_) return false;
  const size_t cap =
      static_cast<size_t>(caught_up_ ? settings_.live_buffer_size : settings_.history_buffer_size);
  if (buffer_.size() >= cap) return false;
  const size_t want =
      std::min<size_t>(static_cast<size_t>(settings_.read_batch_size), cap - buffer_.size());
  const bool filtered = key_.all && settings_.filter.target != EventFilter::Target::kNone;
  const uint64_t window = settings_.filter_window ? settings_.filter_window : kDefaultScanWindow;
  auto batch = reader_->Next(want, filtered ? std::max<uint64_t>(window, want) : 0);
  if (!batch.ok()) {
    last_error_ = batch.status().ToString();
    caught_up_ = true;  // wait for the log to move, then try again
    return false;
  }
  for (auto& e : batch->events) {
    // A `$all` group does not deliver its own checkpoints: each would be acked and cause the
    // next checkpoint, a trickle that never ends.
    if (key_.all && e.stream == key_.CheckpointStream()) continue;
    auto msg = std::make_shared<GroupMessage>();
    if (settings_.resolve_links && e.type == kLinkEventType) {
      if (auto target = ResolveLink(store_, e.data)) {
        msg->event = std::move(*target);
        msg->link = e;
      }
    }
    const uint64_t seq = key_.all ? e.position.value : e.revision.value;
    const int64_t created = e.created_us;
    if (!msg->link) msg->event = std::move(e);
    unfinished_.push_back(Unfinished{seq, false, created});
    last_known_ = seq;
    buffer_.push_back(Pending{std::move(msg), seq});
  }
  caught_up_ = batch->caught_up;
  return !batch->events.empty() || !batch->caught_up;
}

ConsumerGroup::Member* ConsumerGroup::Choose(const GroupMessage& m) {
  const size_t n = members_.size();
  if (n == 0) return nullptr;
  auto free = [](const Member& x) { return x.in_flight < x.max_in_flight; };
  switch (settings_.strategy) {
    case ConsumerStrategy::kRoundRobin:
      for (size_t i = 0; i < n; ++i) {
        size_t idx = (round_robin_ + i) % n;
        if (free(members_[idx])) {
          round_robin_ = idx + 1;
          return &members_[idx];
        }
      }
      return nullptr;
    case ConsumerStrategy::kDispatchToSingle:
      for (auto& x : members_) {
        if (free(x)) return &x;
      }
      return nullptr;
    case ConsumerStrategy::kPinned: {
      // The stream decides the member, so one stream's events stay on one member (in order)
      // while membership is unchanged. A full member holds the queue: order over balance.
      Member& x = members_[std::hash<std::string>{}(m.event.stream) % n];
      return free(x) ? &x : nullptr;
    }
  }
  return nullptr;
}

void ConsumerGroup::Dispatch(Deliveries* out) {
  const auto now = Clock::now();
  const bool timeouts = settings_.message_timeout.count() > 0;
  std::vector<std::pair<uint64_t, size_t>> slot;  // member id -> index in *out
  while (true) {
    std::deque<Pending>* q = !retry_.empty() ? &retry_ : !buffer_.empty() ? &buffer_ : nullptr;
    if (!q) break;
    const GroupMessage& m = *q->front().msg;
    if (outstanding_.count(m.AckId())) break;  // the same id in flight: wait for it
    Member* member = Choose(m);
    if (!member) break;
    Pending p = std::move(q->front());
    q->pop_front();
    const EventId id = p.msg->AckId();
    const auto deadline = timeouts ? now + settings_.message_timeout : Clock::time_point::max();
    if (timeouts) deadlines_.emplace_back(deadline, id);
    GroupMessagePtr msg = p.msg;
    outstanding_.emplace(id, Outstanding{std::move(p), member->id, deadline});
    member->in_flight++;
    member->total++;
    total_items_++;
    second_count_++;
    auto s = std::find_if(slot.begin(), slot.end(),
                          [&](const auto& x) { return x.first == member->id; });
    if (s == slot.end()) {
      slot.emplace_back(member->id, out->size());
      out->emplace_back(member->sink, std::vector<GroupMessagePtr>{});
      s = slot.end() - 1;
    }
    (*out)[s->second].second.push_back(std::move(msg));
  }
}

std::optional<ConsumerGroup::CheckpointWrite> ConsumerGroup::DueCheckpoint(Clock::time_point now) {
  if (!last_done_ || checkpoint_in_flight_ || last_done_ == checkpointed_) return std::nullopt;
  const auto n = done_since_checkpoint_;
  const bool due = n >= static_cast<uint64_t>(settings_.max_checkpoint_count) ||
                   (n >= static_cast<uint64_t>(settings_.min_checkpoint_count) &&
                    now - last_checkpoint_time_ >= settings_.checkpoint_after);
  if (!due) return std::nullopt;
  checkpoint_in_flight_ = true;
  done_since_checkpoint_ = 0;
  last_checkpoint_time_ = now;
  return CheckpointWrite{*last_done_};
}

uint64_t ConsumerGroup::Epoch() const {
  std::lock_guard lock(mu_);
  return epoch_;
}

void ConsumerGroup::StartCheckpoint(CheckpointWrite cp) {
  std::weak_ptr<ConsumerGroup> weak = weak_from_this();
  const uint64_t epoch = Epoch();
  store_->AppendAsync(key_.CheckpointStream(), ExpectedRevision::Any(),
                      CheckpointEvent(CheckpointJson(GroupStart{}, cp.last)),
                      [weak, cp, epoch](Result<AppendResult> r) {
                        auto self = weak.lock();
                        if (!self) return;
                        std::lock_guard lock(self->mu_);
                        self->checkpoint_in_flight_ = false;
                        if (r.ok() && epoch == self->epoch_ &&
                            (!self->checkpointed_ || *self->checkpointed_ < cp.last)) {
                          self->checkpointed_ = cp.last;
                        }
                      });
}

void ConsumerGroup::FinishReplay() {
  // Every replayed parked event left the group again (acked, skipped or parked anew): cut
  // them from the parked stream. A crash before this replays them once more.
  uint64_t tb, count;
  {
    std::lock_guard lock(mu_);
    if (!replay_done_) return;
    replay_done_ = false;
    tb = replay_truncate_before_;
    count = replay_count_;
  }
  auto md = store_->GetStreamMetadata(key_.ParkedStream());
  StreamMetadata m = md.ok() ? md->metadata : StreamMetadata{};
  m.truncate_before = StreamRevision(tb);
  auto r = store_->SetStreamMetadata(key_.ParkedStream(), ExpectedRevision::Any(), m);
  std::lock_guard lock(mu_);
  if (r.ok()) parked_ = parked_ > count ? parked_ - count : 0;
}

void ConsumerGroup::Send(Deliveries& out) {
  for (auto& [sink, msgs] : out) sink->Deliver(std::move(msgs));
}

bool ConsumerGroup::Pump(bool* caught_up) {
  Deliveries out;
  std::vector<Pending> parks;
  std::optional<CheckpointWrite> cp;
  bool progress = false;
  {
    std::lock_guard lock(mu_);
    if (shut_down_) {
      *caught_up = true;
      return false;
    }
    const auto now = Clock::now();
    ExpireTimeouts(now, &parks);
    progress |= Fill();
    Dispatch(&out);
    progress |= !out.empty();
    cp = DueCheckpoint(now);
    if (now - second_start_ >= std::chrono::seconds(1)) {
      const double secs = std::chrono::duration<double>(now - second_start_).count();
      last_second_rate_ = static_cast<int32_t>(static_cast<double>(second_count_) / secs);
      second_count_ = 0;
      second_start_ = now;
    }
    *caught_up = caught_up_;
  }
  StartParks(std::move(parks), "message timeout");
  if (cp) StartCheckpoint(*cp);
  Send(out);
  FinishReplay();
  return progress;
}

Status ConsumerGroup::ReplayParked(std::optional<int64_t> stop_at) {
  if (stop_at && *stop_at < 0) return Status::InvalidArgument("stop at must not be negative");
  {
    std::lock_guard lock(mu_);
    if (replay_remaining_ > 0) {
      return Status::Busy("a replay of parked events of " + key_.Id() + " is in progress");
    }
  }
  ReadStreamOptions o;
  if (stop_at) o.max_count = static_cast<uint64_t>(*stop_at);
  auto links = store_->ReadStream(key_.ParkedStream(), o);
  if (!links.ok()) {
    if (links.status().code() == StatusCode::kStreamNotFound) return Status::Ok();  // none
    return links.status();
  }
  if (links->empty()) return Status::Ok();
  std::vector<Pending> replay;
  for (auto& link : *links) {
    auto e = ResolveLink(store_, link.data);
    if (!e) continue;  // malformed, or the event is gone (deleted, truncated): nothing to replay
    auto msg = std::make_shared<GroupMessage>();
    msg->event = std::move(*e);
    msg->link = link;
    replay.push_back(Pending{std::move(msg), std::nullopt});
  }
  {
    std::lock_guard lock(mu_);
    replay_truncate_before_ = links->back().revision.value + 1;
    replay_count_ = links->size();
    replay_remaining_ = replay.size();
    if (replay.empty()) replay_done_ = true;
    for (auto& p : replay) retry_.push_back(std::move(p));
  }
  FinishReplay();
  wake_();
  return Status::Ok();
}

Status ConsumerGroup::Reset(GroupStart start) {
  std::string record;
  {
    std::lock_guard lock(mu_);
    ++epoch_;
    buffer_.clear();
    retry_.clear();
    outstanding_.clear();
    deadlines_.clear();
    unfinished_.clear();
    for (auto& m : members_) m.in_flight = 0;
    replay_remaining_ = 0;
    replay_done_ = false;
    last_done_.reset();
    checkpointed_.reset();
    done_since_checkpoint_ = 0;
    if (start.kind == GroupStart::Kind::kEnd) {
      KIROKU_RETURN_IF_ERROR(OpenReader(start));  // resolves and records the end
      wake_();
      return Status::Ok();
    }
    KIROKU_RETURN_IF_ERROR(OpenReader(start));
    record = CheckpointJson(start, std::nullopt);
  }
  KIROKU_RETURN_IF_ERROR(
      store_->Append(key_.CheckpointStream(), ExpectedRevision::Any(), CheckpointEvent(record))
          .status());
  wake_();
  return Status::Ok();
}

void ConsumerGroup::Shutdown(const Status& why) {
  std::vector<std::shared_ptr<GroupMember>> sinks;
  {
    std::lock_guard lock(mu_);
    shut_down_ = true;
    ++epoch_;
    for (auto& m : members_) sinks.push_back(m.sink);
    members_.clear();
  }
  for (auto& s : sinks) s->Drop(why);
}

Status ConsumerGroup::Flush() {
  std::optional<uint64_t> last;
  {
    std::lock_guard lock(mu_);
    if (!last_done_ || last_done_ == checkpointed_) return Status::Ok();
    last = last_done_;
  }
  KIROKU_RETURN_IF_ERROR(store_
                             ->Append(key_.CheckpointStream(), ExpectedRevision::Any(),
                                      CheckpointEvent(CheckpointJson(GroupStart{}, last)))
                             .status());
  std::lock_guard lock(mu_);
  checkpointed_ = last;
  return Status::Ok();
}

Position ConsumerGroup::seen_log_end() const {
  std::lock_guard lock(mu_);
  return reader_ ? reader_->seen_log_end() : Position();
}

GroupInfo ConsumerGroup::Info() const {
  std::lock_guard lock(mu_);
  GroupInfo info;
  info.key = key_;
  info.settings = settings_;
  info.status = replay_remaining_ > 0           ? "ReplayingParkedMessages"
                : caught_up_ && buffer_.empty() ? "Live"
                                                : "CatchingUp";
  for (const auto& m : members_) {
    info.members.push_back(
        GroupMemberInfo{m.id, m.from, m.name, m.max_in_flight, m.in_flight, m.total});
  }
  info.total_items = total_items_;
  info.average_per_second = last_second_rate_;
  info.acked = acked_;
  info.last_checkpointed = checkpointed_;
  info.last_known = last_known_;
  info.last_finished = last_done_;
  info.read_buffer_count = buffer_.size();
  info.retry_buffer_count = retry_.size();
  info.in_flight = outstanding_.size();
  info.parked = parked_;
  info.last_error = last_error_;
  if (!unfinished_.empty()) {
    const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    info.oldest_pending_seconds =
        std::max<double>(0, static_cast<double>(now_us - unfinished_.front().created_us) / 1e6);
  }
  return info;
}

}  // namespace kiroku
