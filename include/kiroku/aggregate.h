// Aggregates over an EventStore (event_store.h): Repository<A> loads an aggregate from its
// latest snapshot plus the events after it, runs a command against it, and saves the
// resulting events with the expected revision; on a conflict it reloads and re-runs the
// command (bounded retries, exponential backoff with full jitter). Every N events it writes
// a snapshot in the same atomic append as the events (Store::AppendWithSnapshot).
//
// An aggregate is a type A with
//   using State = ...;    // default-constructible: the state before the first event
//   using Event = ...;    // e.g. std::variant<Created, Renamed, ...>
//   using Command = ...;
//   static constexpr std::string_view kCategory = "chat";  // stream = "chat-<id>"
//   static void Apply(State&, const Event&);                // pure fold, never fails
//   static Decision<Event> Decide(const State&, const Command&);  // events or DomainError
//
// Events and snapshots are encoded by codecs the user may supply. The defaults are JSON
// (nlohmann-json): JsonEventCodec for a std::variant of event structs that each have a
// `static constexpr std::string_view kType` and to_json/from_json, and JsonSnapshotCodec
// for a State with to_json/from_json and a schema version. A snapshot whose schema version
// the codec does not know (or that fails to decode) is ignored: the aggregate is then
// rebuilt from all its events. Semantics and examples: docs/aggregates.md.
//
// Thread-safety: a Repository may be used from any number of threads at once; it holds no
// aggregate state between calls (every Handle loads afresh), only its options, codecs and a
// jitter source. It borrows the EventStore, which must outlive it.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "kiroku/event_store.h"
#include "kiroku/status.h"

namespace kiroku {

// A command refused by the domain (not an infrastructure failure).
struct DomainError {
  std::string code;  // machine-readable, e.g. "not_a_member"
  std::string message;
  bool operator==(const DomainError&) const = default;
};

// What Decide returns: the new events (possibly none), or a DomainError.
template <typename Event>
class Decision {
 public:
  Decision() = default;                                           // accepted, no events
  Decision(std::vector<Event> events) : v_(std::move(events)) {}  // NOLINT: implicit
  Decision(DomainError error) : v_(std::move(error)) {}           // NOLINT: implicit
  static Decision Reject(std::string code, std::string message) {
    return Decision(DomainError{std::move(code), std::move(message)});
  }
  template <typename... Es>
  static Decision Accept(Es&&... events) {
    std::vector<Event> v;
    (v.emplace_back(std::forward<Es>(events)), ...);
    return Decision(std::move(v));
  }
  bool rejected() const { return std::holds_alternative<DomainError>(v_); }
  const DomainError& error() const { return std::get<DomainError>(v_); }
  const std::vector<Event>& events() const { return std::get<std::vector<Event>>(v_); }

 private:
  std::variant<std::vector<Event>, DomainError> v_;
};

template <typename A>
concept Aggregate = std::default_initializable<typename A::State> &&
    requires(typename A::State& s, const typename A::State& cs, const typename A::Event& e,
             const typename A::Command& c) {
  { A::kCategory } -> std::convertible_to<std::string_view>;
  { A::Apply(s, e) } -> std::same_as<void>;
  { A::Decide(cs, c) } -> std::same_as<Decision<typename A::Event>>;
};

// ---- codecs ----

struct EncodedEvent {
  std::string type;
  ContentType content_type = ContentType::kJson;
  std::string data;
  std::string metadata;
};

// An event codec C for Event: Result<EncodedEvent> C::Encode(const Event&) const and
// Result<Event> C::Decode(const RecordedEvent&) const.
template <typename C, typename Event>
concept EventCodecFor = requires(const C& c, const Event& e, const RecordedEvent& r) {
  { c.Encode(e) } -> std::same_as<Result<EncodedEvent>>;
  { c.Decode(r) } -> std::same_as<Result<Event>>;
};

// A snapshot codec C for State: the schema version it writes, whether it can read a given
// one, and the two directions.
template <typename C, typename State>
concept SnapshotCodecFor = requires(const C& c, const State& s, uint32_t v, std::string_view d) {
  { c.schema_version() } -> std::convertible_to<uint32_t>;
  { c.Knows(v) } -> std::same_as<bool>;
  { c.Encode(s) } -> std::same_as<Result<std::string>>;
  { c.Decode(v, d) } -> std::same_as<Result<State>>;
};

template <typename T>
concept NamedEvent = requires {
  { T::kType } -> std::convertible_to<std::string_view>;
};

template <typename Event>
struct JsonEventCodec;

// JSON for std::variant<Ts...>: event type = Ts::kType, data = the struct as JSON.
template <NamedEvent... Ts>
struct JsonEventCodec<std::variant<Ts...>> {
  using Event = std::variant<Ts...>;

