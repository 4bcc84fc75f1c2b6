// The CLI's argument handling without a process: where --url / --data send a command, the
// durability names, --expected, exit codes for errors, and the serve config file.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/store_flags.h"
#include "support/test_dir.h"

namespace kiroku::cli {
namespace {

TEST(StoreFlagsTest, UrlWinsOverData) {
  StoreFlags f;
  f.url = "esdb://127.0.0.1:2113?tls=false";
  f.data_dir = "/tmp/x";
  auto t = EventStoreTarget(f);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, "esdb://127.0.0.1:2113?tls=false");
}

TEST(StoreFlagsTest, DataIsEmbedded) {
  StoreFlags f;
  f.data_dir = "/var/lib/app/events";
  auto t = EventStoreTarget(f);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, "embedded:/var/lib/app/events");
}

TEST(StoreFlagsTest, NeitherIsAClearError) {
  auto t = EventStoreTarget(StoreFlags{});
  ASSERT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("--url"), std::string::npos);
  EXPECT_NE(t.status().message().find("--data"), std::string::npos);
}

TEST(StoreFlagsTest, Durability) {
  EXPECT_EQ(*ParseDurability("sync"), Durability::kSyncEveryGroup);
  EXPECT_EQ(*ParseDurability("interval"), Durability::kSyncInterval);
  EXPECT_EQ(*ParseDurability("none"), Durability::kNoSync);
  auto bad = ParseDurability("fast");
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("--durability"), std::string::npos);
}

TEST(StoreFlagsTest, OpensAnEmbeddedStoreAndRefusesBadDurability) {
  testing::TestDir dir;
  StoreFlags f;
  f.data_dir = dir.path() + "/events";
  auto store = OpenEventStoreForCli(f);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto r = (*store)->Append("cli-1", ExpectedRevision::NoStream(), {EventData{}});
  // An event needs a type: the store's own validation answers, through the one interface.
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  store->reset();
  f.durability = "sometimes";
  EXPECT_EQ(OpenEventStoreForCli(f).status().code(), StatusCode::kInvalidArgument);
}

TEST(StoreFlagsTest, FlagsRegisterOnACommand) {
  CLI::App app;
  StoreFlags f;
  AddStoreFlags(&app, &f);
  const char* argv[] = {"kiroku", "--data", "/d", "--durability", "none"};
  app.parse(5, const_cast<char**>(argv));
  EXPECT_EQ(f.data_dir, "/d");
  EXPECT_EQ(f.durability, "none");
  EXPECT_TRUE(f.url.empty());
}

// ExpectedRevision has no operator== of its own: compare kind and revision.
void ExpectSame(const Result<ExpectedRevision>& got, ExpectedRevision want) {
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->kind(), want.kind());
  if (want.kind() == ExpectedRevision::Kind::kExact) {
    EXPECT_EQ(got->revision().value, want.revision().value);
  }
}

TEST(ExpectedFlagTest, EveryForm) {
  ExpectSame(ParseExpected("any"), ExpectedRevision::Any());
  ExpectSame(ParseExpected("no_stream"), ExpectedRevision::NoStream());
  ExpectSame(ParseExpected("no-stream"), ExpectedRevision::NoStream());
  ExpectSame(ParseExpected("stream_exists"), ExpectedRevision::StreamExists());
  ExpectSame(ParseExpected("stream-exists"), ExpectedRevision::StreamExists());
  ExpectSame(ParseExpected("0"), ExpectedRevision::Exact(StreamRevision(0)));
  ExpectSame(ParseExpected("18446744073709551614"),
             ExpectedRevision::Exact(StreamRevision(18446744073709551614ull)));
  for (const char* bad : {"", "-1", "12x", "x12", "99999999999999999999", "Any"}) {
    EXPECT_EQ(ParseExpected(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(ExitCodeTest, ByKind) {
  EXPECT_EQ(PrintError(Status::InvalidArgument("x")), 2);
  EXPECT_EQ(PrintError(Status::Corruption("x")), 3);
  EXPECT_EQ(PrintError(Status::IOError("x")), 1);
}

TEST(ConfigFileTest, KeysBecomeEnvironmentUnlessSet) {
  testing::TestDir dir;
  const std::string path = dir.path() + "/kiroku.toml";
  {
    std::ofstream out(path);
    out << "# a comment\n[server]\nport = 2999\nhttp-port = 3999\n"
        << "data = \"/srv/events\"\n";
  }
  ::setenv("KIROKU_HTTP_PORT", "4000", 1);
  ::unsetenv("KIROKU_PORT");
  ::unsetenv("KIROKU_DATA");
  ASSERT_TRUE(ApplyConfigFile(path).ok());
  EXPECT_STREQ(std::getenv("KIROKU_PORT"), "2999");
  EXPECT_STREQ(std::getenv("KIROKU_HTTP_PORT"), "4000");  // the environment wins
  EXPECT_STREQ(std::getenv("KIROKU_DATA"), "/srv/events");
  EXPECT_FALSE(ApplyConfigFile(dir.path() + "/missing.toml").ok());
}

TEST(ConfigFileTest, FindsTheFlagInBothForms) {
  const char* a[] = {"kiroku", "serve", "--config", "/etc/k.toml"};
  EXPECT_EQ(FindConfigArg(4, const_cast<char**>(a)), "/etc/k.toml");
  const char* b[] = {"kiroku", "serve", "--config=/etc/j.toml"};
  EXPECT_EQ(FindConfigArg(3, const_cast<char**>(b)), "/etc/j.toml");
  const char* c[] = {"kiroku", "serve"};
  EXPECT_EQ(FindConfigArg(2, const_cast<char**>(c)), "");
}

}  // namespace
}  // namespace kiroku::cli
