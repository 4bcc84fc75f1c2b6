// kiroku append --data DIR --stream S (--type T --payload JSON | JSON lines on stdin)
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/backend.h"
#include "cli/commands.h"

namespace kiroku::cli {
namespace {

struct AppendArgs {
  BackendFlags backend;
  std::string stream, type, payload, metadata, expected = "any";
  bool json = false;
};

}  // namespace

Result<ExpectedRevision> ParseExpected(const std::string& s) {
  if (s == "any") return ExpectedRevision::Any();
  if (s == "no_stream" || s == "no-stream") return ExpectedRevision::NoStream();
  if (s == "stream_exists" || s == "stream-exists") return ExpectedRevision::StreamExists();
  try {
    size_t used = 0;
    unsigned long long v = std::stoull(s, &used);
    if (used == s.size()) return ExpectedRevision::Exact(StreamRevision(v));
  } catch (...) {
  }
  return Status::InvalidArgument("--expected must be any, no_stream, stream_exists or a revision");
}

namespace {

// One JSON object per line: {"type": "...", "data": {...}, "metadata": {...}, "id": "uuid"}
Result<std::vector<EventData>> ReadJsonLines(std::istream& in) {
  std::vector<EventData> events;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("type") || !j["type"].is_string()) {
      return Status::InvalidArgument("stdin line " + std::to_string(n) +
                                     ": expected a JSON object with a string \"type\"");
    }
    EventData e;
    e.type = j["type"].get<std::string>();
    if (j.contains("id")) {
      auto id = EventId::Parse(j["id"].is_string() ? j["id"].get<std::string>() : "");
      if (!id) return Status::InvalidArgument("stdin line " + std::to_string(n) + ": bad id");
      e.id = *id;
    } else {
      e.id = EventId::Random();
    }
    e.data = j.contains("data") ? j["data"].dump() : "{}";
    if (j.contains("metadata")) e.metadata = j["metadata"].dump();
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace

void AddAppendCommand(CLI::App& app, Action* action) {
  auto a = std::make_shared<AppendArgs>();
  auto* cmd = app.add_subcommand(
      "append", "Append events to a stream (one from flags, or JSON lines on stdin)");
  AddBackendFlags(cmd, &a->backend);
  cmd->add_option("--stream", a->stream, "Stream name")->required();
  cmd->add_option("--type", a->type, "Event type (omit to read JSON lines from stdin)");
  cmd->add_option("--payload", a->payload, "Event data (JSON)")->default_val("{}");
  cmd->add_option("--metadata", a->metadata, "Event metadata (JSON)");
  cmd->add_option("--expected", a->expected, "any | no_stream | stream_exists | <revision>");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([a, action] {
    *action = [a]() -> int {
      auto expected = ParseExpected(a->expected);
      if (!expected.ok()) return PrintError(expected.status());
      std::vector<EventData> events;
      if (!a->type.empty()) {
        EventData e;
        e.id = EventId::Random();
        e.type = a->type;
        e.data = a->payload;
        e.metadata = a->metadata;
        events.push_back(std::move(e));
      } else {
        auto r = ReadJsonLines(std::cin);
        if (!r.ok()) return PrintError(r.status());
        events = std::move(r).value();
      }
      auto backend = OpenBackend(a->backend);
      if (!backend.ok()) return PrintError(backend.status());
      size_t n = events.size();
      auto r = (*backend)->Append(a->stream, *expected, std::move(events));
      if (!r.ok()) return PrintError(r.status());
      if (a->json) {
        std::printf("{\"events\":%zu,\"current_revision\":%llu,\"position\":%llu}\n", n,
                    static_cast<unsigned long long>(r->current_revision.value),
                    static_cast<unsigned long long>(r->position.value));
      } else {
        std::printf("appended %zu event(s) to %s; revision %llu, position %llu\n", n,
                    a->stream.c_str(), static_cast<unsigned long long>(r->current_revision.value),
                    static_cast<unsigned long long>(r->position.value));
      }
      return 0;
    };
  });
}

}  // namespace kiroku::cli
