// kiroku demo --data DIR: a short walk through the embedded store, for `make run`.
#include <cstdio>

#include "cli/commands.h"

namespace kiroku::cli {
namespace {

EventData Event(std::string type, std::string data) {
  EventData e;
  e.id = EventId::Random();
  e.type = std::move(type);
  e.data = std::move(data);
  return e;
}

int Demo(const std::string& dir) {
  std::printf("== kiroku embedded store demo in %s\n", dir.c_str());
  auto opened = Store::Open(dir);
  if (!opened.ok()) return PrintError(opened.status());
  auto& store = *opened;
  std::printf("opened; log ends at position %llu\n",
              static_cast<unsigned long long>(store->LogEnd().value));

  const std::string stream = "learner-" + std::to_string(store->LogEnd().value % 100000);
  std::vector<EventData> batch;
  batch.push_back(Event("LearnerRegistered", R"({"name":"Aiko"})"));
  batch.push_back(Event("LessonCompleted", R"({"lesson":"l1","minutes":25})"));
  batch.push_back(Event("LessonCompleted", R"({"lesson":"l2","minutes":40})"));
  auto r = store->Append(stream, ExpectedRevision::NoStream(), std::move(batch));
  if (!r.ok()) return PrintError(r.status());
  std::printf(
      "\n1. appended 3 events to %s atomically (expected no_stream): revision %llu, "
      "position %llu, durable (fdatasync) before this line\n",
      stream.c_str(), static_cast<unsigned long long>(r->current_revision.value),
      static_cast<unsigned long long>(r->position.value));

  std::vector<EventData> stale;
  stale.push_back(Event("LessonCompleted", R"({"lesson":"l3","minutes":10})"));
  auto conflict = store->Append(stream, ExpectedRevision::Exact(StreamRevision(0)), stale);
  std::printf("\n2. append expecting revision 0 (stale): %s\n",
              conflict.ok() ? "accepted?!" : conflict.status().ToString().c_str());
  auto ok = store->Append(stream, ExpectedRevision::Exact(r->current_revision), stale);
  std::printf("   retry expecting revision %llu: %s\n",
              static_cast<unsigned long long>(r->current_revision.value),
              ok.ok()
                  ? ("ok, now at revision " + std::to_string(ok->current_revision.value)).c_str()
                  : ok.status().ToString().c_str());
  auto again = store->Append(stream, ExpectedRevision::Exact(r->current_revision), stale);
  std::printf("   same event id resent at the same expected revision: %s (no duplicate)\n",
              again.ok() ? "ok" : again.status().ToString().c_str());

  std::printf("\n3. read %s forwards:\n", stream.c_str());
  auto events = store->ReadStream(stream, {});
  if (!events.ok()) return PrintError(events.status());
  for (const auto& e : *events) std::printf("   %s\n", EventToHuman(e).c_str());

  std::printf("\n4. last 3 events of $all with stream prefix 'learner-', backwards:\n");
  ReadAllOptions ro;
  ro.direction = Direction::kBackwards;
  ro.from = Position::End();
  ro.max_count = 3;
  ro.filter = EventFilter::StreamPrefix({"learner-"});
  auto all = store->ReadAll(ro);
  if (!all.ok()) return PrintError(all.status());
  for (const auto& e : all->events) std::printf("   %s\n", EventToHuman(e).c_str());

  StreamMetadata meta;
  meta.max_count = 2;
  auto m = store->SetStreamMetadata(stream, ExpectedRevision::Any(), meta);
  if (!m.ok()) return PrintError(m.status());
  auto capped = store->ReadStream(stream, {});
  std::printf("\n5. set $maxCount=2 on %s: a read now returns %zu events\n", stream.c_str(),
              capped.ok() ? capped->size() : 0);

  auto del = store->Delete(stream, ExpectedRevision::Any());
  if (!del.ok()) return PrintError(del.status());
  auto gone = store->ReadStream(stream, {});
  std::printf("\n6. soft-deleted %s: read says %s\n", stream.c_str(),
              gone.ok() ? "found?!" : gone.status().ToString().c_str());

  StoreStats st = store->Stats();
  std::printf(
      "\nstats: %llu appends, %llu events, %llu commit groups, %llu fdatasyncs, %llu "
      "segment(s), log end %llu\n",
      static_cast<unsigned long long>(st.appends),
      static_cast<unsigned long long>(st.events_appended),
      static_cast<unsigned long long>(st.commit_groups), static_cast<unsigned long long>(st.syncs),
      static_cast<unsigned long long>(st.segments),
      static_cast<unsigned long long>(st.log_end.value));
  store.reset();
  auto report = VerifyStore(dir);
  if (!report.ok()) return PrintError(report.status());
  std::printf("\n7. `kiroku admin verify --data %s`: %llu records checked, %s\n", dir.c_str(),
              static_cast<unsigned long long>(report->records), report->ok() ? "OK" : "DAMAGED");
  std::printf("\nTry: build/kiroku read --data %s --all --count 20\n", dir.c_str());
  return report->ok() ? 0 : 3;
}

}  // namespace

void AddDemoCommand(CLI::App& app, Action* action) {
  auto dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("demo", "A short demonstration against an embedded store");
  cmd->add_option("--data", *dir, "Data directory")->default_val("./data");
  cmd->callback([dir, action] { *action = [dir] { return Demo(*dir); }; });
}

}  // namespace kiroku::cli