  Result<EncodedEvent> Encode(const Event& e) const {
    try {
      return std::visit(
          [](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            nlohmann::json j = v;
            return EncodedEvent{std::string(T::kType), ContentType::kJson, j.dump(), {}};
          },
          e);
    } catch (const std::exception& ex) {
      return Status::InvalidArgument(std::string("cannot encode event as JSON: ") + ex.what());
    }
  }

  Result<Event> Decode(const RecordedEvent& r) const {
    std::optional<Result<Event>> out;
    ((out.has_value() || r.type != std::string_view(Ts::kType)
          ? void()
          : void(out.emplace(DecodeAs<Ts>(r)))),
     ...);
    if (!out) {
      return Status::InvalidArgument("event " + r.stream + "@" + std::to_string(r.revision.value) +
                                     " has unknown type '" + r.type + "'");
    }
    return std::move(*out);
  }

 private:
  template <typename T>
  static Result<Event> DecodeAs(const RecordedEvent& r) {
    try {
      return Event(nlohmann::json::parse(r.data).template get<T>());
    } catch (const std::exception& ex) {
      return Status::InvalidArgument("event " + r.stream + "@" + std::to_string(r.revision.value) +
                                     " (" + r.type + "): " + ex.what());
    }
  }
};

// JSON for a State with to_json/from_json, written with schema version kVersion; reads
// only kVersion (a State whose JSON shape changes gets a new version, and old snapshots
// are then ignored rather than misread).
template <typename State, uint32_t kVersion = 1>
struct JsonSnapshotCodec {
  uint32_t schema_version() const { return kVersion; }
  bool Knows(uint32_t v) const { return v == kVersion; }
  Result<std::string> Encode(const State& s) const {
    try {
      nlohmann::json j = s;
      return j.dump();
    } catch (const std::exception& ex) {
      return Status::InvalidArgument(std::string("cannot encode snapshot as JSON: ") + ex.what());
    }
  }
  Result<State> Decode(uint32_t v, std::string_view data) const {
    if (v != kVersion) return Status::InvalidArgument("unknown snapshot schema version");
    try {
      return nlohmann::json::parse(data).template get<State>();
    } catch (const std::exception& ex) {
      return Status::InvalidArgument(std::string("cannot decode snapshot: ") + ex.what());
    }
  }
};

// ---- the repository ----

struct RepositoryOptions {
  // Write a snapshot whenever a save makes the event count cross a multiple of this
  // (0 = never). The snapshot goes in the same atomic append as the events.
  uint64_t snapshot_every = 0;
  // Keep only the newest K snapshots readable (0 = all). See SnapshotOptions::keep_last.
  uint32_t keep_snapshots = 0;
  // Set the stream's $tb to each snapshot's revision: readers without snapshots then see
  // only the events from it on. Irreversible in effect; a snapshot the codec can no longer
  // read then makes Load fail rather than silently fold a partial history.
  bool truncate_before_snapshot = false;
  // Attempts of one command under write conflicts (WrongExpectedVersion), >= 1. Between
  // attempts: sleep uniformly in [0, min(backoff_max, backoff_base * 2^attempt)].
  int max_attempts = 50;
  std::chrono::microseconds backoff_base{500};
  std::chrono::microseconds backoff_max{50000};
  // Events read per ReadStream call while loading.
  uint64_t read_page = 4096;
};

template <typename State>
struct LoadedAggregate {
  State state;
  std::optional<StreamRevision> revision;           // last event folded; nullopt = none
  std::optional<StreamRevision> snapshot_revision;  // the snapshot used, if any
  uint64_t events_replayed = 0;                     // events folded after the snapshot
  bool snapshot_ignored = false;  // a snapshot existed but its schema was unknown / unreadable
};

struct CommandResult {
  std::optional<DomainError> rejected;     // set: the command was refused, nothing written
  std::optional<StreamRevision> revision;  // the aggregate's last revision after the command
  size_t events_written = 0;
  int attempts = 0;  // 1 + conflicts retried
  bool snapshot_written = false;
};

template <Aggregate A, typename EventCodec = JsonEventCodec<typename A::Event>,
          typename SnapshotCodec = JsonSnapshotCodec<typename A::State>>
requires EventCodecFor<EventCodec, typename A::Event> &&
    SnapshotCodecFor<SnapshotCodec, typename A::State>
class Repository {
 public:
  using State = typename A::State;
  using Event = typename A::Event;
  using Command = typename A::Command;

