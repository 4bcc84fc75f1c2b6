// kiroku group create|update|delete|list|info|reset|replay-parked
// Persistent subscriptions (consumer groups): against a server (--url, over the KurrentDB
// persistent-subscriptions API plus kiroku.v1.ConsumerGroups for reset) or, with the server
// stopped, straight on its data directory (--data).
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "client/connection_string.h"
#include "kiroku_groups.grpc.pb.h"
#include "persistent.grpc.pb.h"
#include "server/persistent_service.h"
#include "subscriptions/consumer_groups.h"

namespace kiroku::cli {
namespace {

namespace ppb = ::event_store::client::persistent_subscriptions;

struct GroupArgs {
  std::string url, data_dir, stream, group;
  bool all = false, json = false;
  // create / update
  std::string from = "end", strategy = "RoundRobin";
  int64_t message_timeout_ms = 30000, checkpoint_after_ms = 2000;
  int32_t max_retry = 10, live_buffer = 500, read_batch = 20, history_buffer = 500;
  int32_t min_checkpoint = 10, max_checkpoint = 1000, max_subscribers = 0;
  bool resolve_links = false;
  std::vector<std::string> stream_prefix, type_prefix;
  std::string stream_regex, type_regex;
  // reset / replay-parked
  std::string to = "start";
  int64_t stop_at = -1;
};

GroupKey KeyOf(const GroupArgs& a) {
  GroupKey k;
  k.all = a.all;
  k.stream = a.all ? "" : a.stream;
  k.group = a.group;
  return k;
}

Result<GroupSettings> SettingsOf(const GroupArgs& a) {
  GroupSettings s;
  if (a.from == "start") {
    s.start = GroupStart{GroupStart::Kind::kStart, 0};
  } else if (a.from == "end") {
    s.start = GroupStart{GroupStart::Kind::kEnd, 0};
  } else {
    try {
      size_t used = 0;
      uint64_t v = std::stoull(a.from, &used);
      if (used != a.from.size()) throw std::invalid_argument("trailing");
      s.start = GroupStart{v == 0 ? GroupStart::Kind::kStart : GroupStart::Kind::kAt, v};
    } catch (const std::exception&) {
      return Status::InvalidArgument("--from must be start, end, or a revision/position");
    }
  }
  auto strategy = ParseConsumerStrategy(a.strategy);
  if (!strategy) {
    return Status::InvalidArgument("--strategy must be RoundRobin, DispatchToSingle or Pinned");
  }
  s.strategy = *strategy;
  s.message_timeout = std::chrono::milliseconds(a.message_timeout_ms);
  s.checkpoint_after = std::chrono::milliseconds(a.checkpoint_after_ms);
  s.max_retry_count = a.max_retry;
  s.live_buffer_size = a.live_buffer;
  s.read_batch_size = a.read_batch;
  s.history_buffer_size = a.history_buffer;
  s.min_checkpoint_count = a.min_checkpoint;
  s.max_checkpoint_count = a.max_checkpoint;
  s.max_subscriber_count = a.max_subscribers;
  s.resolve_links = a.resolve_links;
  if (!a.stream_prefix.empty()) s.filter = EventFilter::StreamPrefix(a.stream_prefix);
  if (!a.type_prefix.empty()) s.filter = EventFilter::EventTypePrefix(a.type_prefix);
  if (!a.stream_regex.empty()) s.filter = EventFilter::StreamRegex(a.stream_regex);
  if (!a.type_regex.empty()) s.filter = EventFilter::EventTypeRegex(a.type_regex);
  if (s.filter.target != EventFilter::Target::kNone && !a.all) {
    return Status::InvalidArgument("filters apply to --all groups only");
  }
  KIROKU_RETURN_IF_ERROR(s.Validate());
  return s;
}

// "start", "end", "revision:N", "position:P", "time:<unix ms>" or "time:YYYY-MM-DDTHH:MM:SSZ".
struct ResetTarget {
  enum class Kind { kStart, kEnd, kRevision, kPosition, kTime } kind = Kind::kStart;
  uint64_t value = 0;
  int64_t unix_ms = 0;
};

Result<ResetTarget> ParseTarget(const std::string& to) {
  ResetTarget t;
  auto number = [](const std::string& s) -> std::optional<uint64_t> {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
    try {
      return std::stoull(s);
    } catch (...) {
      return std::nullopt;
    }
  };
  if (to == "start") return t;
  if (to == "end") {
    t.kind = ResetTarget::Kind::kEnd;
    return t;
  }
  auto colon = to.find(':');
  std::string kind = to.substr(0, colon),
              rest = colon == std::string::npos ? "" : to.substr(colon + 1);
  if (kind == "revision" || kind == "position") {
    auto v = number(rest);
    if (!v) return Status::InvalidArgument("--to " + kind + ":N needs a number");
    t.kind = kind == "revision" ? ResetTarget::Kind::kRevision : ResetTarget::Kind::kPosition;
    t.value = *v;
    return t;
  }
  if (kind == "time") {
    t.kind = ResetTarget::Kind::kTime;
    if (auto v = number(rest)) {
      t.unix_ms = static_cast<int64_t>(*v);
      return t;
    }
    std::tm tm{};
    std::istringstream in(rest);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    if (in.fail()) {
      return Status::InvalidArgument("--to time: needs unix milliseconds or YYYY-MM-DDTHH:MM:SSZ");
    }
    t.unix_ms = static_cast<int64_t>(timegm(&tm)) * 1000;
    return t;
  }
  return Status::InvalidArgument(
      "--to must be start, end, revision:N, position:P or time:(unix ms | ISO 8601 UTC)");
}

nlohmann::json InfoJson(const ppb::SubscriptionInfo& i) {
  nlohmann::json j;
  j["source"] = i.event_source();
  j["group"] = i.group_name();
  j["status"] = i.status();
  j["strategy"] = i.named_consumer_strategy();
  j["start_from"] = i.start_from();
  j["members"] = i.connections_size();
  j["in_flight"] = i.total_in_flight_messages();
  j["parked"] = i.parked_message_count();
  j["delivered"] = i.total_items();
  j["per_second"] = i.average_per_second();
  j["last_checkpointed"] = i.last_checkpointed_event_position();
  j["last_known"] = i.last_known_event_position();
  j["read_buffer"] = i.read_buffer_count();
  j["retry_buffer"] = i.retry_buffer_count();
  j["message_timeout_ms"] = i.message_timeout_milliseconds();
  j["max_retry_count"] = i.max_retry_count();
  return j;
}

void PrintInfo(const ppb::SubscriptionInfo& i, bool json) {
  if (json) {
    std::printf("%s\n", InfoJson(i).dump().c_str());
    return;
  }
  std::printf(
      "%s::%s  %s  %s  members=%d in_flight=%d parked=%lld delivered=%lld checkpoint=%s "
      "last_known=%s\n",
      i.event_source().c_str(), i.group_name().c_str(), i.status().c_str(),
      i.named_consumer_strategy().c_str(), i.connections_size(), i.total_in_flight_messages(),
      static_cast<long long>(i.parked_message_count()), static_cast<long long>(i.total_items()),
      i.last_checkpointed_event_position().empty() ? "-"
                                                   : i.last_checkpointed_event_position().c_str(),
      i.last_known_event_position().empty() ? "-" : i.last_known_event_position().c_str());
}

// ---- the two ways to reach the groups ----

class GroupAdmin {
 public:
  virtual ~GroupAdmin() = default;
  virtual Status Create(const GroupKey& k, const GroupSettings& s) = 0;
  virtual Status Update(const GroupKey& k, const GroupSettings& s) = 0;
  virtual Status Delete(const GroupKey& k) = 0;
  virtual Result<std::vector<ppb::SubscriptionInfo>> List(std::optional<GroupKey> source) = 0;
  virtual Result<ppb::SubscriptionInfo> Info(const GroupKey& k) = 0;
  virtual Result<std::string> Reset(const GroupKey& k, const ResetTarget& t) = 0;
  virtual Status ReplayParked(const GroupKey& k, std::optional<int64_t> stop_at) = 0;
};

// On a data directory (the server must be stopped: the store takes an exclusive lock).
class EmbeddedAdmin final : public GroupAdmin {
 public:
  static Result<std::unique_ptr<EmbeddedAdmin>> Open(const std::string& dir) {
    auto a = std::unique_ptr<EmbeddedAdmin>(new EmbeddedAdmin());
    KIROKU_ASSIGN_OR_RETURN(a->store_, Store::Open(dir));
    a->hub_ = std::make_unique<LiveHub>(a->store_.get());
    a->groups_ = std::make_unique<ConsumerGroups>(a->store_.get(), a->hub_.get());
    KIROKU_RETURN_IF_ERROR(a->groups_->Start());
    return a;
  }
  ~EmbeddedAdmin() override {
    groups_->Stop();
    hub_->Stop();
  }
  Status Create(const GroupKey& k, const GroupSettings& s) override {
    return groups_->Create(k, s);
  }
  Status Update(const GroupKey& k, const GroupSettings& s) override {
    return groups_->Update(k, s);
  }
  Status Delete(const GroupKey& k) override { return groups_->Delete(k); }
  Result<std::vector<ppb::SubscriptionInfo>> List(std::optional<GroupKey> source) override {
    std::vector<ppb::SubscriptionInfo> out;
    for (const auto& i : groups_->List()) {
      if (source && (i.key.all != source->all || i.key.stream != source->stream)) continue;
      server::ToProtoInfo(i, &out.emplace_back());
    }
    return out;
  }
  Result<ppb::SubscriptionInfo> Info(const GroupKey& k) override {
    KIROKU_ASSIGN_OR_RETURN(auto g, groups_->Find(k));
    ppb::SubscriptionInfo out;
    server::ToProtoInfo(g->Info(), &out);
    return out;
  }
  Result<std::string> Reset(const GroupKey& k, const ResetTarget& t) override {
    GroupStart start;
    switch (t.kind) {
      case ResetTarget::Kind::kStart:
        break;
      case ResetTarget::Kind::kEnd:
        start.kind = GroupStart::Kind::kEnd;
        break;
      case ResetTarget::Kind::kRevision:
      case ResetTarget::Kind::kPosition:
        if ((t.kind == ResetTarget::Kind::kPosition) != k.all) {
          return Status::InvalidArgument(k.all ? "a $all group resets to a position"
                                               : "a stream group resets to a revision");
        }
        start = GroupStart{GroupStart::Kind::kAt, t.value};
        break;
      case ResetTarget::Kind::kTime: {
        KIROKU_ASSIGN_OR_RETURN(start, groups_->StartAtTime(k, t.unix_ms * 1000));
        break;
      }
    }
    KIROKU_RETURN_IF_ERROR(groups_->Reset(k, start));
    return start.kind == GroupStart::Kind::kStart ? std::string("start")
           : start.kind == GroupStart::Kind::kEnd
               ? std::string("end")
               : (k.all ? "position " : "revision ") + std::to_string(start.at);
  }
  Status ReplayParked(const GroupKey& k, std::optional<int64_t> stop_at) override {
    (void)stop_at;
    KIROKU_RETURN_IF_ERROR(groups_->Find(k).status());
    // Offline there is no member to deliver to: the events stay parked until replayed with
    // the server running. Say so rather than pretend.
    return Status::InvalidArgument(
        "replay-parked needs a running server (--url): offline there is no member to deliver to");
  }

