#include "projections/spec.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "projections/event_params.h"
#include "projections/sql_text.h"

namespace kiroku::projections {
namespace {

TEST(JsonPath, FindsNestedValuesWithoutParsingTheRest) {
  std::string doc = R"({"a": {"skip": [1, {"x": "}"}], "b": [10, {"c": "v\"q"}]}, "n": -3,
                        "f": 2.5, "t": true, "z": null, "big": 123456789012345678901})";
  EXPECT_EQ(*FindJsonPath(doc, {"a", "b", "0"}), "10");
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"a", "b", "1", "c"})).s, "v\"q");
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"n"})).i, -3);
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"f"})).d, 2.5);
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"t"})).i, 1);
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"z"})).kind, SqlValue::Kind::kNull);
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"big"})).kind, SqlValue::Kind::kReal);
  EXPECT_EQ(JsonToSqlValue(*FindJsonPath(doc, {"a", "skip"})).s, R"([1, {"x": "}"}])");
  EXPECT_FALSE(FindJsonPath(doc, {"missing"}));
  EXPECT_FALSE(FindJsonPath(doc, {"a", "b", "7"}));
  EXPECT_FALSE(FindJsonPath("not json", {"a"}));
}

TEST(ParamRef, ParsesTheDocumentedForms) {
  EXPECT_EQ(ParamRef::Parse("data.a.b")->path, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ParamRef::Parse("metadata.user")->source, ParamRef::Source::kMetadata);
  EXPECT_EQ(ParamRef::Parse("event.position")->source, ParamRef::Source::kEventPosition);
  EXPECT_FALSE(ParamRef::Parse("event.nope").ok());
  EXPECT_FALSE(ParamRef::Parse("foo").ok());
  EXPECT_FALSE(ParamRef::Parse("data..x").ok());
  RecordedEvent e;
  e.stream = "learner-1";
  e.type = "T";
  e.revision = StreamRevision(4);
  e.position = Position(99);
  e.created_us = 1763789004123456;
  EXPECT_EQ(ParamValue(*ParamRef::Parse("event.stream"), e).s, "learner-1");
  EXPECT_EQ(ParamValue(*ParamRef::Parse("event.revision"), e).i, 4);
  EXPECT_EQ(ParamValue(*ParamRef::Parse("event.created"), e).s, "2025-11-22T05:23:24.123456Z");
}

TEST(SqlText, RewritesParametersOutsideStringsAndCasts) {
  auto r = RewriteNamedParams(
      "SELECT ':data.no', x::text, :data.a, \"col:data.b\", :event.type -- :data.c\n, :data.a",
      [](int n) { return "$" + std::to_string(n); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sql, "SELECT ':data.no', x::text, $1, \"col:data.b\", $2 -- :data.c\n, $1");
  ASSERT_EQ(r->params.size(), 2u);
  EXPECT_EQ(r->params[0].name, "data.a");
  EXPECT_FALSE(RewriteNamedParams("SELECT :bogus", [](int) { return "?"; }).ok());
  auto parts =
      SplitSqlStatements("CREATE TABLE a(x TEXT DEFAULT ';');\n\n  CREATE INDEX i ON a(x);");
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[1].line, 2);
  EXPECT_TRUE(IsDeferrableIndex(parts[1].sql));
  EXPECT_FALSE(IsDeferrableIndex("CREATE UNIQUE INDEX u ON a(x)"));
}

