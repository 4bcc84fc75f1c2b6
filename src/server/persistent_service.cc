#include "server/persistent_service.h"

#include <deque>
#include <mutex>

#include "server/grpc_convert.h"

// The Node client sends the deprecated fields (stream_identifier, settings.revision,
// named_consumer_strategy); reading them is the point.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace kiroku::server {
namespace {

constexpr uint64_t kEndRevision = UINT64_MAX;

std::string PositionText(uint64_t p) {
  return "C:" + std::to_string(p) + "/P:" + std::to_string(p);
}

// Group errors with the trailers the official clients turn into typed errors.
grpc::Status GroupStatus(const Status& s, grpc::ServerContextBase* ctx, const GroupKey& key) {
  auto names = [&] {
    ctx->AddTrailingMetadata("stream-name", key.Source());
    ctx->AddTrailingMetadata("group-name", key.group);
  };
  switch (s.code()) {
    case StatusCode::kOk:
      return grpc::Status::OK;
    case StatusCode::kNotFound:
      ctx->AddTrailingMetadata("exception", "persistent-subscription-does-not-exist");
      names();
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "Subscription group '" + key.group +
                                                           "' on stream '" + key.Source() +
                                                           "' does not exist.");
    case StatusCode::kAlreadyExists:
      ctx->AddTrailingMetadata("exception", "persistent-subscription-exists");
      names();
      return grpc::Status(
          grpc::StatusCode::ALREADY_EXISTS,
          "Subscription group '" + key.group + "' on stream '" + key.Source() + "' exists.");
    case StatusCode::kBusy:
      ctx->AddTrailingMetadata("exception", "maximum-subscribers-reached");
      names();
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, s.message());
    case StatusCode::kClosed:
      ctx->AddTrailingMetadata("exception", "persistent-subscription-dropped");
      names();
      return grpc::Status(grpc::StatusCode::CANCELLED, s.message());
    default:
      return ToGrpcStatus(s, ctx, key.Source(), ExpectedRevision::Any(), 0);
  }
}

grpc::ServerUnaryReactor* Done(grpc::CallbackServerContext* ctx, grpc::Status s) {
  auto* r = ctx->DefaultReactor();
  r->Finish(s);
  return r;
}

// Settings fields shared by CreateReq.Settings and UpdateReq.Settings.
template <typename S>
Status SettingsFromProto(const S& p, GroupSettings* out) {
  GroupSettings& s = *out;
  s.resolve_links = p.resolve_links();
  s.extra_statistics = p.extra_statistics();
  s.max_retry_count = p.max_retry_count();
  s.min_checkpoint_count = p.min_checkpoint_count();
  s.max_checkpoint_count = p.max_checkpoint_count();
  s.max_subscriber_count = p.max_subscriber_count();
  s.live_buffer_size = p.live_buffer_size();
  s.read_batch_size = p.read_batch_size();
  s.history_buffer_size = p.history_buffer_size();
  // Each duration is a oneof of milliseconds or 100 ns ticks; unset keeps the default.
  if (p.message_timeout_case() == S::kMessageTimeoutMs) {
    s.message_timeout = std::chrono::milliseconds(p.message_timeout_ms());
  } else if (p.message_timeout_case() == S::kMessageTimeoutTicks) {
    s.message_timeout = std::chrono::milliseconds(p.message_timeout_ticks() / 10000);
  }
  if (p.checkpoint_after_case() == S::kCheckpointAfterMs) {
    s.checkpoint_after = std::chrono::milliseconds(p.checkpoint_after_ms());
  } else if (p.checkpoint_after_case() == S::kCheckpointAfterTicks) {
    s.checkpoint_after = std::chrono::milliseconds(p.checkpoint_after_ticks() / 10000);
  }
  // The enum (DispatchToSingle = 0, RoundRobin = 1, Pinned = 2) is deprecated in favour of
  // CreateReq's consumer_strategy string, but the Node client sends only the enum.
  switch (static_cast<int>(p.named_consumer_strategy())) {
    case 0:
      s.strategy = ConsumerStrategy::kDispatchToSingle;
      break;
    case 2:
      s.strategy = ConsumerStrategy::kPinned;
      break;
    default:
      s.strategy = ConsumerStrategy::kRoundRobin;
      break;
  }
  return Status::Ok();
}

