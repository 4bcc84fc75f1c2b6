// The C++ client's consumer-group calls (RemoteClient::CreateGroup / SubscribeToGroup /
// DeleteGroup) against a real `kiroku serve`: two members share the events, a nack retry
// comes back with retry_count 1, an event a member left unacked goes to the other member,
// and the errors for a missing or duplicate group.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "kiroku/client.h"
#include "support/process.h"
#include "support/test_dir.h"

namespace kiroku::testing {
namespace {

const std::string kBin = KIROKU_BIN;

std::vector<EventData> Events(int n) {
  std::vector<EventData> out(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    out[static_cast<size_t>(i)].id = EventId::Random();
    out[static_cast<size_t>(i)].type = "Tick";
    out[static_cast<size_t>(i)].data = "{\"i\":" + std::to_string(i) + "}";
  }
  return out;
}

TEST(ClientGroupTest, MembersShareRetryAndHandOver) {
  TestDir dir;
  ServerProcess server(kBin, dir.Sub("data"));
  std::string err;
  ASSERT_TRUE(server.Start(&err)) << err;
  auto client = RemoteClient::Connect(server.url());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  RemoteClient& c = **client;

  GroupTarget t{false, "orders-7", "billing"};
  ASSERT_TRUE(c.CreateGroup(t, true).ok());
  EXPECT_EQ(c.CreateGroup(t, true).code(), StatusCode::kAlreadyExists);
  GroupTarget missing{false, "orders-7", "nope"};
  EXPECT_EQ(
      c.SubscribeToGroup(missing, 10, [](const GroupEvent&, GroupAcks&) { return true; }).code(),
      StatusCode::kNotFound);
  ASSERT_TRUE(c.Append("orders-7", ExpectedRevision::Any(), Events(40)).ok());

  std::mutex mu;
  std::map<uint64_t, int> acked;  // revision -> times acked
  std::set<int> members_used;
  bool retried_once = false;
  int retry_seen = -1;
  std::atomic<bool> stop{false};
  auto member = [&](int id) {
    return c.SubscribeToGroup(
        t, 5,
        [&, id](const GroupEvent& e, GroupAcks& acks) {
          std::lock_guard lock(mu);
          members_used.insert(id);
          if (e.event.revision.value == 7 && !retried_once) {
            retried_once = true;
            EXPECT_TRUE(acks.Nack({e.AckId()}, GroupNack::kRetry, "once").ok());
            return true;
          }
          if (e.event.revision.value == 7) retry_seen = e.retry_count;
          acked[e.event.revision.value]++;
          EXPECT_TRUE(acks.Ack({e.AckId()}).ok());
          return true;
        },
        &stop);
  };
  std::thread a([&] { EXPECT_TRUE(member(1).ok()); });
  std::thread b([&] { EXPECT_TRUE(member(2).ok()); });
  for (int i = 0; i < 400; ++i) {
    {
      std::lock_guard lock(mu);
      if (acked.size() == 40) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  stop = true;
  a.join();
  b.join();
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(acked.size(), 40u);
    for (const auto& [rev, n] : acked) EXPECT_EQ(n, 1) << "revision " << rev;
    EXPECT_EQ(members_used.size(), 2u);
    EXPECT_EQ(retry_seen, 1);
  }

  // A member that returns without acking: its event goes to the next member.
  ASSERT_TRUE(c.Append("orders-7", ExpectedRevision::Any(), Events(1)).ok());
  uint64_t left_unacked = 0;
  ASSERT_TRUE(c.SubscribeToGroup(t, 5, [&](const GroupEvent& e, GroupAcks&) {
                 left_unacked = e.event.revision.value;
                 return false;
               }).ok());
  EXPECT_EQ(left_unacked, 40u);
  int retry = -1;
  ASSERT_TRUE(c.SubscribeToGroup(t, 5, [&](const GroupEvent& e, GroupAcks& acks) {
                 EXPECT_EQ(e.event.revision.value, 40u);
                 retry = e.retry_count;
                 EXPECT_TRUE(acks.Ack({e.AckId()}).ok());
                 return false;
               }).ok());
  EXPECT_EQ(retry, 1);

  ASSERT_TRUE(c.DeleteGroup(t).ok());
  EXPECT_EQ(c.DeleteGroup(t).code(), StatusCode::kNotFound);
  std::string out;
  EXPECT_EQ(server.Stop(&out), 0) << out;
}

TEST(ClientConnectTest, TlsVerifyCertFalseIsRefusedNotIgnored) {
  auto c = RemoteClient::Connect("esdb://127.0.0.1:1?tls=true&tlsVerifyCert=false");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("tlsCAFile"), std::string::npos);
}

}  // namespace
}  // namespace kiroku::testing