 private:
  EmbeddedAdmin() = default;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LiveHub> hub_;
  std::unique_ptr<ConsumerGroups> groups_;
};

Status FromGrpc(const grpc::Status& s, const grpc::ClientContext& ctx) {
  if (s.ok()) return Status::Ok();
  std::string exception;
  for (const auto& [k, v] : ctx.GetServerTrailingMetadata()) {
    if (std::string_view(k.data(), k.size()) == "exception") exception.assign(v.data(), v.size());
  }
  std::string msg = s.error_message() + (exception.empty() ? "" : " (" + exception + ")");
  switch (s.error_code()) {
    case grpc::StatusCode::NOT_FOUND:
      return Status::NotFound(msg);
    case grpc::StatusCode::ALREADY_EXISTS:
      return Status::AlreadyExists(msg);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return Status::InvalidArgument(msg);
    case grpc::StatusCode::FAILED_PRECONDITION:
      return Status::Busy(msg);
    default:
      return Status::IOError("server: " + msg);
  }
}

// Delete, GetInfo and ReplayParked options name the source the same way.
template <typename Options>
void SetSource(const GroupKey& k, Options* o) {
  if (k.all) {
    o->mutable_all();
  } else {
    o->mutable_stream_identifier()->set_stream_name(k.stream);
  }
}

// Create and Update options name the source and its start point the same way.
template <typename Options>
void SetStart(const GroupKey& k, const GroupStart& start, Options* o) {
  if (k.all) {
    auto* a = o->mutable_all();
    if (start.kind == GroupStart::Kind::kStart) a->mutable_start();
    if (start.kind == GroupStart::Kind::kEnd) a->mutable_end();
    if (start.kind == GroupStart::Kind::kAt) {
      a->mutable_position()->set_commit_position(start.at);
      a->mutable_position()->set_prepare_position(start.at);
    }
    return;
  }
  auto* st = o->mutable_stream();
  st->mutable_stream_identifier()->set_stream_name(k.stream);
  if (start.kind == GroupStart::Kind::kStart) st->mutable_start();
  if (start.kind == GroupStart::Kind::kEnd) st->mutable_end();
  if (start.kind == GroupStart::Kind::kAt) st->set_revision(start.at);
}

class RemoteAdmin final : public GroupAdmin {
 public:
  static Result<std::unique_ptr<RemoteAdmin>> Connect(const std::string& url) {
    KIROKU_ASSIGN_OR_RETURN(ConnectionSettings cs, ParseConnectionString(url));
    std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
    if (cs.tls && !cs.tls_verify_cert) {
      return Status::InvalidArgument(
          "tlsVerifyCert=false is not supported: give the server's CA with tlsCAFile=PATH");
    }
    if (cs.tls) {
      grpc::SslCredentialsOptions ssl;
      if (!cs.tls_ca_file.empty()) {
        std::ifstream in(cs.tls_ca_file);
        if (!in) return Status::IOError("cannot read tlsCAFile " + cs.tls_ca_file);
        std::stringstream ss;
        ss << in.rdbuf();
        ssl.pem_root_certs = ss.str();
      }
      creds = grpc::SslCredentials(ssl);
    }
    auto a = std::unique_ptr<RemoteAdmin>(new RemoteAdmin());
    a->deadline_ = cs.default_deadline;
    auto channel = grpc::CreateChannel(cs.hosts.front().ToString(), creds);
    a->stub_ = ppb::PersistentSubscriptions::NewStub(channel);
    a->admin_ = ::kiroku::v1::ConsumerGroups::NewStub(channel);
    return a;
  }

