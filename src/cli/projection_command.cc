// kiroku projection validate|run|status|rebuild|verify|switch|drop: SQL read models
// (docs/projections.md). `run` and `rebuild` read from a server (--url) or, with the store
// closed by everyone else, straight from a data directory (--data).
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "cli/commands.h"
#include "kiroku/event_store.h"
#include "projections/checkpoint_table.h"
#include "projections/event_source.h"
#include "projections/runner.h"
#include "projections/spec.h"
#include "projections/target.h"
#include "projections/version_compare.h"

namespace kiroku::cli {
namespace {

namespace pj = kiroku::projections;

struct SourceFlags {
  std::string url;
  std::string data_dir;
};

// Owns whatever the source reads from.
struct OpenedSource {
  std::unique_ptr<Store> store;
  std::unique_ptr<EventStore> events;
  std::unique_ptr<pj::EventSource> source;
};

Result<OpenedSource> OpenSource(const SourceFlags& f) {
  OpenedSource o;
  if (!f.url.empty()) {
    KIROKU_ASSIGN_OR_RETURN(o.events, OpenEventStore(f.url));
    o.source = pj::MakeSubscriptionSource(o.events.get());
  } else if (!f.data_dir.empty()) {
    KIROKU_ASSIGN_OR_RETURN(o.store, OpenStoreForCli(f.data_dir, "sync"));
    o.source = pj::MakeEmbeddedSource(o.store.get());
  } else {
    return Status::InvalidArgument("give --url esdb://host:2113?tls=false or --data DIR");
  }
  return o;
}

void AddSourceFlags(CLI::App* cmd, SourceFlags* f) {
  cmd->add_option("--url", f->url, "Server connection string, e.g. esdb://127.0.0.1:2113?tls=false")
      ->envname("KIROKU_URL");
  cmd->add_option("--data", f->data_dir, "Read an embedded store's data directory instead");
}

int64_t NowUs() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return int64_t{tv.tv_sec} * 1000000 + tv.tv_usec;
}

// Sets `stop` on SIGINT/SIGTERM. Call before starting other threads.
class StopOnSignal {
 public:
  StopOnSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      int sig = 0;
      sigwait(&set_, &sig);
      stop_ = true;
    });
  }
  ~StopOnSignal() {
    if (!stop_) pthread_kill(thread_.native_handle(), SIGUSR1);
    thread_.join();
  }
  const std::atomic<bool>* flag() const { return &stop_; }

 private:
  sigset_t set_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string Duration(double secs) {
  if (secs < 0 || secs > 1e7) return "--:--";
  long s = static_cast<long>(secs);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

// "[#########...........]  45%  4500000 events  310000 ev/s  ETA 0:00:15"
class ProgressBar {
 public:
  ProgressBar(uint64_t start_pos, uint64_t end_pos, bool enabled)
      : start_pos_(start_pos),
        end_pos_(end_pos),
        enabled_(enabled),
        start_(std::chrono::steady_clock::now()) {}
  void Update(const pj::ProjectionStatus& s, bool final_line = false) {
    auto now = std::chrono::steady_clock::now();
    if (!enabled_ || (!final_line && now - last_ < std::chrono::milliseconds(250))) return;
    last_ = now;
    if (!first_events_) first_events_ = s.events_applied;
    uint64_t pos = s.position ? s.position->value : 0;
    double frac =
        end_pos_ > start_pos_
            ? std::min(1.0, double(pos - std::min(pos, start_pos_)) / double(end_pos_ - start_pos_))
            : 1.0;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? double(s.events_applied - *first_events_) / secs : 0;
    double eta = frac > 0 ? secs * (1 - frac) / frac : -1;
    std::string bar(30, '.');
    for (int i = 0; i < int(frac * 30); ++i) bar[i] = '#';
    std::fprintf(stderr, "\r[%s] %3d%%  %llu events  %.0f ev/s  ETA %s   ", bar.c_str(),
                 int(frac * 100), static_cast<unsigned long long>(s.events_applied), rate,
                 Duration(eta).c_str());
    if (final_line) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  uint64_t start_pos_, end_pos_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_, last_{};
  std::optional<uint64_t> first_events_;
};

Result<pj::ProjectionStatus> ReadStatus(const pj::ProjectionSpec& spec, int64_t version,
                                        pj::EventSource* source) {
  KIROKU_ASSIGN_OR_RETURN(bool exists, pj::VersionExists(spec, version));
  if (!exists) {
    return Status::NotFound("version " + std::to_string(version) + " of " + spec.name +
                            " has not run yet (" + pj::VersionLocation(spec, version) + ")");
  }
  KIROKU_ASSIGN_OR_RETURN(auto sink, pj::OpenVersion(spec, version, pj::SinkMode::kLive));
  KIROKU_ASSIGN_OR_RETURN(auto row, pj::CheckpointTable::Read(sink.get(), spec.name));
  if (!row)
    return Status::NotFound("no checkpoint for " + spec.name + " in " +
                            pj::VersionLocation(spec, version));
  pj::ProjectionStatus s;
  s.name = row->projection;
  s.version = row->version;
  s.state = row->state;
  s.position = row->position;
  s.events_applied = row->events_applied;
  s.events_skipped = row->events_skipped;
  s.events_per_second = row->events_per_second;
  s.last_event_created_us = row->last_event_created_us;
  s.updated_us = row->updated_us;
  s.last_error = pj::ProjectionError::FromJson(row->last_error);
  if (source) {
    KIROKU_ASSIGN_OR_RETURN(pj::SourceTail t, source->Tail(row->position, 100000));
    s.lag_events = t.lag_events;
    s.lag_capped = t.lag_capped;
    s.lag_seconds =
        t.lag_events ? std::max<double>(0, (NowUs() - t.oldest_unprocessed_us) / 1e6) : 0;
  }
  return s;
}

// Runs `spec` (its own version) on `source` with `options`; returns the exit code.
int RunSpec(const pj::ProjectionSpec& spec, pj::SinkMode mode, pj::RunnerOptions options,
            pj::EventSource* source, const std::atomic<bool>* stop, bool progress) {
  auto sink = pj::OpenVersion(spec, spec.version, mode);
  if (!sink.ok()) return PrintError(sink.status());
  std::unique_ptr<ProgressBar> bar;
  if (progress) {
    auto tail = source->Tail(std::nullopt, 0);
    if (!tail.ok()) return PrintError(tail.status());
    bar = std::make_unique<ProgressBar>(0, tail->log_end.value, true);
    options.on_commit = [&bar](const pj::ProjectionStatus& s) { bar->Update(s); };
  }
  options.mode = mode;
  auto runner = pj::ProjectionRunner::Open(spec, std::move(*sink), options);
  if (!runner.ok()) return PrintError(runner.status());
  Status s = (*runner)->Run(source, stop);
  if (bar) bar->Update((*runner)->status(), true);
  if (!s.ok()) return PrintError(s);
  return 0;
}

void AddValidate(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto* cmd = parent->add_subcommand(
      "validate", "Check a spec: syntax, parameters, and its SQL against a scratch database");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML)")->required();
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      Status s = pj::ProjectionRunner::Validate(*spec);
      if (!s.ok()) return PrintError(s);
      std::printf("%s: ok (%s v%lld, %zu event types)\n", spec_path->c_str(), spec->name.c_str(),
                  static_cast<long long>(spec->version), spec->handlers.size());
      return 0;
    };
  });
}

