// Consumer-group (persistent subscription) benchmark against a running server, over the
// KurrentDB gRPC protocol with raw stubs (what every official client does underneath):
//  1. throughput: N events in one stream, a RoundRobin group from the start, M members that
//     ack every event (in batches of --ack-batch ids per Ack message, as the .NET client's
//     auto-ack does); events/s from group creation to the last ack;
//  2. redelivery latency: a member holding unacked events is cut off (its call cancelled,
//     as when its process dies); time until another member receives the first of them.
// Usage: kiroku-group-bench --url esdb://127.0.0.1:2113?tls=false [--events N] [--members M]
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "client/connection_string.h"
#include "kiroku/client.h"
#include "persistent.grpc.pb.h"

namespace {

namespace ppb = ::event_store::client::persistent_subscriptions;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

struct Options {
  std::string url;
  uint64_t events = 1'000'000;
  int members = 4;
  int buffer = 1000;
  int ack_batch = 100;
  int redelivery_rounds = 5;
};

std::shared_ptr<grpc::Channel> Channel(const std::string& target) {
  // One channel (one HTTP/2 connection) per member, as separate processes would have.
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

bool CreateGroup(const std::string& target, const std::string& stream, const std::string& group,
                 int32_t message_timeout_ms) {
  auto stub = ppb::PersistentSubscriptions::NewStub(Channel(target));
  ppb::CreateReq req;
  auto* o = req.mutable_options();
  o->set_group_name(group);
  o->mutable_stream()->mutable_stream_identifier()->set_stream_name(stream);
  o->mutable_stream()->mutable_start();
  auto* s = o->mutable_settings();
  s->set_max_retry_count(10);
  s->set_min_checkpoint_count(100);
  s->set_max_checkpoint_count(10000);
  s->set_live_buffer_size(4000);
  s->set_read_batch_size(1000);
  s->set_history_buffer_size(4000);
  s->set_message_timeout_ms(message_timeout_ms);
  s->set_checkpoint_after_ms(1000);
  s->set_consumer_strategy("RoundRobin");
  ppb::CreateResp resp;
  grpc::ClientContext ctx;
  auto st = stub->Create(&ctx, req, &resp);
  if (!st.ok()) std::fprintf(stderr, "create group: %s\n", st.error_message().c_str());
  return st.ok();
}

// One member: reads events, acks them in batches; counts into `done`.
class Member {
 public:
  Member(const std::string& target, const std::string& stream, const std::string& group, int buffer,
         int ack_batch, bool ack)
      : stub_(ppb::PersistentSubscriptions::NewStub(Channel(target))),
        ack_batch_(ack_batch),
        ack_(ack) {
    call_ = stub_->Read(&ctx_);
    ppb::ReadReq req;
    auto* o = req.mutable_options();
    o->mutable_stream_identifier()->set_stream_name(stream);
    o->set_group_name(group);
    o->set_buffer_size(buffer);
    o->mutable_uuid_option()->mutable_structured();
    call_->Write(req);
  }

  // Runs until the call ends; calls on_event(retry_count) for each event.
  template <typename F>
  void Run(F on_event) {
    ppb::ReadResp resp;
    ppb::ReadReq ack;
    while (call_->Read(&resp)) {
      if (!resp.has_event()) continue;
      on_event(resp.event().retry_count());
      if (!ack_) continue;
      *ack.mutable_ack()->add_ids() = resp.event().event().id();
      if (ack.ack().ids_size() >= ack_batch_) {
        call_->Write(ack);
        ack.Clear();
      }
    }
  }
  // Flushes a partial ack batch (the member saw no event for a while).
  void Cancel() { ctx_.TryCancel(); }

 private:
  std::unique_ptr<ppb::PersistentSubscriptions::Stub> stub_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<ppb::ReadReq, ppb::ReadResp>> call_;
  int ack_batch_;
  bool ack_;
};

std::vector<kiroku::EventData> Batch(size_t n, uint64_t base) {
  std::vector<kiroku::EventData> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i].id = kiroku::EventId::Random();
    out[i].type = "Tick";
    out[i].data =
        R"({"i":)" + std::to_string(base + i) +
        R"(,"payload":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})";
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"kiroku consumer-group benchmark"};
  app.add_option("--url", o.url, "Server connection string")->required();
  app.add_option("--events", o.events, "Events in the stream");
  app.add_option("--members", o.members, "Group members");
  app.add_option("--buffer", o.buffer, "Each member's in-flight limit (buffer_size)");
  app.add_option("--ack-batch", o.ack_batch, "Ids per Ack message");
  app.add_option("--redelivery-rounds", o.redelivery_rounds, "Member deaths to time");
  CLI11_PARSE(app, argc, argv);
  if (o.ack_batch > o.buffer) o.ack_batch = o.buffer;