GroupStart RevisionStart(uint64_t r) {
  if (r == kEndRevision) return GroupStart{GroupStart::Kind::kEnd, 0};
  if (r == 0) return GroupStart{GroupStart::Kind::kStart, 0};
  return GroupStart{GroupStart::Kind::kAt, r};
}

// The source and start of a Create or Update; both carry the same shapes.
template <typename Options>
Status KeyAndStart(const Options& o, GroupKey* key, GroupSettings* s) {
  key->group = o.group_name();
  using O = Options;
  if (o.stream_option_case() == O::kAll) {
    key->all = true;
    const auto& a = o.all();
    switch (a.all_option_case()) {
      case std::remove_reference_t<decltype(a)>::kPosition:
        s->start = GroupStart{GroupStart::Kind::kAt, a.position().commit_position()};
        break;
      case std::remove_reference_t<decltype(a)>::kEnd:
        s->start = GroupStart{GroupStart::Kind::kEnd, 0};
        break;
      default:
        s->start = GroupStart{GroupStart::Kind::kStart, 0};
        break;
    }
    return Status::Ok();
  }
  if (o.stream_option_case() == O::kStream) {
    const auto& st = o.stream();
    key->stream = st.stream_identifier().stream_name();
    using SO = std::remove_reference_t<decltype(st)>;
    switch (st.revision_option_case()) {
      case SO::kRevision:
        s->start = RevisionStart(st.revision());
        break;
      case SO::kEnd:
        s->start = GroupStart{GroupStart::Kind::kEnd, 0};
        break;
      default:
        s->start = GroupStart{GroupStart::Kind::kStart, 0};
        break;
    }
    return Status::Ok();
  }
  // The form the Node client sends: the deprecated stream_identifier with the start as
  // settings.revision.
  key->stream = o.stream_identifier().stream_name();
  s->start = RevisionStart(o.settings().revision());
  return Status::Ok();
}

Status FilterFromProto(const ppb::CreateReq::AllOptions& a, GroupSettings* s) {
  if (a.filter_option_case() != ppb::CreateReq::AllOptions::kFilter) return Status::Ok();
  const auto& f = a.filter();
  const ppb::CreateReq::AllOptions::FilterOptions::Expression* e = nullptr;
  if (f.filter_case() == ppb::CreateReq::AllOptions::FilterOptions::kStreamIdentifier) {
    s->filter.target = EventFilter::Target::kStreamName;
    e = &f.stream_identifier();
  } else if (f.filter_case() == ppb::CreateReq::AllOptions::FilterOptions::kEventType) {
    s->filter.target = EventFilter::Target::kEventType;
    e = &f.event_type();
  } else {
    return Status::Ok();
  }
  s->filter.prefixes.assign(e->prefix().begin(), e->prefix().end());
  s->filter.regex = e->regex();
  if (s->filter.prefixes.empty() && s->filter.regex.empty()) {
    return Status::InvalidArgument("a filter needs a regex or prefixes");
  }
  if (!s->filter.prefixes.empty() && !s->filter.regex.empty()) {
    return Status::InvalidArgument("a filter takes a regex or prefixes, not both");
  }
  if (f.window_case() == ppb::CreateReq::AllOptions::FilterOptions::kMax) {
    s->filter_window = f.max();
  }
  s->checkpoint_interval_multiplier = std::max<uint32_t>(1, f.checkpointintervalmultiplier());
  return Status::Ok();
}

template <typename Options>
GroupKey KeyOf(const Options& o, bool all) {
  GroupKey k;
  k.all = all;
  if (!all) k.stream = o.stream_identifier().stream_name();
  k.group = o.group_name();
  return k;
}

std::string StartText(const GroupKey& key, const GroupStart& s) {
  if (key.all) {
    switch (s.kind) {
      case GroupStart::Kind::kStart:
        return "C:0/P:0";
      case GroupStart::Kind::kEnd:
        return "C:-1/P:-1";
      case GroupStart::Kind::kAt:
        return PositionText(s.at);
    }
  }
  switch (s.kind) {
    case GroupStart::Kind::kStart:
      return "0";
    case GroupStart::Kind::kEnd:
      return "-1";
    case GroupStart::Kind::kAt:
      return std::to_string(s.at);
  }
  return "0";
}