void AddRun(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto flags = std::make_shared<SourceFlags>();
  auto skip_failed = std::make_shared<bool>(false);
  auto once = std::make_shared<bool>(false);
  auto* cmd = parent->add_subcommand("run", "Keep a read model up to date (until Ctrl-C)");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML)")->required();
  AddSourceFlags(cmd, flags.get());
  cmd->add_flag("--skip-failed", *skip_failed,
                "If the event the last error names fails again, dead-letter it and go on");
  cmd->add_flag("--once", *once, "Stop when caught up instead of following new events");
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      StopOnSignal signals;
      auto src = OpenSource(*flags);
      if (!src.ok()) return PrintError(src.status());
      pj::RunnerOptions options;
      options.follow = !*once;
      options.skip_failed = *skip_failed;
      // The first version run of a projection becomes live.
      auto live = pj::LiveVersion(*spec);
      if (!live.ok()) return PrintError(live.status());
      auto sink = pj::OpenVersion(*spec, spec->version, pj::SinkMode::kLive);
      if (!sink.ok()) return PrintError(sink.status());
      auto runner = pj::ProjectionRunner::Open(*spec, std::move(*sink), options);
      if (!runner.ok()) return PrintError(runner.status());
      if (!*live) {
        Status s = pj::SwitchLive(*spec, spec->version);
        if (!s.ok()) return PrintError(s);
      }
      std::fprintf(stderr, "projection %s v%lld -> %s\n", spec->name.c_str(),
                   static_cast<long long>(spec->version),
                   pj::VersionLocation(*spec, spec->version).c_str());
      Status s = (*runner)->Run(src->source.get(), signals.flag());
      if (!s.ok()) return PrintError(s);
      return 0;
    };
  });
}