  Status Create(const GroupKey& k, const GroupSettings& s) override {
    ppb::CreateReq req;
    auto* o = req.mutable_options();
    o->set_group_name(k.group);
    auto* ps = o->mutable_settings();
    FillSettings(s, ps);
    ps->set_consumer_strategy(ConsumerStrategyName(s.strategy));
    SetStart(k, s.start, o);
    if (k.all) {
      auto* a = o->mutable_all();
      if (s.filter.target == EventFilter::Target::kNone) {
        a->mutable_no_filter();
      } else {
        auto* f = a->mutable_filter();
        auto* e = s.filter.target == EventFilter::Target::kStreamName
                      ? f->mutable_stream_identifier()
                      : f->mutable_event_type();
        for (const auto& p : s.filter.prefixes) e->add_prefix(p);
        e->set_regex(s.filter.regex);
        f->mutable_count();
        f->set_checkpointintervalmultiplier(1);
      }
    }
    ppb::CreateResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = stub_->Create(&ctx, req, &resp);
    return FromGrpc(st, ctx);
  }
  Status Update(const GroupKey& k, const GroupSettings& s) override {
    ppb::UpdateReq req;
    auto* o = req.mutable_options();
    o->set_group_name(k.group);
    FillSettings(s, o->mutable_settings());
    SetStart(k, s.start, o);
    ppb::UpdateResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = stub_->Update(&ctx, req, &resp);
    return FromGrpc(st, ctx);
  }
  Status Delete(const GroupKey& k) override {
    ppb::DeleteReq req;
    auto* o = req.mutable_options();
    o->set_group_name(k.group);
    SetSource(k, o);
    ppb::DeleteResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = stub_->Delete(&ctx, req, &resp);
    return FromGrpc(st, ctx);
  }
  Result<std::vector<ppb::SubscriptionInfo>> List(std::optional<GroupKey> source) override {
    ppb::ListReq req;
    if (source) {
      auto* f = req.mutable_options()->mutable_list_for_stream();
      if (source->all) {
        f->mutable_all();
      } else {
        f->mutable_stream()->set_stream_name(source->stream);
      }
    } else {
      req.mutable_options()->mutable_list_all_subscriptions();
    }
    ppb::ListResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = stub_->List(&ctx, req, &resp);
    if (!st.ok()) {
      if (source && st.error_code() == grpc::StatusCode::NOT_FOUND) {
        return std::vector<ppb::SubscriptionInfo>{};
      }
      return FromGrpc(st, ctx);
    }
    return std::vector<ppb::SubscriptionInfo>(resp.subscriptions().begin(),
                                              resp.subscriptions().end());
  }
  Result<ppb::SubscriptionInfo> Info(const GroupKey& k) override {
    ppb::GetInfoReq req;
    auto* o = req.mutable_options();
    o->set_group_name(k.group);
    SetSource(k, o);
    ppb::GetInfoResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = stub_->GetInfo(&ctx, req, &resp);
    if (!st.ok()) return FromGrpc(st, ctx);
    return resp.subscription_info();
  }
  Result<std::string> Reset(const GroupKey& k, const ResetTarget& t) override {
    ::kiroku::v1::ResetGroupReq req;
    req.set_group_name(k.group);
    if (k.all) {
      req.set_all(true);
    } else {
      req.set_stream(k.stream);
    }
    switch (t.kind) {
      case ResetTarget::Kind::kStart:
        req.set_start(true);
        break;
      case ResetTarget::Kind::kEnd:
        req.set_end(true);
        break;
      case ResetTarget::Kind::kRevision:
        req.set_revision(t.value);
        break;
      case ResetTarget::Kind::kPosition:
        req.set_position(t.value);
        break;
      case ResetTarget::Kind::kTime:
        req.set_time_unix_ms(t.unix_ms);
        break;
    }
    ::kiroku::v1::ResetGroupResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = admin_->Reset(&ctx, req, &resp);
    if (!st.ok()) return FromGrpc(st, ctx);
    return resp.resumes_at();
  }
  Status ReplayParked(const GroupKey& k, std::optional<int64_t> stop_at) override {
    ppb::ReplayParkedReq req;
    auto* o = req.mutable_options();
    o->set_group_name(k.group);
    SetSource(k, o);
    if (stop_at) {
      o->set_stop_at(*stop_at);
    } else {
      o->mutable_no_limit();
    }
    ppb::ReplayParkedResp resp;
    grpc::ClientContext ctx;
    SetDeadline(&ctx);
    auto st = stub_->ReplayParked(&ctx, req, &resp);
    return FromGrpc(st, ctx);
  }

