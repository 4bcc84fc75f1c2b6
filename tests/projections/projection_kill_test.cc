// Exactly-once under SIGKILL: `kiroku projection run --url` follows a real `kiroku serve`
// while events keep arriving, and is killed with SIGKILL at random moments, many rounds.
// Afterwards one more run catches up, and the read model must equal the one computed from
// all events in one pass (a replayed event would add its minutes twice; a skipped one
// would miss them). Runs for SQLite, and for PostgreSQL when KIROKU_TEST_PG_URL is set.
// KIROKU_PROJECTION_KILL_ROUNDS sets the number of rounds (default 25).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
#include <thread>

#include "kiroku/client.h"
#include "projections/checkpoint_table.h"
#include "projections/learner_model.h"
#include "projections/spec.h"
#include "projections/target.h"
#include "support/process.h"
#include "support/test_dir.h"

namespace kiroku::projections {
namespace {

using kiroku::testing::LearnerModel;
using kiroku::testing::LearnerRow;

pid_t Spawn(const std::vector<std::string>& args, const std::string& log) {
  pid_t pid = ::fork();
  if (pid == 0) {
    FILE* f = std::fopen(log.c_str(), "a");
    if (f) {
      ::dup2(fileno(f), 1);
      ::dup2(fileno(f), 2);
    }
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

int Wait(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class ProjectionKillTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ProjectionKillTest, SigkillAtRandomMomentsNeverAppliesTwiceOrSkips) {
  kiroku::testing::TestDir dir;
  std::string target;
  std::string name = "kill_" + std::to_string(getpid());
  if (GetParam() == "postgresql") {
    const char* url = std::getenv("KIROKU_TEST_PG_URL");
    if (!url || !*url) GTEST_SKIP() << "KIROKU_TEST_PG_URL not set";
    target = url;
  } else {
    target = "sqlite:" + dir.Sub("read.db");
  }
  int rounds = 25;
  if (const char* r = std::getenv("KIROKU_PROJECTION_KILL_ROUNDS")) rounds = std::atoi(r);

  kiroku::testing::ServerProcess server(KIROKU_BIN, dir.Sub("data"), {"--durability", "none"});
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  auto client = RemoteClient::Connect(server.url());
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  const std::string spec_path = dir.Sub("learners.yaml");
  {
    std::ofstream out(spec_path);
    out << kiroku::testing::LearnerSpec(name, target, 1, "batch: {events: 25, ms: 5}\n");
  }
  auto spec = ParseSpecFile(spec_path);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();

  // Events keep arriving during the rounds: small appends, some to other categories.
  std::atomic<bool> stop_appending{false};
  std::atomic<uint64_t> appended{0};
  std::thread appender([&] {
    kiroku::testing::LearnerEvents gen(7, 40);
    while (!stop_appending) {
      std::vector<EventData> batch;
      auto [stream, e] = gen.Next();
      batch.push_back(e);
      if (appended % 7 == 0) {
        EventData other;
        other.id = EventId::Random();
        other.type = "LessonCompleted";  // right type, other category: must be ignored
        other.data = R"({"learner_id":"l1","minutes":1000,"day":"x"})";
        ASSERT_TRUE((*client)->Append("teacher-1", ExpectedRevision::Any(), {other}).ok());
      }
      auto r = (*client)->Append(stream, ExpectedRevision::Any(), batch);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ++appended;
      if (appended % 20 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  while (appended < 500) std::this_thread::sleep_for(std::chrono::milliseconds(5));

  const std::string log = dir.Sub("runs.log");
  std::mt19937 rng(std::random_device{}());
  std::vector<std::string> run = {KIROKU_BIN, "projection", "run",
                                  spec_path,  "--url",      server.url()};
  int killed_running = 0;
  int rounds_with_progress = 0;
  uint64_t applied_before_kill = 0;
  for (int round = 0; round < rounds; ++round) {
    pid_t pid = Spawn(run, log);
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 370));
    ::kill(pid, SIGKILL);
    int code = Wait(pid);
    if (code == 128 + SIGKILL) ++killed_running;
    // Progress between kills, so the rounds are not vacuous.
    if (auto sink = OpenVersion(*spec, 1, SinkMode::kLive); sink.ok()) {
      auto cp = CheckpointTable::Read(sink->get(), name);
      if (cp.ok() && *cp && (*cp)->events_applied > applied_before_kill) {
        applied_before_kill = (*cp)->events_applied;
        ++rounds_with_progress;
      }
    }
  }
  stop_appending = true;
  appender.join();
  EXPECT_GE(killed_running, rounds / 2) << ReadFile(log);
  EXPECT_GE(rounds_with_progress, rounds / 5);
  EXPECT_GT(applied_before_kill, 0u);

  // One more run catches up and exits.
  run.push_back("--once");
  int code = Wait(Spawn(run, log));
  ASSERT_EQ(code, 0) << ReadFile(log);

  // The expected model, from all events in one pass.
  LearnerModel expected;
  uint64_t learner_events = 0;
  std::optional<Position> last;
  ReadAllOptions o;
  o.max_count = 1000;
  while (true) {
    auto r = (*client)->ReadAll(o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    size_t fresh = 0;
    for (const RecordedEvent& e : r->events) {
      if (last && e.position <= *last) continue;  // the page starts at the last one seen
      ++fresh;
      last = e.position;
      if (!e.type.empty() && e.type[0] == '$') continue;
      kiroku::testing::ApplyToModel(e, &expected);
      if (StreamCategory(e.stream) == "learner") ++learner_events;
    }
    if (fresh == 0 || r->end_of_log) break;
    o.from = *last;
  }
  auto sink = OpenVersion(*spec, 1, SinkMode::kLive);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  LearnerModel actual;
  ASSERT_TRUE(
      (*sink)
          ->Query("SELECT learner_id, group_id, study_days, minutes, last_day FROM learners",
                  [&](const SqlRow& r) {
                    actual[*r[0]] = LearnerRow{r[1].value_or(""), std::stoll(*r[2]),
                                               std::stoll(*r[3]), r[4].value_or("")};
                    return true;
                  })
          .ok());
  EXPECT_EQ(actual, expected);
  auto cp = CheckpointTable::Read(sink->get(), name);
  ASSERT_TRUE(cp.ok() && *cp);
  EXPECT_EQ((*cp)->events_applied, learner_events);
  EXPECT_GE((*cp)->position, last);
  std::printf("%d rounds (%d killed while running, %d made progress), %llu learner events\n",
              rounds, killed_running, rounds_with_progress,
              static_cast<unsigned long long>(learner_events));
  if (GetParam() == "postgresql") {
    auto admin = OpenPostgresSink(target, "public", SinkMode::kLive);
    if (admin.ok()) {
      (void)(*admin)->Exec("DROP SCHEMA IF EXISTS " + name + "_v1 CASCADE");
      (void)(*admin)->Exec("DROP SCHEMA IF EXISTS " + name + " CASCADE");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, ProjectionKillTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiroku::projections
