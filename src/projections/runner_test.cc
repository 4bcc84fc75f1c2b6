// The projection runner against real databases: SQLite files always, and PostgreSQL when
// KIROKU_TEST_PG_URL names a server (tests/projections/run_pg_tests.sh starts a private
// one). Both targets run the same tests.
#include "projections/runner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <thread>

#include "projections/checkpoint_table.h"
#include "projections/learner_model.h"
#include "projections/target.h"
#include "projections/version_compare.h"
#include "support/test_dir.h"

namespace kiroku::projections {
namespace {

using kiroku::testing::LearnerEvents;
using kiroku::testing::LearnerModel;
using kiroku::testing::LearnerRow;
using kiroku::testing::LearnerSpec;

class RunnerTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "postgresql") {
      const char* url = std::getenv("KIROKU_TEST_PG_URL");
      if (!url || !*url) GTEST_SKIP() << "KIROKU_TEST_PG_URL not set";
      target_ = url;
    } else {
      target_ = "sqlite:" + dir_.Sub("read.db");
    }
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    name_ = "t";
    for (char c : test.substr(0, 24)) {
      if (std::isalnum(static_cast<unsigned char>(c))) name_ += static_cast<char>(std::tolower(c));
    }
    name_ += "_" + std::to_string(getpid());
    StoreOptions o;
    o.durability = Durability::kNoSync;
    auto s = Store::Open(dir_.Sub("data"), o);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }

  void TearDown() override {
    if (GetParam() == "postgresql" && !target_.empty()) {
      auto sink = OpenPostgresSink(target_, "public", SinkMode::kLive);
      if (sink.ok()) {
        for (std::string schema : {name_, name_ + "_v1", name_ + "_v2"}) {
          (void)(*sink)->Exec("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
        }
      }
    }
  }

  ProjectionSpec Spec(int version = 1, const std::string& extra = "",
                      const std::string& join_sql = "") {
    auto spec = ParseSpecText(LearnerSpec(name_, target_, version, extra, join_sql), "spec.yaml");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return *spec;
  }

  void Append(int n, uint32_t seed_offset = 0) {
    for (int i = 0; i < n; ++i) {
      auto [stream, e] = gen_.Next();
      (void)seed_offset;
      auto r = store_->Append(stream, ExpectedRevision::Any(), {e});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

  void AppendRaw(const std::string& stream, const std::string& type, const std::string& data) {
    EventData e;
    e.id = EventId::Random();
    e.type = type;
    e.data = data;
    ASSERT_TRUE(store_->Append(stream, ExpectedRevision::Any(), {e}).ok());
  }

  LearnerModel Expected() {
    LearnerModel m;
    ReadAllOptions o;
    auto r = store_->ReadAll(o);
    EXPECT_TRUE(r.ok());
    for (const RecordedEvent& e : r->events) kiroku::testing::ApplyToModel(e, &m);
    return m;
  }

  Position LastPosition() {
    ReadAllOptions o;
    o.direction = Direction::kBackwards;
    o.from = Position::End();
    o.max_count = 1;
    return store_->ReadAll(o)->events.at(0).position;
  }

  LearnerModel Actual(const ProjectionSpec& spec, int64_t version) {
    LearnerModel m;
    auto sink = OpenVersion(spec, version, SinkMode::kLive);
    EXPECT_TRUE(sink.ok()) << sink.status().ToString();
    Status s =
        (*sink)->Query("SELECT learner_id, group_id, study_days, minutes, last_day FROM learners",
                       [&](const SqlRow& r) {
                         m[*r[0]] = LearnerRow{r[1].value_or(""), std::stoll(*r[2]),
                                               std::stoll(*r[3]), r[4].value_or("")};
                         return true;
                       });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return m;
  }

  std::optional<CheckpointRow> Checkpoint(const ProjectionSpec& spec, int64_t version) {
    auto sink = OpenVersion(spec, version, SinkMode::kLive);
    EXPECT_TRUE(sink.ok());
    auto row = CheckpointTable::Read(sink->get(), spec.name);
    EXPECT_TRUE(row.ok()) << row.status().ToString();
    return *row;
  }

  Status RunOnce(const ProjectionSpec& spec, RunnerOptions options = {}) {
    options.follow = false;
    KIROKU_ASSIGN_OR_RETURN(auto sink, OpenVersion(spec, spec.version, options.mode));
    KIROKU_ASSIGN_OR_RETURN(auto runner, ProjectionRunner::Open(spec, std::move(sink), options));
    auto source = MakeEmbeddedSource(store_.get());
    return runner->Run(source.get(), nullptr);
  }

  kiroku::testing::TestDir dir_;
  std::string target_, name_;
  std::unique_ptr<Store> store_;
  LearnerEvents gen_{42};
};

TEST_P(RunnerTest, AppliesEveryEventOnceAcrossRuns) {
  ProjectionSpec spec = Spec();
  Append(400);
  ASSERT_TRUE(RunOnce(spec).ok());
  EXPECT_EQ(Actual(spec, 1), Expected());
  Append(300);
  ASSERT_TRUE(RunOnce(spec).ok());  // resumes after the checkpoint: no event twice
  LearnerModel expected = Expected();
  EXPECT_EQ(Actual(spec, 1), expected);
  auto cp = Checkpoint(spec, 1);
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->position, LastPosition());
  EXPECT_EQ(cp->events_applied, 700u);
  ASSERT_TRUE(RunOnce(spec).ok());  // nothing new: nothing changes
  EXPECT_EQ(Actual(spec, 1), expected);
}

TEST_P(RunnerTest, FollowsLiveAppends) {
  ProjectionSpec spec = Spec();
  Append(50);
  auto sink = OpenVersion(spec, 1, SinkMode::kLive);
  ASSERT_TRUE(sink.ok());
  auto runner = ProjectionRunner::Open(spec, std::move(*sink), {});
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  std::atomic<bool> stop{false};
  auto source = MakeEmbeddedSource(store_.get());
  Status result;
  std::thread t([&] { result = (*runner)->Run(source.get(), &stop); });
  for (int round = 0; round < 5; ++round) {
    Append(40);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Position last = LastPosition();
  for (int i = 0; i < 500 && (*runner)->status().position != last; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  t.join();
  ASSERT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(Actual(spec, 1), Expected());
  EXPECT_EQ(Checkpoint(spec, 1)->state, "stopped");
}

TEST_P(RunnerTest, FailingEventStopsWithEventStatementAndErrorThenResumesAfterFix) {
  ProjectionSpec spec = Spec();
  Append(100);
  Position before_bad = LastPosition();
  AppendRaw("learner-bad", "JoinedGroup", "{\"group_id\":\"g1\"}");  // no learner_id: NOT NULL
  Position bad = LastPosition();
  Append(100);
  Status s = RunOnce(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("spec.yaml:"), std::string::npos) << s.ToString();
  auto cp = Checkpoint(spec, 1);
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->state, "failed");
  EXPECT_EQ(cp->position, before_bad);  // everything before the bad event is applied
  auto err = ProjectionError::FromJson(cp->last_error);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->position, bad);
  EXPECT_EQ(err->stream, "learner-bad");
  EXPECT_EQ(err->event_type, "JoinedGroup");
  EXPECT_NE(err->statement.find("INSERT INTO learners"), std::string::npos);
  EXPECT_NE(err->where.find("spec.yaml:"), std::string::npos);
  EXPECT_TRUE(err->error.find("NOT NULL") != std::string::npos ||
              err->error.find("not-null") != std::string::npos)
      << err->error;
  // Running again without a fix stops at the same event.
  EXPECT_FALSE(RunOnce(spec).ok());
  EXPECT_EQ(Checkpoint(spec, 1)->position, before_bad);
  // The fix: default the missing id. Same version, new statement.
  ProjectionSpec fixed = Spec(1, "",
                              "INSERT INTO learners VALUES (COALESCE(:data.learner_id, 'unknown'), "
                              ":data.group_id, 0, 0, NULL)");
  ASSERT_TRUE(RunOnce(fixed).ok());
  LearnerModel expected = Expected();
  expected["unknown"] = LearnerRow{"g1", 0, 0, ""};
  EXPECT_EQ(Actual(spec, 1), expected);
  cp = Checkpoint(spec, 1);
  EXPECT_EQ(cp->position, LastPosition());
  EXPECT_EQ(cp->state, "running");
}

TEST_P(RunnerTest, SkipPolicyDeadLettersTheEventAndGoesOn) {
  ProjectionSpec spec = Spec(1, "on_error: skip\n");
  Append(60);
  AppendRaw("learner-bad", "JoinedGroup", "{\"group_id\":\"g1\"}");
  Position bad = LastPosition();
  Append(60);
  AppendRaw("learner-bad2", "JoinedGroup", "{\"group_id\":\"g2\"}");
  Append(10);
  ASSERT_TRUE(RunOnce(spec).ok());
  EXPECT_EQ(Actual(spec, 1), Expected());  // the model ignores id-less joins too
  auto cp = Checkpoint(spec, 1);
  EXPECT_EQ(cp->events_skipped, 2u);
  EXPECT_EQ(cp->position, LastPosition());
  auto sink = OpenVersion(spec, 1, SinkMode::kLive);
  std::vector<std::string> streams;
  std::vector<std::string> positions;
  ASSERT_TRUE((*sink)
                  ->Query("SELECT stream, position, error FROM _kiroku_dead_letter ORDER BY "
                          "position",
                          [&](const SqlRow& r) {
                            streams.push_back(*r[0]);
                            positions.push_back(*r[1]);
                            EXPECT_FALSE(r[2]->empty());
                            return true;
                          })
                  .ok());
  EXPECT_EQ(streams, (std::vector<std::string>{"learner-bad", "learner-bad2"}));
  EXPECT_EQ(positions.at(0), std::to_string(bad.value));
}

TEST_P(RunnerTest, SkipFailedOptionSkipsOnlyTheRecordedEvent) {
  ProjectionSpec spec = Spec();
  Append(30);
  AppendRaw("learner-bad", "JoinedGroup", "{\"group_id\":\"g1\"}");
  Append(30);
  ASSERT_FALSE(RunOnce(spec).ok());
  RunnerOptions o;
  o.skip_failed = true;
  ASSERT_TRUE(RunOnce(spec, o).ok());
  EXPECT_EQ(Actual(spec, 1), Expected());
  EXPECT_EQ(Checkpoint(spec, 1)->events_skipped, 1u);
}

TEST_P(RunnerTest, SpecErrorsNameFileLineAndTheDatabaseMessage) {
  // Unknown parameter: caught by the parser.
  auto bad_param = ParseSpecText(
      LearnerSpec(name_, target_, 1, "", "INSERT INTO learners VALUES (:data.id, :evnt.type)"),
      "p.yaml");
  ASSERT_FALSE(bad_param.ok());
  EXPECT_NE(bad_param.status().message().find("p.yaml:10:"), std::string::npos)
      << bad_param.status().message();
  EXPECT_NE(bad_param.status().message().find("unknown parameter :evnt.type"), std::string::npos);
  // Bad SQL: caught against the database, before anything runs.
  ProjectionSpec syntax = Spec(1, "", "INSERT INTO learners VALUES (:data.id,,)");
  Status s = ProjectionRunner::Validate(syntax);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("spec.yaml:10: JoinedGroup: "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("syntax error"), std::string::npos) << s.message();
  // Missing table, with the line of a block statement.
  auto missing = ParseSpecText(
      "name: " + name_ + "\nsource: {categories: [learner]}\ntarget: " + target_ +
          "\nschema: |\n  CREATE TABLE a(x INT);\non:\n  JoinedGroup: |\n    INSERT INTO a "
          "VALUES (1);\n    INSERT INTO nope VALUES (:data.learner_id)\n",
      "m.yaml");
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  s = ProjectionRunner::Validate(*missing);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("m.yaml:9: JoinedGroup: "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s.message();
  // Bad schema DDL.
  auto ddl =
      ParseSpecText("name: " + name_ + "\nsource: {categories: [learner]}\ntarget: " + target_ +
                        "\nschema: |\n  CREATE TABLE a(x INT);\n  CREATE TABEL b(y INT);\non:\n  "
                        "X: INSERT INTO a VALUES (1)\n",
                    "d.yaml");
  ASSERT_TRUE(ddl.ok());
  s = ProjectionRunner::Validate(*ddl);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("d.yaml:6: schema: "), std::string::npos) << s.message();
  // Nothing was created by the failed opens.
  auto exists = VersionExists(syntax, 1);
  ASSERT_TRUE(exists.ok());
  EXPECT_FALSE(*exists);
}

TEST_P(RunnerTest, RebuildVerifySwitchWhileTheOldVersionServes) {
  ProjectionSpec v1 = Spec(1);
  Append(300);
  ASSERT_TRUE(RunOnce(v1).ok());
  ASSERT_TRUE(SwitchLive(v1, 1).ok());
  // The new version rebuilds from 0 while the old one keeps serving and events arrive.
  ProjectionSpec v2 = Spec(2);
  RunnerOptions rebuild;
  rebuild.mode = SinkMode::kRebuild;
  ASSERT_TRUE(RunOnce(v2, rebuild).ok());
  EXPECT_EQ(Checkpoint(v2, 2)->state, "built");
  EXPECT_TRUE(Checkpoint(v2, 2)->deferred_ddl.empty());  // the index was created at the end
  Append(100);
  ASSERT_TRUE(RunOnce(v1).ok());
  EXPECT_EQ(Actual(v1, 1), Expected());  // old still serves the full model
  // Bring v2 to exactly v1's position, then compare.
  std::optional<Position> p1 = Checkpoint(v1, 1)->position;
  RunnerOptions to_p1;
  to_p1.mode = SinkMode::kRebuild;
  to_p1.stop_at = p1;
  ASSERT_TRUE(RunOnce(v2, to_p1).ok());
  EXPECT_EQ(Checkpoint(v2, 2)->position, p1);
  {
    auto a = OpenVersion(v1, 1, SinkMode::kLive);
    auto b = OpenVersion(v2, 2, SinkMode::kLive);
    ASSERT_TRUE((*a)->BeginSnapshot().ok());
    ASSERT_TRUE((*b)->BeginSnapshot().ok());
    auto cmp = CompareVersions(a->get(), b->get(), 3);
    ASSERT_TRUE(cmp.ok()) << cmp.status().ToString();
    ASSERT_EQ(cmp->size(), 1u);
    EXPECT_TRUE(cmp->at(0).equal());
    EXPECT_GT(cmp->at(0).old_rows, 0u);
  }
  ASSERT_TRUE(SwitchLive(v2, 2).ok());
  EXPECT_EQ(*LiveVersion(v2), std::optional<int64_t>(2));
  EXPECT_FALSE(DropVersion(v2, 2).ok());  // live
  ASSERT_TRUE(DropVersion(v1, 1).ok());
  EXPECT_FALSE(*VersionExists(v1, 1));
  EXPECT_EQ(Actual(v2, 2), Expected());
}

TEST_P(RunnerTest, VerifyReportsDifferingRows) {
  ProjectionSpec v1 = Spec(1);
  Append(200);
  ASSERT_TRUE(RunOnce(v1).ok());
  // v2 counts minutes twice: a real difference verify must show.
  std::string text = LearnerSpec(name_, target_, 2);
  size_t at = text.find("minutes = minutes + :data.minutes");
  text.replace(at, std::string("minutes = minutes + :data.minutes").size(),
               "minutes = minutes + 2 * :data.minutes");
  auto v2 = ParseSpecText(text, "v2.yaml");
  ASSERT_TRUE(v2.ok());
  RunnerOptions rebuild;
  rebuild.mode = SinkMode::kRebuild;
  ASSERT_TRUE(RunOnce(*v2, rebuild).ok());
  auto a = OpenVersion(v1, 1, SinkMode::kLive);
  auto b = OpenVersion(*v2, 2, SinkMode::kLive);
  ASSERT_TRUE((*a)->BeginSnapshot().ok());
  ASSERT_TRUE((*b)->BeginSnapshot().ok());
  auto cmp = CompareVersions(a->get(), b->get(), 2);
  ASSERT_TRUE(cmp.ok());
  ASSERT_EQ(cmp->size(), 1u);
  EXPECT_FALSE(cmp->at(0).equal());
  EXPECT_EQ(cmp->at(0).old_rows, cmp->at(0).new_rows);
  EXPECT_NE(cmp->at(0).old_checksum, cmp->at(0).new_checksum);
  EXPECT_EQ(cmp->at(0).only_in_old.size(), 2u);
  EXPECT_EQ(cmp->at(0).only_in_new.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Targets, RunnerTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace kiroku::projections