void AddStatus(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto flags = std::make_shared<SourceFlags>();
  auto json = std::make_shared<bool>(false);
  auto version = std::make_shared<int64_t>(0);
  auto* cmd = parent->add_subcommand("status", "State, position, lag, rate and last error");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML)")->required();
  AddSourceFlags(cmd, flags.get());
  cmd->add_option("--version", *version, "Version to report (default: the spec's)");
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      std::optional<OpenedSource> src;
      if (!flags->url.empty() || !flags->data_dir.empty()) {
        auto o = OpenSource(*flags);
        if (!o.ok()) return PrintError(o.status());
        src = std::move(*o);
      }
      auto st =
          ReadStatus(*spec, *version ? *version : spec->version, src ? src->source.get() : nullptr);
      if (!st.ok()) return PrintError(st.status());
      auto live = pj::LiveVersion(*spec);
      if (*json) {
        auto j = nlohmann::json::parse(st->ToJson());
        j["live_version"] = live.ok() && *live ? nlohmann::json(**live) : nullptr;
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("%s", st->ToHuman().c_str());
        if (live.ok() && *live)
          std::printf("  live version   %lld\n", static_cast<long long>(**live));
      }
      return st->state == "failed" ? 1 : 0;
    };
  });
}

void AddRebuild(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto flags = std::make_shared<SourceFlags>();
  auto force = std::make_shared<bool>(false);
  auto follow = std::make_shared<bool>(false);
  auto no_progress = std::make_shared<bool>(false);
  auto* cmd = parent->add_subcommand(
      "rebuild", "Build the spec's version from position 0 beside the live one");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML)")->required();
  AddSourceFlags(cmd, flags.get());
  cmd->add_flag("--force", *force, "Drop this version's existing data and start over");
  cmd->add_flag("--follow", *follow, "Keep following new events after catching up");
  cmd->add_flag("--no-progress", *no_progress, "No progress bar");
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      Status v = pj::ProjectionRunner::Validate(*spec);
      if (!v.ok()) return PrintError(v);
      auto live = pj::LiveVersion(*spec);
      if (!live.ok()) return PrintError(live.status());
      if (*live && **live == spec->version) {
        return PrintError(Status::InvalidArgument(
            "version " + std::to_string(spec->version) +
            " is live; give the spec a new version number to rebuild beside it"));
      }
      if (*force) {
        auto exists = pj::VersionExists(*spec, spec->version);
        if (exists.ok() && *exists) {
          Status s = pj::DropVersion(*spec, spec->version);
          if (!s.ok()) return PrintError(s);
        }
      }
      StopOnSignal signals;
      auto src = OpenSource(*flags);
      if (!src.ok()) return PrintError(src.status());
      pj::RunnerOptions options;
      options.follow = *follow;
      auto t0 = std::chrono::steady_clock::now();
      int rc = RunSpec(*spec, pj::SinkMode::kRebuild, options, src->source.get(), signals.flag(),
                       !*no_progress);
      if (rc != 0) return rc;
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      auto st = ReadStatus(*spec, spec->version, nullptr);
      if (st.ok()) {
        std::printf(
            "rebuilt %s v%lld in %s: %llu events applied in %.1f s (%.0f events/s), "
            "position %llu, state %s\n",
            spec->name.c_str(), static_cast<long long>(spec->version),
            pj::VersionLocation(*spec, spec->version).c_str(),
            static_cast<unsigned long long>(st->events_applied), secs,
            st->events_applied / std::max(secs, 1e-9),
            static_cast<unsigned long long>(st->position ? st->position->value : 0),
            st->state.c_str());
      }
      return 0;
    };
  });
}