  auto cs = kiroku::ParseConnectionString(o.url);
  if (!cs.ok()) {
    std::fprintf(stderr, "%s\n", cs.status().ToString().c_str());
    return 2;
  }
  const std::string target = cs->hosts.front().ToString();
  auto client = kiroku::RemoteClient::Connect(o.url);
  if (!client.ok()) {
    std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
    return 2;
  }
  const std::string tag = kiroku::EventId::Random().ToString().substr(0, 8);
  const std::string stream = "bench-group-" + tag;

  // ---- load the stream ----
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < o.events; i += 1000) {
    auto r = (*client)->Append(stream, kiroku::ExpectedRevision::Any(),
                               Batch(std::min<uint64_t>(1000, o.events - i), i));
    if (!r.ok()) {
      std::fprintf(stderr, "append: %s\n", r.status().ToString().c_str());
      return 1;
    }
  }
  std::printf("loaded %llu events (~200 B) in %.2f s\n", static_cast<unsigned long long>(o.events),
              Seconds(Clock::now() - t0));

  // ---- throughput ----
  std::atomic<uint64_t> received{0};
  std::vector<std::unique_ptr<Member>> members;
  const auto start = Clock::now();
  if (!CreateGroup(target, stream, "throughput", 30000)) return 1;
  for (int m = 0; m < o.members; ++m) {
    members.push_back(
        std::make_unique<Member>(target, stream, "throughput", o.buffer, o.ack_batch, true));
  }
  std::vector<std::thread> threads;
  for (auto& m : members) {
    threads.emplace_back([&, mp = m.get()] {
      mp->Run([&](int32_t) { received.fetch_add(1, std::memory_order_relaxed); });
    });
  }
  while (received.load() < o.events && Seconds(Clock::now() - start) < 600) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const double secs = Seconds(Clock::now() - start);
  for (auto& m : members) m->Cancel();
  for (auto& t : threads) t.join();
  members.clear();
  std::printf(
      "group throughput: %d members (RoundRobin, buffer %d, acks of %d ids): %llu events "
      "delivered+acked in %.2f s = %.0f events/s (target 200000)\n",
      o.members, o.buffer, o.ack_batch, static_cast<unsigned long long>(received.load()), secs,
      static_cast<double>(received.load()) / secs);

  // ---- redelivery after a member dies ----
  std::vector<double> latencies;
  for (int round = 0; round < o.redelivery_rounds; ++round) {
    const std::string s = stream + "-r" + std::to_string(round);
    const std::string g = "redelivery";
    if (!CreateGroup(target, s, g, 60000)) return 1;
    // The victim joins first and holds every event; the survivor joins once it does.
    Member victim(target, s, g, 100, 1, false);
    std::atomic<int> held{0};
    std::thread vt([&] { victim.Run([&](int32_t) { held++; }); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    (void)(*client)->Append(s, kiroku::ExpectedRevision::Any(), Batch(50, 0));
    while (held.load() < 50) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    Member survivor(target, s, g, 100, 1, true);
    std::atomic<int64_t> first_retry_ns{0};
    std::thread st([&] {
      survivor.Run([&](int32_t retry) {
        if (retry > 0 && first_retry_ns.load() == 0) {
          first_retry_ns = Clock::now().time_since_epoch().count();
        }
      });
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto killed = Clock::now();
    victim.Cancel();
    while (first_retry_ns.load() == 0 && Seconds(Clock::now() - killed) < 10) {
      std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    if (first_retry_ns.load() != 0) {
      latencies.push_back(
          Seconds(Clock::time_point(Clock::duration(first_retry_ns.load())) - killed) * 1000);
    }
    survivor.Cancel();
    vt.join();
    st.join();
  }
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) {
    std::printf(
        "redelivery after a member dies (call cancelled): median %.2f ms, max %.2f ms over %zu "
        "rounds\n",
        latencies[latencies.size() / 2], latencies.back(), latencies.size());
  } else {
    std::printf("redelivery after a member dies: no redelivery observed within 10 s\n");
    return 1;
  }
  return 0;
}
