// The `kiroku` CLI against a real `kiroku serve` process over gRPC (--url), plus the
// server's clean shutdown on SIGTERM with appends in flight.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "support/process.h"
#include "support/test_dir.h"

namespace kiroku::testing {
namespace {

const std::string kBin = KIROKU_BIN;

class CliServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>(kBin, dir_.Sub("data"));
    std::string err;
    ASSERT_TRUE(server_->Start(&err)) << err;
  }
  void TearDown() override {
    if (server_) {
      std::string out;
      EXPECT_EQ(server_->Stop(&out), 0) << out;
      EXPECT_NE(out.find("stopped cleanly"), std::string::npos) << out;
    }
  }
  CommandResult Cli(const std::string& args) {
    return RunCommand(kBin + " " + args + " --url '" + server_->url() + "'");
  }

  TestDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(CliServerTest, AppendReadAndErrors) {
  auto a =
      Cli("append --stream order-1 --type Placed --payload '{\"total\":5}' --expected no_stream "
          "--json");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  EXPECT_NE(a.output.find("\"current_revision\":0"), std::string::npos) << a.output;
  auto stdin_append = RunCommand(
      "printf '%s\\n' '{\"type\":\"Paid\",\"data\":{\"n\":1}}' "
      "'{\"type\":\"Shipped\",\"data\":{\"n\":2}}' | " +
      kBin + " append --stream order-1 --expected 0 --url '" + server_->url() + "'");
  ASSERT_EQ(stdin_append.exit_code, 0) << stdin_append.output;
  EXPECT_NE(stdin_append.output.find("revision 2"), std::string::npos) << stdin_append.output;
  auto r = Cli("read --stream order-1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"type\":\"Placed\""), std::string::npos);
  EXPECT_NE(r.output.find("\"total\":5"), std::string::npos);
  EXPECT_NE(r.output.find("\"type\":\"Shipped\""), std::string::npos);
  auto back = Cli("read --stream order-1 --backwards --count 1");
  EXPECT_NE(back.output.find("order-1@2"), std::string::npos) << back.output;
  auto wev = Cli("append --stream order-1 --type X --expected 0");
  EXPECT_EQ(wev.exit_code, 4) << wev.output;
  EXPECT_NE(wev.output.find("WrongExpectedVersion"), std::string::npos);
  auto missing = Cli("read --stream nope");
  EXPECT_EQ(missing.exit_code, 5) << missing.output;
  auto bad_url = RunCommand(kBin + " read --stream x --url 'http://nope'");
  EXPECT_EQ(bad_url.exit_code, 2) << bad_url.output;
  auto no_target = RunCommand(kBin + " read --stream x");
  EXPECT_EQ(no_target.exit_code, 2) << no_target.output;
  auto all = Cli("read --all --stream-prefix order- --json");
  EXPECT_EQ(all.exit_code, 0);
  EXPECT_EQ(std::count(all.output.begin(), all.output.end(), '\n'), 3) << all.output;
}

TEST_F(CliServerTest, MetadataDeleteTombstoneTail) {
  ASSERT_EQ(Cli("append --stream s --type A").exit_code, 0);
  ASSERT_EQ(Cli("append --stream s --type B").exit_code, 0);
  auto set = Cli("meta set --stream s --metadata '{\"$maxCount\":1,\"owner\":\"team\"}'");
  ASSERT_EQ(set.exit_code, 0) << set.output;
  auto get = Cli("meta get --stream s");
  EXPECT_NE(get.output.find("\"$maxCount\":1"), std::string::npos) << get.output;
  EXPECT_NE(get.output.find("\"owner\":\"team\""), std::string::npos) << get.output;
  auto capped = Cli("read --stream s");
  EXPECT_EQ(std::count(capped.output.begin(), capped.output.end(), '\n'), 1) << capped.output;
  auto tail = Cli("tail --stream s --from-start --limit 1 --json");
  EXPECT_EQ(tail.exit_code, 0) << tail.output;
  EXPECT_NE(tail.output.find("\"type\":\"B\""), std::string::npos) << tail.output;
  // A live tail sees an event appended after it started.
  std::thread later([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    Cli("append --stream live --type Later");
  });
  auto live = Cli("tail --stream live --limit 1");
  later.join();
  EXPECT_EQ(live.exit_code, 0) << live.output;
  EXPECT_NE(live.output.find("live@0"), std::string::npos) << live.output;
  EXPECT_EQ(Cli("delete --stream s").exit_code, 0);
  EXPECT_EQ(Cli("read --stream s").exit_code, 5);
  EXPECT_EQ(Cli("tombstone --stream s").exit_code, 0);
  auto after = Cli("append --stream s --type C");
  EXPECT_EQ(after.exit_code, 5) << after.output;
  EXPECT_NE(after.output.find("StreamDeleted"), std::string::npos);
  auto stats = RunCommand(
      kBin + " admin stats --http-url http://127.0.0.1:" + std::to_string(server_->http_port()));
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_NE(stats.output.find("\"events_appended\""), std::string::npos) << stats.output;
  auto discover = RunCommand(kBin + " read --stream live --url 'esdb+discover://127.0.0.1:" +
                             std::to_string(server_->port()) + "?tls=false'");
  EXPECT_EQ(discover.exit_code, 0) << discover.output;
  EXPECT_NE(discover.output.find("live@0"), std::string::npos);
}