// ---- Read: one member of a group ----

class PersistentReadReactor;

// What the group holds: a handle that outlives the reactor (OnDone clears it).
class MemberSink final : public GroupMember {
 public:
  void Deliver(std::vector<GroupMessagePtr> messages) override;
  void Drop(const Status& why) override;
  std::mutex mu;
  PersistentReadReactor* reactor = nullptr;  // guarded by mu
};

class PersistentReadReactor final : public grpc::ServerBidiReactor<ppb::ReadReq, ppb::ReadResp> {
 public:
  PersistentReadReactor(const ServerDeps& deps, grpc::CallbackServerContext* ctx)
      : deps_(deps), ctx_(ctx), sink_(std::make_shared<MemberSink>()) {
    sink_->reactor = this;
    deps_.metrics->group_members++;
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed or went away: it can no longer ack, so the member leaves
      // and its in-flight events go to the others.
      LeaveGroup();
      std::lock_guard lock(mu_);
      FinishOnce(joined_ ? grpc::Status::OK : grpc::Status::CANCELLED);
      return;
    }
    if (!joined_) {
      Join();
      return;
    }
    switch (req_.content_case()) {
      case ppb::ReadReq::kAck: {
        auto ids = Ids(req_.ack().ids());
        group_->Ack(member_id_, ids);
        deps_.metrics->group_acks += ids.size();
        break;
      }
      case ppb::ReadReq::kNack: {
        auto ids = Ids(req_.nack().ids());
        NackAction a = NackAction::kUnknown;
        switch (req_.nack().action()) {
          case ppb::ReadReq::Nack::Park:
            a = NackAction::kPark;
            break;
          case ppb::ReadReq::Nack::Retry:
            a = NackAction::kRetry;
            break;
          case ppb::ReadReq::Nack::Skip:
            a = NackAction::kSkip;
            break;
          case ppb::ReadReq::Nack::Stop:
            a = NackAction::kStop;
            break;
          default:
            break;
        }
        group_->Nack(member_id_, ids, a, req_.nack().reason());
        deps_.metrics->group_nacks += ids.size();
        break;
      }
      case ppb::ReadReq::kStop:
        // Leave the pool; in-flight events are handed to the others.
        LeaveGroup();
        break;
      default:
        break;
    }
    StartRead(&req_);
  }

  void Deliver(std::vector<GroupMessagePtr> messages) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    for (auto& m : messages) queue_.push_back(std::move(m));
    deps_.metrics->group_events_delivered += messages.size();
    Step();
  }

  void Drop(const Status& why) {
    {
      std::lock_guard lock(mu_);
      left_ = true;  // the group already let this member go
      FinishOnce(GroupStatus(why, ctx_, key_));
    }
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    Step();
  }

  void OnCancel() override { LeaveGroup(); }

  void OnDone() override {
    {
      std::lock_guard lock(sink_->mu);
      sink_->reactor = nullptr;
    }
    LeaveGroup();
    deps_.metrics->group_members--;
    delete this;
  }

 private:
  static std::vector<EventId> Ids(
      const google::protobuf::RepeatedPtrField<::event_store::client::UUID>& in) {
    std::vector<EventId> out;
    out.reserve(static_cast<size_t>(in.size()));
    for (const auto& u : in) {
      if (auto id = FromProtoUuid(u)) out.push_back(*id);
    }
    return out;
  }

  void Join() {
    if (req_.content_case() != ppb::ReadReq::kOptions) {
      std::lock_guard lock(mu_);
      FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                              "the first message of a persistent subscription must be options"));
      return;
    }
    const auto& o = req_.options();
    key_.all = o.stream_option_case() == ppb::ReadReq::Options::kAll;
    if (!key_.all) key_.stream = o.stream_identifier().stream_name();
    key_.group = o.group_name();
    structured_uuid_ =
        o.uuid_option().content_case() == ppb::ReadReq::Options::UUIDOption::kStructured;
    auto group = deps_.groups->Find(key_);
    if (!group.ok()) {
      std::lock_guard lock(mu_);
      FinishOnce(GroupStatus(group.status(), ctx_, key_));
      return;
    }
    group_ = *group;
    {
      // The confirmation goes out before any event can be delivered.
      std::lock_guard lock(mu_);
      ppb::ReadResp confirm;
      confirm.mutable_subscription_confirmation()->set_subscription_id(key_.Id());
      pending_confirmation_ = std::move(confirm);
      has_confirmation_ = true;
    }
    auto id = group_->Join(sink_, std::max(1, o.buffer_size()), ctx_->peer(), "");
    if (!id.ok()) {
      std::lock_guard lock(mu_);
      FinishOnce(GroupStatus(id.status(), ctx_, key_));
      return;
    }
    {
      std::lock_guard lock(mu_);
      member_id_ = *id;
      joined_ = true;
      Step();
    }
    StartRead(&req_);
  }

  void LeaveGroup() {
    std::shared_ptr<ConsumerGroup> g;
    uint64_t id;
    {
      std::lock_guard lock(mu_);
      if (!joined_ || left_) return;
      left_ = true;
      g = group_;
      id = member_id_;
    }
    g->Leave(id);
  }

  // With mu_ held: write the next message if none is in flight.
  void Step() {
    if (writing_ || finished_) return;
    if (has_confirmation_) {
      has_confirmation_ = false;
      out_ = std::move(pending_confirmation_);
    } else if (!queue_.empty()) {
      const GroupMessage& m = *queue_.front();
      out_.Clear();
      auto* ev = out_.mutable_event();
      ToProtoRecorded(m.event, structured_uuid_, ev->mutable_event());
      if (m.link) ToProtoRecorded(*m.link, structured_uuid_, ev->mutable_link());
      ev->set_commit_position(m.link ? m.link->position.value : m.event.position.value);
      ev->set_retry_count(m.retry_count);
      queue_.pop_front();
    } else {
      return;
    }
    writing_ = true;
    // More queued: let the transport gather them into fewer frames and syscalls; the last
    // of a burst goes unhinted and flushes them all.
    grpc::WriteOptions wo;
    if (!queue_.empty() && out_.ByteSizeLong() < kMaxHintedWrite) wo.set_buffer_hint();
    StartWrite(&out_, wo);
  }

  void FinishOnce(grpc::Status s) {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    Finish(s);
  }

  friend class MemberSink;
  ServerDeps deps_;
  grpc::CallbackServerContext* ctx_;
  std::shared_ptr<MemberSink> sink_;
  ppb::ReadReq req_;
  GroupKey key_;
  bool structured_uuid_ = false;
  std::shared_ptr<ConsumerGroup> group_;
  uint64_t member_id_ = 0;
  std::recursive_mutex mu_;
  bool joined_ = false, left_ = false, writing_ = false, finished_ = false;
  bool has_confirmation_ = false;
  ppb::ReadResp pending_confirmation_;
  ppb::ReadResp out_;
  std::deque<GroupMessagePtr> queue_;
};

