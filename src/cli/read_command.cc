// kiroku read --data DIR (--stream S | --all) [--from] [--backwards] [--count] [filters]
#include <cstdio>

#include "cli/commands.h"
#include "cli/store_flags.h"

namespace kiroku::cli {
namespace {

struct ReadArgs {
  StoreFlags store_flags;
  std::string stream;
  bool all = false, backwards = false, json = false;
  std::string from;
  uint64_t count = 100;
  std::vector<std::string> stream_prefix, type_prefix;
  std::string stream_regex, type_regex;
};

}  // namespace

void AddReadCommand(CLI::App& app, Action* action) {
  auto a = std::make_shared<ReadArgs>();
  auto* cmd = app.add_subcommand("read", "Read a stream or $all");
  AddStoreFlags(cmd, &a->store_flags);
  auto* s = cmd->add_option("--stream", a->stream, "Stream name");
  auto* all = cmd->add_flag("--all", a->all, "Read $all (global order)");
  s->excludes(all);
  cmd->add_option("--from", a->from,
                  "Revision (stream) or position ($all) to start at; 'end' for the end");
  cmd->add_flag("--backwards", a->backwards, "Read backwards");
  cmd->add_option("--count", a->count, "Maximum number of events")->default_val(100);
  cmd->add_option("--stream-prefix", a->stream_prefix, "$all filter: stream name prefix");
  cmd->add_option("--type-prefix", a->type_prefix, "$all filter: event type prefix");
  cmd->add_option("--stream-regex", a->stream_regex, "$all filter: stream name regex");
  cmd->add_option("--type-regex", a->type_regex, "$all filter: event type regex");
  cmd->add_flag("--json", a->json, "One JSON object per event");
  cmd->callback([a, action] {
    *action = [a]() -> int {
      if (a->stream.empty() && !a->all) {
        return PrintError(Status::InvalidArgument("give --stream NAME or --all"));
      }
      uint64_t from = 0;
      bool from_end = a->from == "end";
      if (!a->from.empty() && !from_end) {
        try {
          from = std::stoull(a->from);
        } catch (...) {
          return PrintError(Status::InvalidArgument("--from must be a number or 'end'"));
        }
      }
      auto store = OpenEventStoreForCli(a->store_flags);
      if (!store.ok()) return PrintError(store.status());
      std::vector<RecordedEvent> events;
      if (a->all) {
        ReadAllOptions ro;
        ro.direction = a->backwards ? Direction::kBackwards : Direction::kForwards;
        ro.from = from_end || (a->backwards && a->from.empty()) ? Position::End() : Position(from);
        ro.max_count = a->count;
        if (!a->stream_prefix.empty()) ro.filter = EventFilter::StreamPrefix(a->stream_prefix);
        if (!a->type_prefix.empty()) ro.filter = EventFilter::EventTypePrefix(a->type_prefix);
        if (!a->stream_regex.empty()) ro.filter = EventFilter::StreamRegex(a->stream_regex);
        if (!a->type_regex.empty()) ro.filter = EventFilter::EventTypeRegex(a->type_regex);
        auto r = (*store)->ReadAll(ro);
        if (!r.ok()) return PrintError(r.status());
        events = std::move(r->events);
      } else {
        ReadStreamOptions ro;
        ro.direction = a->backwards ? Direction::kBackwards : Direction::kForwards;
        ro.from = from_end || (a->backwards && a->from.empty()) ? StreamRevision::End()
                                                                : StreamRevision(from);
        ro.max_count = a->count;
        auto r = (*store)->ReadStream(a->stream, ro);
        if (!r.ok()) return PrintError(r.status());
        events = std::move(r).value();
      }
      for (const auto& e : events) {
        std::printf("%s\n", (a->json ? EventToJson(e) : EventToHuman(e)).c_str());
      }
      return 0;
    };
  });
}

}  // namespace kiroku::cli