TEST(Spec, ParsesAndReportsErrorsWithLines) {
  auto spec = ParseSpecText(R"(name: learners
version: 3
source: {categories: [learner, member]}
target: sqlite:read.db
schema: |
  CREATE TABLE t(a TEXT);
on:
  A: INSERT INTO t VALUES (:data.a)
  B:
    - DELETE FROM t WHERE a = :data.a
    - INSERT INTO t VALUES (:event.stream)
on_error: skip
batch: {events: 10, ms: 5}
)",
                            "s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->version, 3);
  EXPECT_EQ(spec->schema.at(0).line, 6);
  EXPECT_EQ(spec->HandlerFor("B")->statements.size(), 2u);
  EXPECT_EQ(spec->HandlerFor("B")->statements[1].line, 11);
  EXPECT_EQ(spec->on_error, OnError::kSkip);
  EXPECT_EQ(spec->batch_events, 10u);
  EXPECT_TRUE(spec->source.Matches("learner-1", "A"));
  EXPECT_TRUE(spec->source.Matches("member", "A"));
  EXPECT_FALSE(spec->source.Matches("learners-1", "A"));
  EXPECT_FALSE(spec->source.Matches("learner-1", "$metadata"));

  auto bad = ParseSpecText("name: x\nsource: {categories: [a]}\ntarget: mysql://x\non: {A: x}\n",
                           "b.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("b.yaml:3: target", 0), 0u) << bad.status().message();
  auto unknown = ParseSpecText("name: x\nsourc: {}\n", "u.yaml");
  EXPECT_NE(unknown.status().message().find("u.yaml:2: unknown key 'sourc'"), std::string::npos);
  auto yaml = ParseSpecText("name: [x\n", "y.yaml");
  EXPECT_FALSE(yaml.ok());
}

TEST(Spec, TargetExpandsEnvironmentVariables) {
  ::setenv("KIROKU_SPEC_TEST_TARGET", "sqlite:/tmp/from-env.db", 1);
  ::unsetenv("KIROKU_SPEC_TEST_UNSET");
  EXPECT_EQ(*ExpandEnvironment("${KIROKU_SPEC_TEST_TARGET}"), "sqlite:/tmp/from-env.db");
  EXPECT_EQ(*ExpandEnvironment("${KIROKU_SPEC_TEST_TARGET:-sqlite:x}"), "sqlite:/tmp/from-env.db");
  EXPECT_EQ(*ExpandEnvironment("${KIROKU_SPEC_TEST_UNSET:-sqlite:x.db}"), "sqlite:x.db");
  EXPECT_EQ(*ExpandEnvironment("postgresql://u@h/${KIROKU_SPEC_TEST_UNSET:-db}?x=1"),
            "postgresql://u@h/db?x=1");
  EXPECT_EQ(*ExpandEnvironment("sqlite:plain.db"), "sqlite:plain.db");
  Result<std::string> unset = ExpandEnvironment("${KIROKU_SPEC_TEST_UNSET}");
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(unset.status().message().find("KIROKU_SPEC_TEST_UNSET is not set"), std::string::npos);
  EXPECT_FALSE(ExpandEnvironment("${KIROKU_SPEC_TEST_TARGET").ok());
  EXPECT_FALSE(ExpandEnvironment("${bad name}").ok());

  const std::string spec =
      "name: p\nsource: { all: true }\ntarget: ${KIROKU_SPEC_TEST_UNSET}\n"
      "schema: CREATE TABLE t(x INTEGER)\non:\n  E: INSERT INTO t VALUES (:data.x)\n";
  Result<ProjectionSpec> parsed = ParseSpecText(spec, "p.yaml");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("p.yaml:3:"), std::string::npos)
      << parsed.status().message();
  ::setenv("KIROKU_SPEC_TEST_UNSET", "sqlite:/tmp/p.db", 1);
  parsed = ParseSpecText(spec, "p.yaml");
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->target, "sqlite:/tmp/p.db");
  ::unsetenv("KIROKU_SPEC_TEST_UNSET");
}

TEST(Spec, SchemaPerDatabase) {
  const std::string base =
      "name: p\nsource: { all: true }\non:\n  E: INSERT INTO t VALUES (:data.x)\n";
  const std::string schema =
      "schema:\n"
      "  sqlite: CREATE TABLE t(x INTEGER PRIMARY KEY) WITHOUT ROWID\n"
      "  postgresql: CREATE TABLE t(x BIGINT PRIMARY KEY)\n";
  Result<ProjectionSpec> lite =
      ParseSpecText(base + "target: sqlite:/tmp/p.db\n" + schema, "p.yaml");
  ASSERT_TRUE(lite.ok()) << lite.status().message();
  ASSERT_EQ(lite->schema.size(), 1u);
  EXPECT_NE(lite->schema[0].sql.find("WITHOUT ROWID"), std::string::npos);
  EXPECT_EQ(lite->schema[0].line, 7);  // the `sqlite:` line
  Result<ProjectionSpec> other = ParseSpecText(
      base + "target: sqlite:/tmp/p.db\nschema:\n  postgresql: CREATE TABLE t(x INT)\n", "p.yaml");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("no sqlite entry"), std::string::npos);
  Result<ProjectionSpec> typo = ParseSpecText(
      base + "target: sqlite:/tmp/p.db\nschema:\n  mysql: CREATE TABLE t(x INT)\n", "p.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("p.yaml:7:"), std::string::npos)
      << typo.status().message();
}

}  // namespace
}  // namespace kiroku::projections
