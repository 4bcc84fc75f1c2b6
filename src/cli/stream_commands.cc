// kiroku tail | meta get | meta set | delete | tombstone  (--url or --data)
#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/store_flags.h"

namespace kiroku::cli {
namespace {

// Set by SIGINT/SIGTERM during `tail`; a signal handler may only touch a lock-free atomic.
std::atomic<bool>* g_tail_stop = nullptr;  // NOLINT: the one process-wide signal target
extern "C" void OnTailSignal(int) {
  if (g_tail_stop) g_tail_stop->store(true);
}

struct StreamArgs {
  StoreFlags store_flags;
  std::string stream, expected = "any";
  bool json = false;
};

void AddTail(CLI::App& app, Action* action) {
  struct TailArgs : StreamArgs {
    bool all = false, from_start = false;
    std::vector<std::string> stream_prefix, type_prefix;
    uint64_t limit = 0;
  };
  auto a = std::make_shared<TailArgs>();
  auto* cmd = app.add_subcommand("tail", "Follow a stream or $all live (Ctrl-C stops)");
  AddStoreFlags(cmd, &a->store_flags);
  auto* s = cmd->add_option("--stream", a->stream, "Stream to follow");
  cmd->add_flag("--all", a->all, "Follow $all")->excludes(s);
  cmd->add_flag("--from-start", a->from_start, "Deliver history first (default: only new events)");
  cmd->add_option("--stream-prefix", a->stream_prefix, "$all filter: stream name prefix");
  cmd->add_option("--type-prefix", a->type_prefix, "$all filter: event type prefix");
  cmd->add_option("--limit", a->limit, "Stop after this many events (0 = never)");
  cmd->add_flag("--json", a->json, "One JSON object per event");
  cmd->callback([a, action] {
    *action = [a]() -> int {
      if (a->stream.empty() && !a->all) {
        return PrintError(Status::InvalidArgument("give --stream NAME or --all"));
      }
      auto b = OpenEventStoreForCli(a->store_flags);
      if (!b.ok()) return PrintError(b.status());
      SubscribeRequest r;
      r.all = a->all;
      r.stream = a->stream;
      r.start = a->from_start ? SubscribeRequest::Start::kBeginning : SubscribeRequest::Start::kEnd;
      if (!a->stream_prefix.empty()) r.filter = EventFilter::StreamPrefix(a->stream_prefix);
      if (!a->type_prefix.empty()) r.filter = EventFilter::EventTypePrefix(a->type_prefix);
      std::atomic<bool> stop{false};
      g_tail_stop = &stop;
      std::signal(SIGINT, OnTailSignal);
      std::signal(SIGTERM, OnTailSignal);
      uint64_t seen = 0;
      Status st = (*b)->Subscribe(
          r,
          [&](const SubscriptionMessage& m) {
            if (m.kind == SubscriptionMessage::Kind::kCaughtUp) {
              if (!a->json) std::fprintf(stderr, "-- live --\n");
              return true;
            }
            if (m.kind != SubscriptionMessage::Kind::kEvent) return true;
            std::printf("%s\n", (a->json ? EventToJson(m.event) : EventToHuman(m.event)).c_str());
            std::fflush(stdout);
            return a->limit == 0 || ++seen < a->limit;
          },
          &stop);
      g_tail_stop = nullptr;
      return st.ok() ? 0 : PrintError(st);
    };
  });
}

void AddMeta(CLI::App& app, Action* action) {
  auto* meta = app.add_subcommand("meta", "Stream metadata ($maxCount, $maxAge, $tb, custom)");
  meta->require_subcommand(1);
  auto g = std::make_shared<StreamArgs>();
  auto* get = meta->add_subcommand("get", "Print a stream's metadata as JSON");
  AddStoreFlags(get, &g->store_flags);
  get->add_option("--stream", g->stream, "Stream")->required();
  get->callback([g, action] {
    *action = [g]() -> int {
      auto b = OpenEventStoreForCli(g->store_flags);
      if (!b.ok()) return PrintError(b.status());
      auto r = (*b)->GetStreamMetadata(g->stream);
      if (!r.ok()) return PrintError(r.status());
      nlohmann::json j{{"stream", g->stream},
                       {"metadata", nlohmann::json::parse(r->metadata.ToJson())}};
      if (r->metastream_revision) j["metastream_revision"] = r->metastream_revision->value;
      std::printf("%s\n", j.dump().c_str());
      return 0;
    };
  });
  struct SetArgs : StreamArgs {
    std::string json_doc;
  };
  auto s = std::make_shared<SetArgs>();
  auto* set = meta->add_subcommand("set", "Replace a stream's metadata with a JSON document");
  AddStoreFlags(set, &s->store_flags);
  set->add_option("--stream", s->stream, "Stream")->required();
  set->add_option("--metadata", s->json_doc, R"(e.g. '{"$maxCount":100,"owner":"team-a"}')")
      ->required();
  set->add_option("--expected", s->expected, "Expected revision of the metadata stream");
  set->callback([s, action] {
    *action = [s]() -> int {
      auto m = StreamMetadata::FromJson(s->json_doc);
      if (!m.ok()) return PrintError(m.status());
      auto e = ParseExpected(s->expected);
      if (!e.ok()) return PrintError(e.status());
      auto b = OpenEventStoreForCli(s->store_flags);
      if (!b.ok()) return PrintError(b.status());
      auto r = (*b)->SetStreamMetadata(s->stream, *e, *m);
      if (!r.ok()) return PrintError(r.status());
      std::printf("metadata of %s set (metadata revision %llu)\n", s->stream.c_str(),
                  static_cast<unsigned long long>(r->current_revision.value));
      return 0;
    };
  });
}

void AddDeletion(CLI::App& app, Action* action, bool hard) {
  auto a = std::make_shared<StreamArgs>();
  auto* cmd = app.add_subcommand(
      hard ? "tombstone" : "delete",
      hard ? "Hard-delete a stream: it can never be read or written again"
           : "Soft-delete a stream: reads say not found; appending again revives it");
  AddStoreFlags(cmd, &a->store_flags);
  cmd->add_option("--stream", a->stream, "Stream")->required();
  cmd->add_option("--expected", a->expected, "any | no_stream | stream_exists | <revision>");
  cmd->add_flag("--json", a->json, "Machine-readable output");
  cmd->callback([a, action, hard] {
    *action = [a, hard]() -> int {
      auto e = ParseExpected(a->expected);
      if (!e.ok()) return PrintError(e.status());
      auto b = OpenEventStoreForCli(a->store_flags);
      if (!b.ok()) return PrintError(b.status());
      auto r = hard ? (*b)->Tombstone(a->stream, *e) : (*b)->Delete(a->stream, *e);
      if (!r.ok()) return PrintError(r.status());
      if (a->json) {
        std::printf("{\"stream\":\"%s\",\"position\":%llu}\n", a->stream.c_str(),
                    static_cast<unsigned long long>(r->position.value));
      } else {
        std::printf("%s %s (position %llu)\n", hard ? "tombstoned" : "deleted", a->stream.c_str(),
                    static_cast<unsigned long long>(r->position.value));
      }
      return 0;
    };
  });
}

}  // namespace

void AddStreamCommands(CLI::App& app, Action* action) {
  AddTail(app, action);
  AddMeta(app, action);
  AddDeletion(app, action, false);
  AddDeletion(app, action, true);
}

}  // namespace kiroku::cli