  explicit Repository(EventStore* store, RepositoryOptions options = {}, EventCodec events = {},
                      SnapshotCodec snapshots = {})
      : store_(store),
        options_(options),
        events_(std::move(events)),
        snapshots_(std::move(snapshots)),
        rng_(std::random_device{}()) {}

  static std::string StreamOf(std::string_view id) {
    return std::string(std::string_view(A::kCategory)) + "-" + std::string(id);
  }

  // Latest usable snapshot + the events after it.
  Result<LoadedAggregate<State>> Load(std::string_view id) const {
    return LoadStream(StreamOf(id), /*use_snapshot=*/true);
  }
  // Every event from revision 0 (for checks and migrations; ignores snapshots).
  Result<LoadedAggregate<State>> LoadWithoutSnapshot(std::string_view id) const {
    return LoadStream(StreamOf(id), /*use_snapshot=*/false);
  }

  // Loads, decides, saves with the expected revision; on a conflict reloads and decides
  // again. A DomainError is a successful Result with `rejected` set. Infrastructure errors
  // (and a conflict that outlives max_attempts, as WrongExpectedVersion) are Status.
  Result<CommandResult> Handle(std::string_view id, const Command& command) {
    const std::string stream = StreamOf(id);
    CommandResult result;
    Status last_conflict;
    for (int attempt = 0; attempt < std::max(1, options_.max_attempts); ++attempt) {
      result.attempts = attempt + 1;
      if (attempt > 0) Backoff(attempt);
      KIROKU_ASSIGN_OR_RETURN(LoadedAggregate<State> loaded, LoadStream(stream, true));
      Decision<Event> decision = A::Decide(loaded.state, command);
      if (decision.rejected()) {
        result.rejected = decision.error();
        result.revision = loaded.revision;
        return result;
      }
      const std::vector<Event>& new_events = decision.events();
      if (new_events.empty()) {
        result.revision = loaded.revision;
        return result;
      }
      std::vector<EventData> batch;
      batch.reserve(new_events.size());
      for (const Event& e : new_events) {
        KIROKU_ASSIGN_OR_RETURN(EncodedEvent enc, events_.Encode(e));
        EventData d;
        d.id = EventId::Random();
        d.type = std::move(enc.type);
        d.content_type = enc.content_type;
        d.data = std::move(enc.data);
        d.metadata = std::move(enc.metadata);
        batch.push_back(std::move(d));
      }
      const ExpectedRevision expected = loaded.revision ? ExpectedRevision::Exact(*loaded.revision)
                                                        : ExpectedRevision::NoStream();
      const uint64_t count_before = loaded.revision ? loaded.revision->value + 1 : 0;
      const uint64_t count_after = count_before + new_events.size();
      const bool snapshot =
          options_.snapshot_every > 0 &&
          count_before / options_.snapshot_every != count_after / options_.snapshot_every;
      std::optional<SnapshotData> snap;
      if (snapshot) {
        State next = loaded.state;
        for (const Event& e : new_events) A::Apply(next, e);
        KIROKU_ASSIGN_OR_RETURN(std::string encoded, snapshots_.Encode(next));
        snap.emplace();
        snap->schema_version = snapshots_.schema_version();
        snap->data = std::move(encoded);
      }
      SnapshotOptions so;
      so.keep_last = options_.keep_snapshots;
      so.truncate_before = options_.truncate_before_snapshot;
      Result<AppendResult> appended =
          snap ? store_->AppendWithSnapshot(stream, expected, batch, *snap, so)
               : store_->Append(stream, expected, batch);
      if (appended.ok()) {
        result.revision = appended->current_revision;
        result.events_written = new_events.size();
        result.snapshot_written = snapshot;
        return result;
      }
      if (appended.status().code() != StatusCode::kWrongExpectedVersion) {
        return appended.status();
      }
      last_conflict = appended.status();
    }
    return Status::WrongExpectedVersion("command on '" + stream + "' still conflicted after " +
                                            std::to_string(result.attempts) +
                                            " attempts: " + last_conflict.message(),
                                        last_conflict.actual_revision());
  }