void AddVerify(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto flags = std::make_shared<SourceFlags>();
  auto against = std::make_shared<int64_t>(0);
  auto samples = std::make_shared<size_t>(5);
  auto json = std::make_shared<bool>(false);
  auto wait_secs = std::make_shared<int>(30);
  auto* cmd = parent->add_subcommand(
      "verify", "Compare the spec's version with the live one at the same position");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML) of the new version")->required();
  AddSourceFlags(cmd, flags.get());
  cmd->add_option("--against", *against, "Old version (default: the live one)");
  cmd->add_option("--samples", *samples, "Differing rows to show per table and side");
  cmd->add_option("--wait", *wait_secs, "Seconds to wait for the old version to catch up");
  cmd->add_flag("--json", *json, "JSON output");
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      int64_t old_version = *against;
      if (!old_version) {
        auto live = pj::LiveVersion(*spec);
        if (!live.ok()) return PrintError(live.status());
        if (!*live) return PrintError(Status::NotFound("no live version; give --against N"));
        old_version = **live;
      }
      if (old_version == spec->version) {
        return PrintError(Status::InvalidArgument("the spec's version is the old one"));
      }
      auto src = OpenSource(*flags);
      if (!src.ok()) return PrintError(src.status());
      auto old_sink = pj::OpenVersion(*spec, old_version, pj::SinkMode::kLive);
      if (!old_sink.ok()) return PrintError(old_sink.status());
      auto new_check = pj::OpenVersion(*spec, spec->version, pj::SinkMode::kLive);
      if (!new_check.ok()) return PrintError(new_check.status());
      // Hold a snapshot of the old version at its checkpoint P; bring the new one to exactly
      // P; then compare. If the new one is already past P, wait for the old one to move.
      std::optional<Position> old_pos, new_pos;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(*wait_secs);
      while (true) {
        Status s = (*old_sink)->BeginSnapshot();
        if (!s.ok()) return PrintError(s);
        auto orow = pj::CheckpointTable::Read(old_sink->get(), spec->name);
        if (!orow.ok()) return PrintError(orow.status());
        if (!*orow) return PrintError(Status::NotFound("old version has no checkpoint"));
        old_pos = (*orow)->position;
        auto nrow = pj::CheckpointTable::Read(new_check->get(), spec->name);
        if (!nrow.ok()) return PrintError(nrow.status());
        if (!*nrow) return PrintError(Status::NotFound("new version has not been built"));
        new_pos = (*nrow)->position;
        if (!new_pos || (old_pos && *new_pos <= *old_pos)) break;
        (*old_sink)->Rollback();
        if (std::chrono::steady_clock::now() > deadline) {
          return PrintError(Status::InvalidArgument(
              "the new version (position " + std::to_string(new_pos->value) +
              ") is ahead of the old one (position " +
              (old_pos ? std::to_string(old_pos->value) : std::string("none")) +
              "); is the old version's runner running?"));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (old_pos && new_pos != old_pos) {
        auto sink = pj::OpenVersion(*spec, spec->version, pj::SinkMode::kRebuild);
        if (!sink.ok()) return PrintError(sink.status());
        pj::RunnerOptions options;
        options.mode = pj::SinkMode::kRebuild;
        options.stop_at = old_pos;
        auto runner = pj::ProjectionRunner::Open(*spec, std::move(*sink), options);
        if (!runner.ok()) return PrintError(runner.status());
        Status s = (*runner)->Run(src->source.get(), nullptr);
        if (!s.ok()) return PrintError(s);
      }
      Status s = (*new_check)->BeginSnapshot();
      if (!s.ok()) return PrintError(s);
      auto nrow = pj::CheckpointTable::Read(new_check->get(), spec->name);
      if (!nrow.ok()) return PrintError(nrow.status());
      new_pos = (*nrow)->position;
      auto cmp = pj::CompareVersions(old_sink->get(), new_check->get(), *samples);
      (*old_sink)->Rollback();
      (*new_check)->Rollback();
      if (!cmp.ok()) return PrintError(cmp.status());
      bool same_pos = old_pos == new_pos;
      bool all_equal = same_pos;
      nlohmann::json tables = nlohmann::json::array();
      for (const auto& c : *cmp) all_equal = all_equal && c.equal();
      auto pos_text = [](std::optional<Position> p) {
        return p ? std::to_string(p->value) : std::string("none");
      };
      if (*json) {
        for (const auto& c : *cmp) {
          tables.push_back({{"table", c.table},
                            {"equal", c.equal()},
                            {"in_old", c.in_old},
                            {"in_new", c.in_new},
                            {"old_rows", c.old_rows},
                            {"new_rows", c.new_rows},
                            {"old_checksum", c.old_checksum},
                            {"new_checksum", c.new_checksum},
                            {"only_in_old", c.only_in_old},
                            {"only_in_new", c.only_in_new}});
        }
        nlohmann::json j = {{"projection", spec->name},
                            {"old_version", old_version},
                            {"new_version", spec->version},
                            {"old_position", pos_text(old_pos)},
                            {"new_position", pos_text(new_pos)},
                            {"equal", all_equal},
                            {"tables", tables}};
        std::printf("%s\n", j.dump().c_str());
      } else {
        std::printf("verify %s: v%lld (position %s) vs v%lld (position %s)\n", spec->name.c_str(),
                    static_cast<long long>(old_version), pos_text(old_pos).c_str(),
                    static_cast<long long>(spec->version), pos_text(new_pos).c_str());
        for (const auto& c : *cmp) {
          std::printf("  %-24s %s  rows %llu / %llu  checksum %016llx / %016llx\n", c.table.c_str(),
                      c.equal() ? "same     " : "DIFFERENT",
                      static_cast<unsigned long long>(c.old_rows),
                      static_cast<unsigned long long>(c.new_rows),
                      static_cast<unsigned long long>(c.old_checksum),
                      static_cast<unsigned long long>(c.new_checksum));
          if (!c.in_old) std::printf("    only in the new version\n");
          if (!c.in_new) std::printf("    only in the old version\n");
          if (c.in_old && c.in_new && c.old_columns != c.new_columns) {
            std::printf("    columns differ\n");
          }
          for (const auto& r : c.only_in_old) std::printf("    - old only: %s\n", r.c_str());
          for (const auto& r : c.only_in_new) std::printf("    + new only: %s\n", r.c_str());
        }
        std::printf("%s\n", all_equal ? "EQUAL" : "DIFFERENT");
      }
      return all_equal ? 0 : 1;
    };
  });
}