void MemberSink::Deliver(std::vector<GroupMessagePtr> messages) {
  std::lock_guard lock(mu);
  if (reactor) reactor->Deliver(std::move(messages));
}

void MemberSink::Drop(const Status& why) {
  std::lock_guard lock(mu);
  if (reactor) reactor->Drop(why);
}

}  // namespace

void ToProtoInfo(const GroupInfo& info, ppb::SubscriptionInfo* out) {
  const GroupSettings& s = info.settings;
  auto at = [&](uint64_t v) { return info.key.all ? PositionText(v) : std::to_string(v); };
  out->set_event_source(info.key.Source());
  out->set_group_name(info.key.group);
  out->set_status(info.status);
  uint64_t in_flight = 0;
  for (const auto& m : info.members) {
    auto* c = out->add_connections();
    c->set_from(m.from);
    c->set_username("");
    c->set_total_items(static_cast<int64_t>(m.total_items));
    c->set_available_slots(std::max(0, m.max_in_flight - m.in_flight));
    c->set_in_flight_messages(m.in_flight);
    c->set_connection_name(m.name);
    in_flight += static_cast<uint64_t>(m.in_flight);
  }
  out->set_average_per_second(info.average_per_second);
  out->set_total_items(static_cast<int64_t>(info.total_items));
  out->set_count_since_last_measurement(0);
  out->set_last_checkpointed_event_position(info.last_checkpointed ? at(*info.last_checkpointed)
                                                                   : "");
  out->set_last_known_event_position(info.last_known ? at(*info.last_known) : "");
  out->set_resolve_link_tos(s.resolve_links);
  out->set_start_from(StartText(info.key, s.start));
  out->set_message_timeout_milliseconds(static_cast<int32_t>(s.message_timeout.count()));
  out->set_extra_statistics(s.extra_statistics);
  out->set_max_retry_count(s.max_retry_count);
  out->set_live_buffer_size(s.live_buffer_size);
  out->set_buffer_size(s.history_buffer_size);
  out->set_read_batch_size(s.read_batch_size);
  out->set_check_point_after_milliseconds(static_cast<int32_t>(s.checkpoint_after.count()));
  out->set_min_check_point_count(s.min_checkpoint_count);
  out->set_max_check_point_count(s.max_checkpoint_count);
  out->set_read_buffer_count(static_cast<int32_t>(info.read_buffer_count));
  out->set_live_buffer_count(static_cast<int64_t>(info.read_buffer_count));
  out->set_retry_buffer_count(static_cast<int32_t>(info.retry_buffer_count));
  out->set_total_in_flight_messages(static_cast<int32_t>(info.in_flight));
  out->set_outstanding_messages_count(static_cast<int32_t>(info.in_flight));
  out->set_named_consumer_strategy(ConsumerStrategyName(s.strategy));
  out->set_max_subscriber_count(s.max_subscriber_count);
  out->set_parked_message_count(static_cast<int64_t>(info.parked));
}