  const RepositoryOptions& options() const { return options_; }

 private:
  Result<LoadedAggregate<State>> LoadStream(const std::string& stream, bool use_snapshot) const {
    LoadedAggregate<State> out;
    uint64_t next = 0;
    if (use_snapshot) {
      KIROKU_ASSIGN_OR_RETURN(std::optional<StoredSnapshot> snap,
                              store_->LoadSnapshot(stream, StreamRevision::End()));
      if (snap) {
        Result<State> decoded = snapshots_.Knows(snap->schema_version)
                                    ? snapshots_.Decode(snap->schema_version, snap->data)
                                    : Result<State>(Status::InvalidArgument("unknown schema"));
        if (decoded.ok()) {
          out.state = std::move(decoded).value();
          out.revision = snap->revision;
          out.snapshot_revision = snap->revision;
          next = snap->revision.value + 1;
        } else {
          out.snapshot_ignored = true;
        }
      }
    }
    ReadStreamOptions o;
    o.direction = Direction::kForwards;
    o.max_count = std::max<uint64_t>(1, options_.read_page);
    while (true) {
      o.from = StreamRevision(next);
      auto page = store_->ReadStream(stream, o);
      if (!page.ok()) {
        if (page.status().code() == StatusCode::kStreamNotFound && !out.revision) return out;
        return page.status();
      }
      for (const RecordedEvent& r : *page) {
        if (r.revision.value != next) {
          return Status::Corruption(
              "aggregate stream '" + stream + "' starts at revision " +
              std::to_string(r.revision.value) + " where " + std::to_string(next) +
              " was expected: its earlier events are truncated ($tb/$maxCount) and no "
              "readable snapshot covers them");
        }
        KIROKU_ASSIGN_OR_RETURN(Event e, events_.Decode(r));
        A::Apply(out.state, e);
        out.revision = r.revision;
        ++out.events_replayed;
        ++next;
      }
      if (page->size() < o.max_count) return out;
    }
  }

  void Backoff(int attempt) {
    const int64_t cap = std::min<int64_t>(options_.backoff_max.count(),
                                          options_.backoff_base.count() << std::min(attempt, 20));
    int64_t us;
    {
      std::lock_guard lock(rng_mu_);
      us = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap, 0))(rng_);
    }
    std::this_thread::sleep_for(std::chrono::microseconds(us));
  }

  EventStore* store_;
  RepositoryOptions options_;
  EventCodec events_;
  SnapshotCodec snapshots_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
};

}  // namespace kiroku
