// kiroku append --data DIR --stream S (--type T --payload JSON | JSON lines on stdin)
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "cli/commands.h"
#include "cli/store_flags.h"

namespace kiroku::cli {
namespace {

struct AppendArgs {
  StoreFlags store_flags;
  std::string stream, type, payload, metadata, expected = "any";
  bool json = false;
};

}  // namespace

Result<ExpectedRevision> ParseExpected(const std::string& s) {
  if (s == "any") return ExpectedRevision::Any();
  if (s == "no_stream" || s == "no-stream") return ExpectedRevision::NoStream();
  if (s == "stream_exists" || s == "stream-exists") return ExpectedRevision::StreamExists();
  // Digits only: std::stoull alone would take "-1" as 2^64-1 and " 7" as 7.
  if (!s.empty() && s.find_first_not_of("0123456789") == std::string::npos) {
    try {
      return ExpectedRevision::Exact(StreamRevision(std::stoull(s)));
    } catch (const std::out_of_range&) {
    }
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
  AddStoreFlags(cmd, &a->store_flags);
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
      auto events_store = OpenEventStoreForCli(a->store_flags);
      if (!events_store.ok()) return PrintError(events_store.status());
      size_t n = events.size();
      auto r = (*events_store)->Append(a->stream, *expected, std::move(events));
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
