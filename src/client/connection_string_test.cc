#include "client/connection_string.h"

#include <gtest/gtest.h>

namespace kiroku {
namespace {

TEST(ConnectionString, SingleHostDefaults) {
  auto cs = ParseConnectionString("esdb://127.0.0.1:2113?tls=false");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->scheme, "esdb");
  EXPECT_FALSE(cs->discover);
  ASSERT_EQ(cs->hosts.size(), 1u);
  EXPECT_EQ(cs->hosts[0].host, "127.0.0.1");
  EXPECT_EQ(cs->hosts[0].port, 2113);
  EXPECT_FALSE(cs->tls);
  auto d = ParseConnectionString("kurrentdb://localhost");
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->tls);
  EXPECT_EQ(d->hosts[0].port, 2113);
}

TEST(ConnectionString, ClusterUserInfoAndOptions) {
  auto cs = ParseConnectionString(
      "esdb+discover://admin:changeit%21@node1:2111,node2:2112,[::1]:2113/"
      "?TLS=false&tlsVerifyCert=false&connectionName=app&defaultDeadline=1500&nodePreference="
      "Follower");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_TRUE(cs->discover);
  ASSERT_EQ(cs->hosts.size(), 3u);
  EXPECT_EQ(cs->hosts[1].ToString(), "node2:2112");
  EXPECT_EQ(cs->hosts[2].host, "::1");
  EXPECT_EQ(*cs->username, "admin");
  EXPECT_EQ(*cs->password, "changeit!");
  EXPECT_FALSE(cs->tls_verify_cert);
  EXPECT_EQ(cs->connection_name, "app");
  EXPECT_EQ(cs->default_deadline.count(), 1500);
  EXPECT_EQ(cs->node_preference, "follower");
}

TEST(ConnectionString, RetryOptions) {
  auto defaults = ParseConnectionString("esdb://h?tls=false");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->max_retries, 3);
  EXPECT_EQ(defaults->retry_backoff.count(), 50);
  auto cs = ParseConnectionString("esdb://h?MaxRetries=0&retryBackoff=250");
  ASSERT_TRUE(cs.ok()) << cs.status().ToString();
  EXPECT_EQ(cs->max_retries, 0);
  EXPECT_EQ(cs->retry_backoff.count(), 250);
  EXPECT_FALSE(ParseConnectionString("esdb://h?maxRetries=-1").ok());
  EXPECT_FALSE(ParseConnectionString("esdb://h?maxRetries=lots").ok());
}

TEST(ConnectionString, ErrorsAreInvalidArgument) {
  for (const char* bad :
       {"127.0.0.1:2113", "http://x", "esdb://", "esdb://h:99999", "esdb://h?tls=maybe",
        "esdb://h?bogus=1", "esdb://h?tls", "esdb://h:,k", "esdb://user@h"}) {
    auto cs = ParseConnectionString(bad);
    EXPECT_FALSE(cs.ok()) << bad;
    if (!cs.ok()) {
      EXPECT_EQ(cs.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

}  // namespace
}  // namespace kiroku
