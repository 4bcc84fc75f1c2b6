#include "server/server.h"

#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "server/cluster_services.h"
#include "server/http_admin.h"
#include "server/persistent_service.h"
#include "server/snapshots_service.h"
#include "server/streams_service.h"
#include "subscriptions/live_hub.h"

namespace kiroku::server {
namespace {

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// KurrentDB's own $all always holds system events; clients' tests count on it. A new
// kiroku node records its initialisation the same way (a `$`-typed event in a `$` stream),
// once: the expected revision makes later starts a no-op.
Status RecordNodeInitialized(Store* store) {
  EventData e;
  e.id = EventId::Random();
  e.type = "$NodeInitialized";
  e.data = std::string("{\"server\":\"kiroku\",\"protocol_version\":\"") + kReportedServerVersion +
           "\"}";
  std::vector<EventData> events;
  events.push_back(std::move(e));
  auto r = store->Append("$kiroku-node", ExpectedRevision::NoStream(), std::move(events));
  if (!r.ok() && r.status().code() != StatusCode::kWrongExpectedVersion) return r.status();
  return Status::Ok();
}

class ServerImpl final : public Server {
 public:
  ~ServerImpl() override { Shutdown(); }

  Status Init(ServerOptions o) {
    options_ = std::move(o);
    KIROKU_ASSIGN_OR_RETURN(store_, Store::Open(options_.data_dir, options_.store));
    KIROKU_RETURN_IF_ERROR(RecordNodeInitialized(store_.get()));
    hub_ = std::make_unique<LiveHub>(store_.get());
    deps_.store = store_.get();
    deps_.hub = hub_.get();
    groups_ = std::make_unique<ConsumerGroups>(store_.get(), hub_.get());
    KIROKU_RETURN_IF_ERROR(groups_->Start());
    deps_.groups = groups_.get();
    deps_.metrics = &metrics_;
    deps_.max_append_size = options_.store.max_append_size;
    deps_.projections_json = options_.projections_json;
    deps_.extra_metrics = options_.extra_metrics;
    deps_.advertised_host =
        options_.advertised_host.empty() ? options_.bind : options_.advertised_host;

    streams_ = std::make_unique<StreamsService>(deps_);
    half_close_first_ = std::make_unique<HalfCloseFirstService>(&deps_);

    std::shared_ptr<grpc::ServerCredentials> creds = grpc::InsecureServerCredentials();
    if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
      if (options_.tls_cert_file.empty() || options_.tls_key_file.empty()) {
        return Status::InvalidArgument("TLS needs both --tls-cert and --tls-key");
      }
      KIROKU_ASSIGN_OR_RETURN(std::string cert, ReadFile(options_.tls_cert_file));
      KIROKU_ASSIGN_OR_RETURN(std::string key, ReadFile(options_.tls_key_file));
      grpc::SslServerCredentialsOptions ssl;
      ssl.pem_key_cert_pairs.push_back({key, cert});
      creds = grpc::SslServerCredentials(ssl);
    }
    grpc::ServerBuilder builder;
    int selected = 0;
    builder.AddListeningPort(options_.bind + ":" + std::to_string(options_.port), creds, &selected);
    // The official clients ping every 10 s; gRPC's default would GOAWAY them
    // (too_many_pings) and drop idle subscriptions. docs/protocol/kurrentdb-grpc.md 1.1.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
    builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
    // Lets a write with WriteOptions::set_buffer_hint() complete while its bytes wait in
    // the transport for the next unhinted write (persistent_service.cc batches deliveries
    // so). With the default (0) a hinted write completes only when flushed.
    builder.AddChannelArgument(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 1 << 20);
    builder.SetMaxReceiveMessageSize(
        static_cast<int>(std::min<uint64_t>(options_.store.max_event_size + (1 << 20), INT32_MAX)));
    builder.SetMaxSendMessageSize(
        static_cast<int>(std::min<uint64_t>(options_.store.max_event_size + (1 << 20), INT32_MAX)));
    builder.RegisterService(streams_.get());
    persistent_ = std::make_unique<PersistentService>(deps_);
    group_admin_ = std::make_unique<GroupAdminService>(deps_);
    builder.RegisterService(persistent_.get());
    builder.RegisterService(group_admin_.get());
    builder.RegisterService((snapshots_ = std::make_unique<SnapshotsService>(&deps_)).get());
    // Streams.Read, ServerFeatures and Gossip: see cluster_services.h.
    builder.RegisterCallbackGenericService(half_close_first_.get());
    grpc_ = builder.BuildAndStart();
    if (!grpc_ || selected == 0) {
      return Status::IOError("cannot listen for gRPC on " + options_.bind + ":" +
                             std::to_string(options_.port));
    }
    port_ = static_cast<uint16_t>(selected);
    // Gossip reads deps_ through a pointer, so it advertises the port chosen just now.
    deps_.advertised_port = port_;
    http_ = std::make_unique<HttpAdmin>(deps_);
    KIROKU_RETURN_IF_ERROR(http_->Start(options_.bind, options_.http_port));
    return Status::Ok();
  }

  void Shutdown() override {
    if (stopped_) return;
    stopped_ = true;
    // Parked subscriptions end first (UNAVAILABLE), so the gRPC shutdown does not wait for
    // them; calls still running get a short grace period, then are cancelled.
    // Consumer groups write their checkpoints and drop their members first.
    if (groups_) groups_->Stop();
    if (hub_) hub_->Stop();
    if (grpc_) grpc_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(3));
    if (http_) http_->Stop();
    // Closing the store drains the committer: every submitted append is made durable and
    // acknowledged, or failed.
    store_.reset();
  }

  uint16_t port() const override { return port_; }
  uint16_t http_port() const override { return http_ ? http_->port() : 0; }
  Store* store() override { return store_.get(); }

 private:
  ServerOptions options_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<LiveHub> hub_;
  std::unique_ptr<ConsumerGroups> groups_;
  ServerMetrics metrics_;
  ServerDeps deps_;
  std::unique_ptr<StreamsService> streams_;
  std::unique_ptr<PersistentService> persistent_;
  std::unique_ptr<GroupAdminService> group_admin_;
  std::unique_ptr<SnapshotsService> snapshots_;
  std::unique_ptr<HalfCloseFirstService> half_close_first_;
  std::unique_ptr<grpc::Server> grpc_;
  std::unique_ptr<HttpAdmin> http_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options) {
  auto s = std::make_unique<ServerImpl>();
  KIROKU_RETURN_IF_ERROR(s->Init(std::move(options)));
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace kiroku::server