TEST_F(CliServerTest, SigtermWithAppendsInFlightLosesNothingAcknowledged) {
  // 8 concurrent writers, 40 appends each, while the server is told to stop.
  std::vector<std::thread> writers;
  std::vector<std::vector<int>> acked(8);
  for (int w = 0; w < 8; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 40; ++i) {
        auto r = Cli("append --stream w-" + std::to_string(w) +
                     " --type E --payload '{\"i\":" + std::to_string(i) + "}'");
        if (r.exit_code == 0) acked[w].push_back(i);
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  std::string out;
  EXPECT_EQ(server_->Stop(&out), 0) << out;
  for (auto& t : writers) t.join();
  server_ = std::make_unique<ServerProcess>(kBin, dir_.Sub("data"));
  std::string err;
  ASSERT_TRUE(server_->Start(&err)) << err;
  size_t total = 0;
  for (int w = 0; w < 8; ++w) {
    auto r = Cli("read --stream w-" + std::to_string(w) + " --json --count 1000");
    for (int i : acked[w]) {
      EXPECT_NE(r.output.find("\"i\":" + std::to_string(i) + "}"), std::string::npos)
          << "acknowledged append w-" << w << " #" << i << " lost";
    }
    total += acked[w].size();
  }
  EXPECT_GT(total, 0u);
}

TEST(CliServerTls, ConfigFileEnablesTlsAndFlagsWin) {
  TestDir dir;
  auto gen = RunCommand("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + dir.Sub("key.pem") +
                        " -out " + dir.Sub("cert.pem") +
                        " -days 1 -subj /CN=localhost -addext subjectAltName=DNS:localhost");
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  {
    std::FILE* f = std::fopen(dir.Sub("kiroku.toml").c_str(), "w");
    ASSERT_NE(f, nullptr);
    // --port/--http-port 0 given by ServerProcess on the command line must win over these.
    std::fprintf(f,
                 "# test config\n[serve]\nport = 1\nhttp-port = 2\ntls-cert = \"%s\"\n"
                 "tls-key = '%s'\n",
                 dir.Sub("cert.pem").c_str(), dir.Sub("key.pem").c_str());
    std::fclose(f);
  }
  ServerProcess server(kBin, dir.Sub("data"), {"--config", dir.Sub("kiroku.toml")});
  std::string err;
  ASSERT_TRUE(server.Start(&err)) << err;
  const std::string tls_url = "esdb://localhost:" + std::to_string(server.port()) +
                              "?tls=true&tlsCAFile=" + dir.Sub("cert.pem");
  auto a = RunCommand(kBin + " append --stream secure --type X --url '" + tls_url + "'");
  EXPECT_EQ(a.exit_code, 0) << a.output;
  auto r = RunCommand(kBin + " read --stream secure --url '" + tls_url + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("secure@0"), std::string::npos) << r.output;
  auto plain = RunCommand(kBin + " read --stream secure --url 'esdb://localhost:" +
                          std::to_string(server.port()) + "?tls=false&defaultDeadline=3000'");
  EXPECT_NE(plain.exit_code, 0) << plain.output;
  EXPECT_EQ(server.Stop(), 0);
}

}  // namespace
}  // namespace kiroku::testing