grpc::ServerUnaryReactor* PersistentService::Create(grpc::CallbackServerContext* ctx,
                                                    const ppb::CreateReq* req, ppb::CreateResp*) {
  const auto& o = req->options();
  GroupKey key;
  GroupSettings s;
  Status st = SettingsFromProto(o.settings(), &s);
  if (st.ok() && !o.settings().consumer_strategy().empty()) {
    auto named = ParseConsumerStrategy(o.settings().consumer_strategy());
    if (!named) {
      st = Status::InvalidArgument("consumer strategy '" + o.settings().consumer_strategy() +
                                   "' is not supported (RoundRobin, DispatchToSingle, Pinned)");
    } else {
      s.strategy = *named;
    }
  }
  if (st.ok()) st = KeyAndStart(o, &key, &s);
  if (st.ok() && key.all) st = FilterFromProto(o.all(), &s);
  if (st.ok()) st = deps_.groups->Create(key, s);
  return Done(ctx, GroupStatus(st, ctx, key));
}

grpc::ServerUnaryReactor* PersistentService::Update(grpc::CallbackServerContext* ctx,
                                                    const ppb::UpdateReq* req, ppb::UpdateResp*) {
  const auto& o = req->options();
  GroupKey key;
  GroupSettings s;
  Status st = SettingsFromProto(o.settings(), &s);
  if (st.ok()) st = KeyAndStart(o, &key, &s);
  if (st.ok()) st = deps_.groups->Update(key, s);
  return Done(ctx, GroupStatus(st, ctx, key));
}

grpc::ServerUnaryReactor* PersistentService::Delete(grpc::CallbackServerContext* ctx,
                                                    const ppb::DeleteReq* req, ppb::DeleteResp*) {
  const auto& o = req->options();
  GroupKey key = KeyOf(o, o.stream_option_case() == ppb::DeleteReq::Options::kAll);
  return Done(ctx, GroupStatus(deps_.groups->Delete(key), ctx, key));
}

grpc::ServerBidiReactor<ppb::ReadReq, ppb::ReadResp>* PersistentService::Read(
    grpc::CallbackServerContext* ctx) {
  return new PersistentReadReactor(deps_, ctx);
}