 private:
  RemoteAdmin() = default;
  template <typename S>
  static void FillSettings(const GroupSettings& s, S* p) {
    p->set_resolve_links(s.resolve_links);
    p->set_max_retry_count(s.max_retry_count);
    p->set_min_checkpoint_count(s.min_checkpoint_count);
    p->set_max_checkpoint_count(s.max_checkpoint_count);
    p->set_max_subscriber_count(s.max_subscriber_count);
    p->set_live_buffer_size(s.live_buffer_size);
    p->set_read_batch_size(s.read_batch_size);
    p->set_history_buffer_size(s.history_buffer_size);
    p->set_message_timeout_ms(static_cast<int32_t>(s.message_timeout.count()));
    p->set_checkpoint_after_ms(static_cast<int32_t>(s.checkpoint_after.count()));
    // The deprecated enum (DispatchToSingle = 0, RoundRobin = 1, Pinned = 2): Update has only it.
    int e = s.strategy == ConsumerStrategy::kDispatchToSingle ? 0
            : s.strategy == ConsumerStrategy::kPinned         ? 2
                                                              : 1;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    p->set_named_consumer_strategy(static_cast<decltype(p->named_consumer_strategy())>(e));
#pragma GCC diagnostic pop
  }
  void SetDeadline(grpc::ClientContext* ctx) const {
    ctx->set_deadline(std::chrono::system_clock::now() + deadline_);
  }
  std::chrono::milliseconds deadline_{10000};
  std::unique_ptr<ppb::PersistentSubscriptions::Stub> stub_;
  std::unique_ptr<::kiroku::v1::ConsumerGroups::Stub> admin_;
};

Result<std::unique_ptr<GroupAdmin>> OpenAdmin(const GroupArgs& a) {
  if (!a.url.empty()) {
    KIROKU_ASSIGN_OR_RETURN(auto r, RemoteAdmin::Connect(a.url));
    return std::unique_ptr<GroupAdmin>(std::move(r));
  }
  if (!a.data_dir.empty()) {
    KIROKU_ASSIGN_OR_RETURN(auto e, EmbeddedAdmin::Open(a.data_dir));
    return std::unique_ptr<GroupAdmin>(std::move(e));
  }
  return Status::InvalidArgument("give --url esdb://HOST:PORT?tls=false or --data DIR");
}

void AddCommon(CLI::App* cmd, GroupArgs* a, bool needs_group) {
  cmd->add_option("--url", a->url, "Server connection string (esdb://host:2113?tls=false)");
  cmd->add_option("--data", a->data_dir, "Data directory (the server must be stopped)");
  auto* s = cmd->add_option("--stream", a->stream, "The group's stream");
  cmd->add_flag("--all", a->all, "The group reads $all")->excludes(s);
  if (needs_group) cmd->add_option("--group", a->group, "Group name")->required();
  cmd->add_flag("--json", a->json, "JSON output");
}

void AddSettings(CLI::App* cmd, GroupArgs* a) {
  cmd->add_option("--from", a->from, "start, end, or a revision ($all: a position); default end");
  cmd->add_option("--strategy", a->strategy, "RoundRobin, DispatchToSingle or Pinned");
  cmd->add_option("--message-timeout-ms", a->message_timeout_ms,
                  "Redeliver unacked after (0 = never)");
  cmd->add_option("--max-retry", a->max_retry, "Deliveries beyond the first before parking");
  cmd->add_option("--live-buffer", a->live_buffer, "Events buffered when live");
  cmd->add_option("--read-batch", a->read_batch, "Events read per batch");
  cmd->add_option("--history-buffer", a->history_buffer, "Events buffered when catching up");
  cmd->add_option("--checkpoint-after-ms", a->checkpoint_after_ms, "Checkpoint at most this often");
  cmd->add_option("--min-checkpoint", a->min_checkpoint,
                  "Finished events before a timed checkpoint");
  cmd->add_option("--max-checkpoint", a->max_checkpoint, "Finished events that force a checkpoint");
  cmd->add_option("--max-subscribers", a->max_subscribers, "Members allowed (0 = unbounded)");
  cmd->add_flag("--resolve-links", a->resolve_links, "Deliver link targets");
  cmd->add_option("--stream-prefix", a->stream_prefix, "$all filter: stream name prefix");
  cmd->add_option("--type-prefix", a->type_prefix, "$all filter: event type prefix");
  cmd->add_option("--stream-regex", a->stream_regex, "$all filter: stream name regex");
  cmd->add_option("--type-regex", a->type_regex, "$all filter: event type regex");
}

// Runs `body` with an admin for the command; prints the error and returns the exit code.
int WithAdmin(const GroupArgs& a, bool needs_source,
              const std::function<Status(GroupAdmin&)>& body) {
  if (needs_source && !a.all && a.stream.empty()) {
    return PrintError(Status::InvalidArgument("give --stream NAME or --all"));
  }
  auto admin = OpenAdmin(a);
  if (!admin.ok()) return PrintError(admin.status());
  Status s = body(**admin);
  return s.ok() ? 0 : PrintError(s);
}

}  // namespace

void AddGroupCommands(CLI::App& app, Action* action) {
  auto* group = app.add_subcommand("group", "Persistent subscriptions (consumer groups)");
  group->require_subcommand(1);

  auto add = [&](const char* name, const char* help, bool needs_group,
                 const std::function<void(CLI::App*, GroupArgs*)>& extra,
                 const std::function<int(const GroupArgs&)>& run) {
    auto a = std::make_shared<GroupArgs>();
    auto* cmd = group->add_subcommand(name, help);
    AddCommon(cmd, a.get(), needs_group);
    if (extra) extra(cmd, a.get());
    cmd->callback([a, action, run] { *action = [a, run] { return run(*a); }; });
  };

  add("create", "Create a group", true, AddSettings, [](const GroupArgs& a) {
    return WithAdmin(a, true, [&](GroupAdmin& g) -> Status {
      KIROKU_ASSIGN_OR_RETURN(GroupSettings s, SettingsOf(a));
      KIROKU_RETURN_IF_ERROR(g.Create(KeyOf(a), s));
      std::printf("created %s\n", KeyOf(a).Id().c_str());
      return Status::Ok();
    });
  });
  add("update", "Change a group's settings (members reconnect; the checkpoint is kept)", true,
      AddSettings, [](const GroupArgs& a) {
        return WithAdmin(a, true, [&](GroupAdmin& g) -> Status {
          KIROKU_ASSIGN_OR_RETURN(GroupSettings s, SettingsOf(a));
          KIROKU_RETURN_IF_ERROR(g.Update(KeyOf(a), s));
          std::printf("updated %s\n", KeyOf(a).Id().c_str());
          return Status::Ok();
        });
      });
  add("delete", "Delete a group with its checkpoint and parked events", true, nullptr,
      [](const GroupArgs& a) {
        return WithAdmin(a, true, [&](GroupAdmin& g) -> Status {
          KIROKU_RETURN_IF_ERROR(g.Delete(KeyOf(a)));
          std::printf("deleted %s\n", KeyOf(a).Id().c_str());
          return Status::Ok();
        });
      });
  add("list", "List groups (of one --stream or --all, or every group)", false, nullptr,
      [](const GroupArgs& a) {
        return WithAdmin(a, false, [&](GroupAdmin& g) -> Status {
          std::optional<GroupKey> source;
          if (a.all || !a.stream.empty()) source = KeyOf(a);
          KIROKU_ASSIGN_OR_RETURN(auto list, g.List(source));
          if (a.json) {
            nlohmann::json j = nlohmann::json::array();
            for (const auto& i : list) j.push_back(InfoJson(i));
            std::printf("%s\n", j.dump().c_str());
          } else {
            for (const auto& i : list) PrintInfo(i, false);
            if (list.empty()) std::printf("no groups\n");
          }
          return Status::Ok();
        });
      });
  add("info", "A group's settings and figures", true, nullptr, [](const GroupArgs& a) {
    return WithAdmin(a, true, [&](GroupAdmin& g) -> Status {
      KIROKU_ASSIGN_OR_RETURN(auto info, g.Info(KeyOf(a)));
      PrintInfo(info, a.json);
      return Status::Ok();
    });
  });
  add(
      "reset", "Restart delivery at a point to reprocess (or skip) events", true,
      [](CLI::App* cmd, GroupArgs* a) {
        cmd->add_option("--to", a->to,
                        "start | end | revision:N | position:P | time:<unix ms> | "
                        "time:YYYY-MM-DDTHH:MM:SSZ");
      },
      [](const GroupArgs& a) {
        return WithAdmin(a, true, [&](GroupAdmin& g) -> Status {
          KIROKU_ASSIGN_OR_RETURN(ResetTarget t, ParseTarget(a.to));
          KIROKU_ASSIGN_OR_RETURN(std::string at, g.Reset(KeyOf(a), t));
          std::printf("reset %s: resumes at %s\n", KeyOf(a).Id().c_str(), at.c_str());
          return Status::Ok();
        });
      });
  add(
      "replay-parked", "Deliver parked events again", true,
      [](CLI::App* cmd, GroupArgs* a) {
        cmd->add_option("--stop-at", a->stop_at, "Replay at most this many (default all)");
      },
      [](const GroupArgs& a) {
        return WithAdmin(a, true, [&](GroupAdmin& g) -> Status {
          std::optional<int64_t> stop;
          if (a.stop_at >= 0) stop = a.stop_at;
          KIROKU_RETURN_IF_ERROR(g.ReplayParked(KeyOf(a), stop));
          std::printf("replaying parked events of %s\n", KeyOf(a).Id().c_str());
          return Status::Ok();
        });
      });
}

}  // namespace kiroku::cli