void AddSwitch(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto version = std::make_shared<int64_t>(0);
  auto* cmd = parent->add_subcommand("switch", "Make the spec's version live (atomically)");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML)")->required();
  cmd->add_option("--version", *version, "Version to make live (default: the spec's)");
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      int64_t v = *version ? *version : spec->version;
      auto before = pj::LiveVersion(*spec);
      Status s = pj::SwitchLive(*spec, v);
      if (!s.ok()) return PrintError(s);
      std::printf("%s: live version %s -> %lld (%s)\n", spec->name.c_str(),
                  before.ok() && *before ? std::to_string(**before).c_str() : "none",
                  static_cast<long long>(v), pj::VersionLocation(*spec, v).c_str());
      return 0;
    };
  });
}

void AddDrop(CLI::App* parent, Action* action) {
  auto spec_path = std::make_shared<std::string>();
  auto version = std::make_shared<int64_t>(0);
  auto* cmd = parent->add_subcommand("drop", "Delete a version that is not live");
  cmd->add_option("spec", *spec_path, "Projection spec (YAML)")->required();
  cmd->add_option("--version", *version, "Version to drop")->required();
  cmd->callback([=] {
    *action = [=]() -> int {
      auto spec = pj::ParseSpecFile(*spec_path);
      if (!spec.ok()) return PrintError(spec.status());
      Status s = pj::DropVersion(*spec, *version);
      if (!s.ok()) return PrintError(s);
      std::printf("dropped %s v%lld (%s)\n", spec->name.c_str(), static_cast<long long>(*version),
                  pj::VersionLocation(*spec, *version).c_str());
      return 0;
    };
  });
}

}  // namespace

void AddProjectionCommands(CLI::App& app, Action* action) {
  auto* cmd = app.add_subcommand("projection", "SQL read models (docs/projections.md)");
  cmd->require_subcommand(1);
  AddValidate(cmd, action);
  AddRun(cmd, action);
  AddStatus(cmd, action);
  AddRebuild(cmd, action);
  AddVerify(cmd, action);
  AddSwitch(cmd, action);
  AddDrop(cmd, action);
}

}  // namespace kiroku::cli