grpc::ServerUnaryReactor* PersistentService::GetInfo(grpc::CallbackServerContext* ctx,
                                                     const ppb::GetInfoReq* req,
                                                     ppb::GetInfoResp* resp) {
  const auto& o = req->options();
  GroupKey key = KeyOf(o, o.stream_option_case() == ppb::GetInfoReq::Options::kAll);
  auto group = deps_.groups->Find(key);
  if (!group.ok()) return Done(ctx, GroupStatus(group.status(), ctx, key));
  ToProtoInfo((*group)->Info(), resp->mutable_subscription_info());
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PersistentService::ReplayParked(grpc::CallbackServerContext* ctx,
                                                          const ppb::ReplayParkedReq* req,
                                                          ppb::ReplayParkedResp*) {
  const auto& o = req->options();
  GroupKey key = KeyOf(o, o.stream_option_case() == ppb::ReplayParkedReq::Options::kAll);
  auto group = deps_.groups->Find(key);
  if (!group.ok()) return Done(ctx, GroupStatus(group.status(), ctx, key));
  std::optional<int64_t> stop_at;
  if (o.stop_at_option_case() == ppb::ReplayParkedReq::Options::kStopAt) stop_at = o.stop_at();
  return Done(ctx, GroupStatus((*group)->ReplayParked(stop_at), ctx, key));
}

grpc::ServerUnaryReactor* PersistentService::List(grpc::CallbackServerContext* ctx,
                                                  const ppb::ListReq* req, ppb::ListResp* resp) {
  const auto& o = req->options();
  std::optional<GroupKey> only;  // the source asked for, group name unused
  if (o.list_option_case() == ppb::ListReq::Options::kListForStream) {
    GroupKey k;
    k.all = o.list_for_stream().stream_option_case() == ppb::ListReq::StreamOption::kAll;
    if (!k.all) k.stream = o.list_for_stream().stream().stream_name();
    only = k;
  }
  for (const auto& info : deps_.groups->List()) {
    if (only && (info.key.all != only->all || info.key.stream != only->stream)) continue;
    ToProtoInfo(info, resp->add_subscriptions());
  }
  if (only && resp->subscriptions_size() == 0) {
    // As KurrentDB: a source without groups is "not found".
    return Done(ctx, GroupStatus(Status::NotFound("no groups"), ctx, *only));
  }
  return Done(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* PersistentService::RestartSubsystem(grpc::CallbackServerContext* ctx,
                                                              const ::event_store::client::Empty*,
                                                              ::event_store::client::Empty*) {
  Status s = deps_.groups->Restart();
  return Done(ctx,
              s.ok() ? grpc::Status::OK : ToGrpcStatus(s, ctx, "", ExpectedRevision::Any(), 0));
}

grpc::ServerUnaryReactor* GroupAdminService::Reset(grpc::CallbackServerContext* ctx,
                                                   const ::kiroku::v1::ResetGroupReq* req,
                                                   ::kiroku::v1::ResetGroupResp* resp) {
  using R = ::kiroku::v1::ResetGroupReq;
  GroupKey key;
  key.group = req->group_name();
  key.all = req->source_case() == R::kAll;
  if (!key.all) key.stream = req->stream();
  GroupStart start;
  Status st;
  switch (req->target_case()) {
    case R::kEnd:
      start = GroupStart{GroupStart::Kind::kEnd, 0};
      break;
    case R::kRevision:
      if (key.all)
        st = Status::InvalidArgument("a $all group resets to a position, not a revision");
      start = GroupStart{GroupStart::Kind::kAt, req->revision()};
      break;
    case R::kPosition:
      if (!key.all)
        st = Status::InvalidArgument("a stream group resets to a revision, not a position");
      start = GroupStart{GroupStart::Kind::kAt, req->position()};
      break;
    case R::kTimeUnixMs: {
      auto found = deps_.groups->StartAtTime(key, req->time_unix_ms() * 1000);
      if (found.ok()) {
        start = *found;
      } else {
        st = found.status();
      }
      break;
    }
    default:
      start = GroupStart{GroupStart::Kind::kStart, 0};
      break;
  }
  if (st.ok()) st = deps_.groups->Reset(key, start);
  if (st.ok()) {
    resp->set_resumes_at(start.kind == GroupStart::Kind::kStart ? "start"
                         : start.kind == GroupStart::Kind::kEnd
                             ? "end"
                             : (key.all ? "position " : "revision ") + std::to_string(start.at));
  }
  return Done(ctx, GroupStatus(st, ctx, key));
}

}  // namespace kiroku::server
