// studylog-gen: fills a kiroku store with a study log (API.md, "Processes").
//
//   studylog-gen --target esdb://HOST:PORT?tls=false|embedded:DIR --learners N --groups G
//                --events E [--days 90] [--seed S] [--end YYYY-MM-DD]
//
// What it writes (the events of domain.h, encoded as the aggregates' JsonEventCodec does):
//  1. LearnerRegistered into learner-l000000, learner-l000001, ... (ids zero-padded to 6
//     digits, more when N > 10^6), one append each (expected revision: no stream).
//  2. Per group (g00000, ..., 5 digits min): GroupCreated then its LearnerJoinedGroup events
//     in joined_at order, in appends of at most 1,000 events with exact expected revisions.
//     Every learner joins one group (group sizes vary about tenfold) and ~10% a second one.
//  3. E LessonCompleted events on the --days days before --end (--end itself excluded, so
//     with the default end, today, nothing lies in the future). Days come in order; within
//     a day each learner who studies does one session (consecutive lessons), appended as
//     one batch; batches are appended in the order of their first lesson's time (so $all
//     is in time order from session to session, not from lesson to lesson). Activity is
//     skewed: 20% of learners never study, the rest have Pareto(1.2) weights capped at ~12
//     lessons a day (a few learners study daily, most now and then).
//     lesson_id = "k<n>" (n counts the learner's lessons from 0), minutes 5..90, score
//     0.0..100.0 (one decimal), first_of_day = first lesson of the learner's day.
//  4. The snapshots the service's repositories would have written along the way
//     (domain.h, as http_api.cc uses them: Repository<Learner> every 50 events,
//     Repository<StudyGroup> every 100, keeping the last 2): a learner's append is split where a
//     lesson makes the stream length a multiple of --snapshot-every and carries a snapshot of
//     Learner::State there; likewise for groups. Without them every command on a generated learner
//     would replay its whole history. Each snapshot is written in the same transaction as its
//     events: Store::AppendWithSnapshotAsync over embedded:, EventStore::AppendWithSnapshot
//     over esdb://.
// Registration events precede every event that references a learner or group in $all, and
// each stream holds exactly what Learner / StudyGroup (domain.cc) would have decided from
// the same commands, so the service can load and extend them.
//
// Everything but the event ids is a function of (--learners, --groups, --events, --days,
// --seed, --end); memberships do not depend on --events. The target must not hold studylog
// streams yet (checked up front).
//
// embedded:DIR opens the store in-process (the server must not be running on DIR) with
// durability "none" during the load and pipelined AppendAsync calls; closing the store at
// the end makes everything durable (the committer syncs the log, the index is flushed).
// esdb://... goes through the C++ client with --concurrency appends in flight.
//
// Output: a progress bar on stderr (redrawn every 200 ms on a terminal, a plain line every
// 5 s otherwise) and one summary line on stdout:
//   studylog-gen: learners=N groups=G lessons=E events=<domain events> appends=A snapshots=S
//                 seconds=T events_per_s=R target=...
// Exit status: 0 on success, 1 on a runtime error (message on stderr), CLI11's code for a
// bad command line.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "domain.h"
#include "kiroku/event_store.h"
#include "kiroku/store.h"
#include "time_utc.h"

namespace studylog {
namespace {

using kiroku::EventData;
using kiroku::ExpectedRevision;
using kiroku::Status;
using kiroku::StreamRevision;
using Clock = std::chrono::steady_clock;

constexpr int64_t kDay = 86400;
constexpr size_t kMaxEventsPerAppend = 1000;
constexpr double kNeverStudyFraction = 0.20;
constexpr double kSecondGroupFraction = 0.10;
constexpr double kParetoAlpha = 1.2;
constexpr double kMaxLessonsPerDay = 12.0;  // cap on a learner's mean daily lessons

struct Options {
  std::string target;
  uint64_t learners = 0, groups = 0, events = 0;
  int days = 90;
  uint64_t seed = 1;
  std::string end;  // YYYY-MM-DD; empty = today (UTC)
  int concurrency = 16;
  bool check_json = false;
  bool dry_run = false;
  int64_t max_in_flight = 400000;
  // As the service's repositories (domain.h): snapshot every N events, keep the last K.
  uint64_t snapshot_every = kLearnerSnapshotEvery, group_snapshot_every = kGroupSnapshotEvery;
  uint32_t keep_snapshots = kKeepSnapshots;
};

// ---- deterministic randomness (xoshiro256**, seeded by splitmix64) ----

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& x : s_) {
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      x = z ^ (z >> 31);
    }
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }  // [0, 1)
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>(Uniform() * static_cast<double>(n)); }
  double Gaussian() {  // Box-Muller
    const double u1 = 1.0 - Uniform(), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Vose's alias method: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights)
      : prob_(weights.size()), alias_(weights.size()) {
    const size_t n = weights.size();
    const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = sum > 0 ? weights[i] * static_cast<double>(n) / sum : 1.0;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      const uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    for (uint32_t i : large) prob_[i] = 1.0, alias_[i] = i;
    for (uint32_t i : small) prob_[i] = 1.0, alias_[i] = i;
  }
  uint32_t Draw(Rng& rng) const {
    const uint64_t i = rng.Below(prob_.size());
    return rng.Uniform() < prob_[i] ? static_cast<uint32_t>(i) : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

kiroku::EventId RandomId(Rng& rng) {
  std::array<uint8_t, 16> b;
  const uint64_t a = rng.Next(), c = rng.Next();
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(a >> (8 * i));
  for (int i = 0; i < 8; ++i) b[8 + i] = static_cast<uint8_t>(c >> (8 * i));
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  return kiroku::EventId(b);
}

std::string PaddedId(char prefix, uint64_t n, int width) {
  std::string digits = std::to_string(n);
  std::string out(1, prefix);
  if (static_cast<int>(digits.size()) < width) out.append(width - digits.size(), '0');
  return out + digits;
}

int IdWidth(uint64_t count, int min_width) {
  return std::max<int>(min_width,
                       static_cast<int>(std::to_string(count > 0 ? count - 1 : 0).size()));
}

template <typename T>
EventData Encode(const T& event, Rng& id_rng) {
  EventData d;
  d.id = RandomId(id_rng);
  d.type = std::string(T::kType);
  d.data = nlohmann::json(event).dump();
  return d;
}

// LessonCompleted as nlohmann dumps it (keys in std::map order, a score k/10 printed as its
// shortest round-trip form "k/10.k%10"), without building a json object: the bulk of a
// 50M-event load. Checked against nlohmann on a sample of events (every one with
// --check-json); the ids and times it is given need no escaping.
void AppendLessonJson(std::string* out, const LessonCompleted& e, int score_tenths) {
  out->clear();
  out->append("{\"completed_at\":\"").append(e.completed_at);
  out->append("\",\"day\":\"").append(e.day);
  out->append(e.first_of_day ? "\",\"first_of_day\":true" : "\",\"first_of_day\":false");
  out->append(",\"learner_id\":\"").append(e.learner_id);
  out->append("\",\"lesson_id\":\"").append(e.lesson_id);
  out->append("\",\"minutes\":").append(std::to_string(e.minutes));
  out->append(",\"score\":").append(std::to_string(score_tenths / 10));
  out->push_back('.');
  out->push_back(static_cast<char>('0' + score_tenths % 10));
  out->push_back('}');
}

// ---- progress ----

struct Progress {
  std::atomic<uint64_t> done{0};  // events acknowledged
  std::atomic<uint64_t> total{0};
  std::atomic<const char*> phase{"planning"};
};

std::string Grouped(uint64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

std::string Duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60));
  } else if (s >= 60) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(s));
  }
  return buf;
}

// Draws the bar from its own thread until Stop().
class ProgressBar {
 public:
  explicit ProgressBar(Progress* p) : p_(p), tty_(isatty(STDERR_FILENO) == 1) {
    samples_.push_back({start_, 0});
    thread_ = std::thread([this] { Run(); });
  }
  ~ProgressBar() { Stop(); }
  void Stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    Draw(/*final=*/true);
  }

 private:
  void Run() {
    const auto period = std::chrono::milliseconds(tty_ ? 200 : 5000);
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, period, [&] { return stopping_; })) Draw(false);
  }
  void Draw(bool final) {
    const auto now = Clock::now();
    const uint64_t done = p_->done.load(std::memory_order_relaxed);
    // Rate over the last ~3 s (a window of samples), so the ETA follows phase changes.
    samples_.push_back({now, done});
    while (samples_.size() > 2 && now - samples_.front().first > std::chrono::seconds(3)) {
      samples_.pop_front();
    }
    const double dt = std::chrono::duration<double>(now - samples_.front().first).count();
    const double total_s = std::chrono::duration<double>(now - start_).count();
    double rate = dt > 0.05 ? static_cast<double>(done - samples_.front().second) / dt : 0;
    if (final) rate = total_s > 0 ? static_cast<double>(done) / total_s : 0;
    const uint64_t total = p_->total.load();
    const double frac = total ? static_cast<double>(done) / static_cast<double>(total) : 0;
    const double eta =
        rate > 0 && total ? static_cast<double>(total - std::min(done, total)) / rate : NAN;
    constexpr int kWidth = 28;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(static_cast<size_t>(std::clamp(filled, 0, kWidth)), '#');
    bar.resize(kWidth, '.');
    char line[256];
    std::snprintf(line, sizeof line, "[%s] %5.1f%% %s/%s events  %s ev/s  %s %s  (%s)", bar.c_str(),
                  frac * 100, Grouped(done).c_str(), Grouped(total).c_str(),
                  Grouped(static_cast<uint64_t>(rate)).c_str(), final ? "took" : "ETA",
                  Duration(final ? total_s : eta).c_str(), p_->phase.load());
    if (tty_) {
      std::fprintf(stderr, "\r%-110s%s", line, final ? "\n" : "");
    } else {
      std::fprintf(stderr, "%s\n", line);
    }
    std::fflush(stderr);
  }

  Progress* p_;
  const bool tty_;
  const Clock::time_point start_ = Clock::now();
  std::deque<std::pair<Clock::time_point, uint64_t>> samples_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// ---- where the events go ----

// Appends in submission order per stream; Barrier() returns once everything submitted is
// acknowledged. After the first failure further appends are dropped and Barrier() (and
// Finish()) return that failure.
// A snapshot written with an append, as Repository<A> (aggregate.h) writes one: the
// aggregate's state after the append (JsonSnapshotCodec, schema version 1), keeping the
// newest `keep_last` snapshots readable.
struct Snapshot {
  std::string data;  // the State as JSON
  uint32_t keep_last = 0;
};

class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Append(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
                      std::optional<Snapshot> snapshot) = 0;
  virtual Status Barrier() = 0;
  // Called between days: everything before must precede everything after in $all.
  virtual Status OrderPoint() { return Barrier(); }
  // Barrier, then make everything durable and close.
  virtual Status Finish() = 0;
  bool failed() const { return failed_.load(std::memory_order_relaxed); }

 protected:
  void RecordError(const std::string& stream, const Status& s) {
    std::lock_guard lock(err_mu_);
    if (error_.ok()) {
      error_ = Status::IOError("append to '" + stream + "' failed: " + s.ToString());
    }
    failed_.store(true);
  }
  Status error() {
    std::lock_guard lock(err_mu_);
    return error_;
  }

  Progress* progress_ = nullptr;

 private:
  std::mutex err_mu_;
  Status error_;
  std::atomic<bool> failed_{false};
};

// Pipelined AppendAsync into an in-process store. Submission order is commit order, so the
// generator's order is $all order. At most kMaxInFlight events are waiting for the committer.
class EmbeddedSink : public Sink {
 public:
  EmbeddedSink(std::unique_ptr<kiroku::Store> store, int64_t max_in_flight, Progress* progress)
      : store_(std::move(store)), max_in_flight_(max_in_flight), low_water_(max_in_flight / 2) {
    progress_ = progress;
  }
  ~EmbeddedSink() override { (void)Finish(); }

  // With a snapshot: Store::AppendWithSnapshotAsync, the same single transaction
  // Repository<A> writes through EventStore::AppendWithSnapshot.
  void Append(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
              std::optional<Snapshot> snapshot) override {
    if (failed()) return;
    const int64_t n = static_cast<int64_t>(events.size());
    if (in_flight_.fetch_add(n, std::memory_order_relaxed) + n > max_in_flight_)
      WaitBelow(low_water_);
    auto done = [this, n, stream](kiroku::Result<kiroku::AppendResult> r) {
      if (!r.ok()) {
        RecordError(stream, r.status());
      } else {
        progress_->done.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
      }
      const int64_t left = in_flight_.fetch_sub(n) - n;
      if (left <= low_water_ && waiting_.load()) {
        std::lock_guard lock(mu_);
        cv_.notify_one();
      }
    };
    if (!snapshot) {
      store_->AppendAsync(stream, expected, std::move(events), std::move(done));
      return;
    }
    kiroku::SnapshotData snap;
    snap.schema_version = 1;
    snap.data = std::move(snapshot->data);
    kiroku::SnapshotOptions options;
    options.keep_last = snapshot->keep_last;
    store_->AppendWithSnapshotAsync(stream, expected, std::move(events), std::move(snap), options,
                                    std::move(done));
  }
  Status Barrier() override {
    WaitBelow(0);
    return error();
  }
  // Submission order is already commit order.
  Status OrderPoint() override { return error(); }
  Status Finish() override {
    if (!store_) return error();
    Status s = Barrier();
    store_.reset();  // the committer syncs the log on close; the index is flushed
    return s;
  }

 private:
  void WaitBelow(int64_t level) {
    waiting_.store(true);
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return in_flight_.load() <= level || (level > 0 && failed()); });
    waiting_.store(false);
  }

  std::unique_ptr<kiroku::Store> store_;
  const int64_t max_in_flight_, low_water_;
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> waiting_{false};
  std::mutex mu_;
  std::condition_variable cv_;
};

// --dry-run: generates and encodes everything, writes nothing (measures the generator).
class NullSink : public Sink {
 public:
  explicit NullSink(Progress* progress) { progress_ = progress; }
  void Append(std::string, ExpectedRevision, std::vector<EventData> events,
              std::optional<Snapshot>) override {
    progress_->done.fetch_add(events.size(), std::memory_order_relaxed);
  }
  Status Barrier() override { return Status::Ok(); }
  Status Finish() override { return Status::Ok(); }
};

// Blocking appends over the C++ client from --concurrency worker threads. An append goes
// to the worker its stream hashes to, so each stream's appends keep their order.
class RemoteSink : public Sink {
 public:
  RemoteSink(std::unique_ptr<kiroku::EventStore> client, int workers, Progress* progress)
      : client_(std::move(client)), queues_(static_cast<size_t>(std::max(1, workers))) {
    progress_ = progress;
    for (size_t i = 0; i < queues_.size(); ++i) threads_.emplace_back([this, i] { Work(i); });
  }
  ~RemoteSink() override { (void)Finish(); }

  void Append(std::string stream, ExpectedRevision expected, std::vector<EventData> events,
              std::optional<Snapshot> snapshot) override {
    if (failed()) return;
    const size_t w = std::hash<std::string>{}(stream) % queues_.size();
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [&] { return pending_ < kMaxPending || failed(); });
    ++pending_;
    queues_[w].push_back({std::move(stream), expected, std::move(events), std::move(snapshot)});
    work_cv_.notify_all();
  }
  Status Barrier() override {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [&] { return pending_ == 0; });
    return error();
  }
  Status Finish() override {
    if (threads_.empty()) return error();
    Status s = Barrier();
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
    return s;
  }

 private:
  struct Item {
    std::string stream;
    ExpectedRevision expected;
    std::vector<EventData> events;
    std::optional<Snapshot> snapshot;
  };
  static constexpr size_t kMaxPending = 4096;

  void Work(size_t w) {
    std::unique_lock lock(mu_);
    while (true) {
      work_cv_.wait(lock, [&] { return stopping_ || !queues_[w].empty(); });
      if (queues_[w].empty()) return;
      Item item = std::move(queues_[w].front());
      queues_[w].pop_front();
      lock.unlock();
      if (!failed()) {
        auto r = [&] {
          if (!item.snapshot) return client_->Append(item.stream, item.expected, item.events);
          kiroku::SnapshotData snap;
          snap.schema_version = 1;
          snap.data = std::move(item.snapshot->data);
          kiroku::SnapshotOptions so;
          so.keep_last = item.snapshot->keep_last;
          return client_->AppendWithSnapshot(item.stream, item.expected, item.events, snap, so);
        }();
        if (!r.ok())
          RecordError(item.stream, r.status());
        else
          progress_->done.fetch_add(item.events.size(), std::memory_order_relaxed);
      }
      lock.lock();
      --pending_;
      idle_cv_.notify_all();
    }
  }

  std::unique_ptr<kiroku::EventStore> client_;
  std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::vector<std::deque<Item>> queues_;  // guarded by mu_
  size_t pending_ = 0;                    // guarded by mu_
  bool stopping_ = false;                 // guarded by mu_
  std::vector<std::thread> threads_;
};

// ---- the workload ----

constexpr const char* kFirstNames[] = {
    "Aiko",  "Ben",    "Chloe", "Daiki",  "Elena", "Farid", "Grace",   "Hiro", "Ines",   "Jonas",
    "Kenta", "Lena",   "Mei",   "Noah",   "Olga",  "Priya", "Quentin", "Rin",  "Sara",   "Taro",
    "Uma",   "Victor", "Wen",   "Ximena", "Yuki",  "Zoe",   "Amir",    "Bea",  "Carlos", "Dana"};
constexpr const char* kLastNames[] = {
    "Tanaka",   "Suzuki", "Sato",    "Garcia", "Muller",   "Rossi",  "Kim",     "Nguyen", "Silva",
    "Kowalski", "Ito",    "Okafor",  "Novak",  "Haddad",   "Larsen", "Ivanova", "Chen",   "Dubois",
    "Yamamoto", "Costa",  "Fischer", "Moreau", "Nakamura", "Patel",  "Smith"};
constexpr const char* kSubjects[] = {"Spanish", "Japanese",   "Calculus", "Chemistry",
                                     "Piano",   "Python",     "History",  "French",
                                     "Biology", "Statistics", "German",   "Korean"};
constexpr const char* kLevels[] = {"A1", "A2", "B1", "B2", "C1", "101", "201", "Advanced"};
// Relative activity per hour of day (UTC): evenings are busy, nights quiet.
constexpr double kHourWeights[24] = {1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 3.0, 3.0, 3.0, 3.0,
                                     4.0, 3.0, 3.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 7.0, 5.0, 2.0};

template <size_t N>
const char* Pick(const char* const (&names)[N], Rng& rng) {
  return names[rng.Below(N)];
}

struct Membership {
  int64_t joined_at;
  uint32_t learner;
};

// Exact integer split of `total` proportionally to `weights` (largest remainder).
std::vector<uint64_t> Apportion(uint64_t total, const std::vector<double>& weights) {
  const double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  std::vector<uint64_t> out(weights.size());
  std::vector<std::pair<double, size_t>> rest;
  uint64_t given = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    const double exact = static_cast<double>(total) * weights[i] / sum;
    out[i] = static_cast<uint64_t>(exact);
    given += out[i];
    rest.push_back({exact - static_cast<double>(out[i]), i});
  }
  std::sort(rest.begin(), rest.end(), std::greater<>());
  for (size_t k = 0; given < total; ++k, ++given) out[rest[k % rest.size()].second]++;
  return out;
}

class Generator {
 public:
  Generator(const Options& o, int64_t window_start, Sink* sink, Progress* progress)
      : o_(o),
        window_start_(window_start),
        sink_(sink),
        progress_(progress),
        id_rng_(std::random_device{}() ^ (static_cast<uint64_t>(std::random_device{}()) << 32)) {
    lw_ = IdWidth(o.learners, 6);
    gw_ = IdWidth(o.groups, 5);
  }

  Status Run() {
    Plan();
    progress_->total = o_.learners + o_.groups + joins_ + o_.events;
    progress_->phase = "learners";
    RegisterLearners();
    KIROKU_RETURN_IF_ERROR(sink_->Barrier());
    progress_->phase = "groups";
    CreateGroups();
    KIROKU_RETURN_IF_ERROR(sink_->Barrier());
    progress_->phase = "lessons";
    KIROKU_RETURN_IF_ERROR(Lessons());
    progress_->phase = "closing";
    return sink_->Finish();
  }
  uint64_t total_events() const { return progress_->total; }
  uint64_t appends() const { return appends_; }
  uint64_t snapshots() const { return snapshots_; }

 private:
  std::string LearnerId(uint64_t i) const { return PaddedId('l', i, lw_); }
  std::string GroupId(uint64_t g) const { return PaddedId('g', g, gw_); }

  // Registration times, memberships and activity weights. Independent of --events except
  // for the activity weights' cap.
  void Plan() {
    Rng rng(o_.seed * 0x2545f4914f6cdd1dull + 1);
    const uint64_t n = o_.learners, g = o_.groups;
    registered_at_.resize(n);
    for (auto& t : registered_at_) {
      t = window_start_ - 360 * kDay + static_cast<int64_t>(rng.Below(350 * kDay));
    }
    group_created_at_.resize(g);
    for (auto& t : group_created_at_) {
      t = window_start_ - 400 * kDay + static_cast<int64_t>(rng.Below(20 * kDay));
    }
    // Group sizes vary about tenfold (log-normal popularity).
    std::vector<double> popularity(g);
    for (auto& p : popularity) p = std::exp(0.8 * rng.Gaussian());
    AliasTable pick_group(popularity);
    members_.assign(g, {});
    for (uint64_t i = 0; i < n; ++i) {
      const uint32_t first = pick_group.Draw(rng);
      const int64_t reg = registered_at_[i];
      members_[first].push_back(
          {std::min(window_start_ - 1, reg + static_cast<int64_t>(rng.Below(2 * kDay))),
           static_cast<uint32_t>(i)});
      if (g > 1 && rng.Uniform() < kSecondGroupFraction) {
        uint32_t second = first;
        for (int tries = 0; tries < 16 && second == first; ++tries) second = pick_group.Draw(rng);
        if (second == first) second = static_cast<uint32_t>((first + 1) % g);
        members_[second].push_back(
            {std::min(window_start_ - 1,
                      reg + 2 * kDay + static_cast<int64_t>(rng.Below(58 * kDay))),
             static_cast<uint32_t>(i)});
      }
    }
    joins_ = 0;
    for (auto& m : members_) {
      std::sort(m.begin(), m.end(), [](const Membership& a, const Membership& b) {
        return a.joined_at != b.joined_at ? a.joined_at < b.joined_at : a.learner < b.learner;
      });
      joins_ += m.size();
    }
    // Activity: 20% never study; the others Pareto(alpha) weights, capped (water-filling)
    // so that nobody's mean exceeds ~kMaxLessonsPerDay.
    weights_.assign(n, 0.0);
    uint64_t active = 0;
    for (auto& w : weights_) {
      if (rng.Uniform() < kNeverStudyFraction) continue;
      w = std::pow(1.0 - rng.Uniform(), -1.0 / kParetoAlpha);
      ++active;
    }
    if (active == 0 && n > 0) weights_[0] = 1.0, active = 1;
    const double e = static_cast<double>(o_.events);
    const double cap = std::max(kMaxLessonsPerDay * o_.days, 1.5 * e / static_cast<double>(active));
    const double raw_sum = std::accumulate(weights_.begin(), weights_.end(), 0.0);
    for (double& w : weights_) w *= e / raw_sum;
    for (int round = 0; round < 50 && e > 0; ++round) {
      double capped_sum = 0, free_sum = 0;
      for (double w : weights_) {
        if (w >= cap)
          capped_sum += cap;
        else
          free_sum += w;
      }
      if (free_sum <= 0) break;
      const double scale = (e - capped_sum) / free_sum;
      bool newly_capped = false;
      for (double& w : weights_) {
        if (w >= cap) {
          w = cap;
        } else if (w > 0) {
          w *= scale;
          if (w >= cap) w = cap, newly_capped = true;
        }
      }
      if (!newly_capped) break;
    }
  }

  void RegisterLearners() {
    Rng rng(o_.seed * 0x9e3779b97f4a7c15ull + 2);
    names_.resize(o_.learners);
    for (uint64_t i = 0; i < o_.learners && !sink_->failed(); ++i) {
      names_[i] = std::string(Pick(kFirstNames, rng)) + " " + Pick(kLastNames, rng);
      LearnerRegistered e{LearnerId(i), names_[i], FormatUtc(registered_at_[i])};
      std::vector<EventData> batch;
      batch.push_back(Encode(e, id_rng_));
      ++appends_;
      sink_->Append("learner-" + e.learner_id, ExpectedRevision::NoStream(), std::move(batch),
                    std::nullopt);
    }
  }

  // GroupCreated, then the joins; with group snapshots, appends end where a join command
  // would have made the stream's length a multiple of --group-snapshot-every, and carry
  // that snapshot.
  void CreateGroups() {
    Rng rng(o_.seed * 0x9e3779b97f4a7c15ull + 3);
    const uint64_t every = o_.group_snapshot_every;
    for (uint64_t g = 0; g < o_.groups && !sink_->failed(); ++g) {
      const std::string gid = GroupId(g), stream = "group-" + gid;
      StudyGroup::State state;
      state.created = true;
      state.name =
          std::string(Pick(kSubjects, rng)) + " " + Pick(kLevels, rng) + " #" + std::to_string(g);
      std::vector<EventData> batch;
      batch.push_back(
          Encode(GroupCreated{gid, state.name, FormatUtc(group_created_at_[g])}, id_rng_));
      uint64_t written = 0;
      auto flush_if_due = [&](bool last) {
        const uint64_t count = written + batch.size();
        if (every > 0 && count % every == 0) {
          Snapshot snap;
          snap.data = nlohmann::json(state).dump();
          snap.keep_last = o_.keep_snapshots;
          ++snapshots_;
          Flush(stream, &written, &batch, std::move(snap));
        } else if (batch.size() == kMaxEventsPerAppend || (last && !batch.empty())) {
          Flush(stream, &written, &batch, std::nullopt);
        }
      };
      flush_if_due(members_[g].empty());
      for (size_t k = 0; k < members_[g].size(); ++k) {
        const Membership& m = members_[g][k];
        const std::string lid = LearnerId(m.learner);
        if (every > 0) state.members.insert(lid);
        batch.push_back(Encode(LearnerJoinedGroup{gid, lid, FormatUtc(m.joined_at)}, id_rng_));
        flush_if_due(k + 1 == members_[g].size());
      }
    }
    members_.clear();
    members_.shrink_to_fit();
  }

  void Flush(const std::string& stream, uint64_t* written, std::vector<EventData>* batch,
             std::optional<Snapshot> snapshot) {
    const ExpectedRevision exp = *written == 0
                                     ? ExpectedRevision::NoStream()
                                     : ExpectedRevision::Exact(StreamRevision(*written - 1));
    *written += batch->size();
    ++appends_;
    sink_->Append(stream, exp, std::move(*batch), std::move(snapshot));
    batch->clear();
  }

  // Learner::State as JsonSnapshotCodec writes it (nlohmann: keys in order, std::set
  // elements in byte order) for a learner with `lessons` lessons k0..k<lessons-1> on the
  // days set in `days`. Checked against nlohmann on a sample.
  void LearnerStateJson(std::string* out, uint32_t learner, uint64_t lessons,
                        const uint64_t* days) const {
    out->assign("{\"days\":[");
    bool first = true;
    for (int d = 0; d < o_.days; ++d) {
      if ((days[d / 64] >> (d % 64) & 1) == 0) continue;
      out->append(first ? "\"" : ",\"").append(day_names_[static_cast<size_t>(d)]).push_back('"');
      first = false;
    }
    out->append("],\"lessons\":[");
    // 0..lessons-1 in the byte order of their decimal strings ("k0" < "k1" < "k10" < "k2").
    if (lessons > 0) out->append("\"k0\"");
    for (uint64_t i = 1, cur = 1; i < lessons; ++i) {
      out->append(",\"k").append(std::to_string(cur)).push_back('"');
      if (cur * 10 < lessons) {
        cur *= 10;
      } else {
        if (cur >= lessons - 1) cur /= 10;
        ++cur;
        while (cur % 10 == 0) cur /= 10;
      }
    }
    out->append("],\"name\":\"").append(names_[learner]).append("\",\"registered\":true}");
  }

  Learner::State LearnerState(uint32_t learner, uint64_t lessons, const uint64_t* days) const {
    Learner::State st;
    st.registered = true;
    st.name = names_[learner];
    for (uint64_t i = 0; i < lessons; ++i) st.lessons.insert("k" + std::to_string(i));
    for (int d = 0; d < o_.days; ++d) {
      if (days[d / 64] >> (d % 64) & 1) st.days.insert(day_names_[static_cast<size_t>(d)]);
    }
    return st;
  }

  struct Session {
    int64_t start;  // completed_at of its first lesson
    uint32_t learner;
    uint32_t lessons;
  };

  Status Lessons() {
    if (o_.events == 0) return Status::Ok();
    Rng rng(o_.seed * 0x9e3779b97f4a7c15ull + 4);
    std::vector<double> day_weights(static_cast<size_t>(o_.days));
    for (int d = 0; d < o_.days; ++d) {
      const int64_t day_number = window_start_ / kDay + d;
      const int weekday = static_cast<int>((day_number + 4) % 7);  // 1970-01-01 was a Thursday
      day_weights[d] = (weekday == 0 || weekday == 6 ? 1.2 : 1.0) * (0.85 + 0.3 * d / o_.days);
    }
    const std::vector<uint64_t> per_day = Apportion(o_.events, day_weights);
    AliasTable pick_learner(weights_);
    weights_.clear();
    weights_.shrink_to_fit();
    std::vector<double> hour_cdf(24);
    std::partial_sum(std::begin(kHourWeights), std::end(kHourWeights), hour_cdf.begin());
    for (double& c : hour_cdf) c /= hour_cdf.back();

    day_names_.clear();
    for (int d = 0; d < o_.days; ++d)
      day_names_.push_back(FormatUtc(window_start_ + d * kDay).substr(0, 10));
    const size_t day_words = static_cast<size_t>((o_.days + 63) / 64);
    const uint64_t every = o_.snapshot_every;
    // The days each learner studied so far (for snapshots of Learner::State).
    std::vector<uint64_t> studied(every > 0 ? o_.learners * day_words : 0, 0);
    std::vector<uint32_t> today(o_.learners, 0);  // lessons per learner today
    std::vector<uint32_t> count(o_.learners, 1);  // events in each learner stream
    std::vector<uint32_t> touched;
    std::vector<Session> sessions;
    std::vector<int64_t> times;
    std::vector<int> minutes;
    std::string json;
    uint64_t lesson_seq = 0;
    for (int d = 0; d < o_.days && !sink_->failed(); ++d) {
      const int64_t day_start = window_start_ + d * kDay;
      const std::string& day = day_names_[static_cast<size_t>(d)];
      touched.clear();
      for (uint64_t k = 0; k < per_day[d]; ++k) {
        const uint32_t l = pick_learner.Draw(rng);
        if (today[l]++ == 0) touched.push_back(l);
      }
      sessions.clear();
      for (uint32_t l : touched) {
        const double h = rng.Uniform();
        const int hour = static_cast<int>(std::lower_bound(hour_cdf.begin(), hour_cdf.end(), h) -
                                          hour_cdf.begin());
        sessions.push_back(
            {std::min<int64_t>(hour, 23) * 3600 + static_cast<int64_t>(rng.Below(3600)), l,
             today[l]});
        today[l] = 0;
      }
      std::sort(sessions.begin(), sessions.end(), [](const Session& a, const Session& b) {
        return a.start != b.start ? a.start < b.start : a.learner < b.learner;
      });
      for (const Session& s : sessions) {
        if (sink_->failed()) break;
        // One session: lessons back to back (minutes + a short break each); if that runs
        // past midnight, the session starts earlier; if the day is too short for it, the
        // lessons get sorted random times instead.
        minutes.resize(s.lessons);
        times.resize(s.lessons);
        int64_t t = s.start, span = 0;
        for (uint32_t j = 0; j < s.lessons; ++j) {
          minutes[j] = 5 + static_cast<int>(85.0 * std::pow(rng.Uniform(), 2.2) + 0.5);
          const int64_t step = j == 0 ? 0 : minutes[j] * 60 + static_cast<int64_t>(rng.Below(600));
          span += step;
          times[j] = step;
        }
        if (span >= kDay) {
          for (auto& x : times) x = static_cast<int64_t>(rng.Below(kDay));
          std::sort(times.begin(), times.end());
        } else {
          t = std::min(t, kDay - 1 - span);
          for (auto& x : times) x = (t += x);
        }
        const std::string lid = LearnerId(s.learner), stream = "learner-" + lid;
        std::vector<EventData> batch;
        batch.reserve(std::min<size_t>(s.lessons, kMaxEventsPerAppend));
        uint64_t written = count[s.learner];
        for (uint32_t j = 0; j < s.lessons; ++j) {
          LessonCompleted e;
          e.learner_id = lid;
          e.lesson_id = "k" + std::to_string(count[s.learner] - 1);
          e.minutes = minutes[j];
          const int tenths = static_cast<int>(1000.0 - 1001.0 * std::pow(rng.Uniform(), 2.5));
          const int score = std::clamp(tenths, 0, 1000);
          e.score = score / 10.0;
          e.completed_at = FormatUtc(day_start + times[j]);
          e.day = day;
          e.first_of_day = j == 0;
          ++count[s.learner];
          EventData ev;
          ev.id = RandomId(id_rng_);
          ev.type = std::string(LessonCompleted::kType);
          AppendLessonJson(&ev.data, e, score);
          if (o_.check_json || (lesson_seq++ & 1023) == 0) {
            const std::string want = nlohmann::json(e).dump();
            if (want != ev.data) {
              return Status::InvalidArgument("internal error: lesson JSON '" + ev.data +
                                             "' differs from nlohmann's '" + want + "'");
            }
          }
          batch.push_back(std::move(ev));
          if (every > 0 && count[s.learner] % every == 0) {
            // Repository<Learner> writes a snapshot with the lesson that makes the stream
            // length a multiple of snapshot_every.
            uint64_t* days = &studied[s.learner * day_words];
            days[d / 64] |= uint64_t{1} << (d % 64);
            Snapshot snap;
            LearnerStateJson(&snap.data, s.learner, count[s.learner] - 1, days);
            if (o_.check_json || (snapshots_ & 255) == 0) {
              const std::string want =
                  nlohmann::json(LearnerState(s.learner, count[s.learner] - 1, days)).dump();
              if (want != snap.data) {
                return Status::InvalidArgument("internal error: snapshot JSON '" + snap.data +
                                               "' differs from nlohmann's '" + want + "'");
              }
            }
            snap.keep_last = o_.keep_snapshots;
            ++snapshots_;
            Flush(stream, &written, &batch, std::move(snap));
          } else if (batch.size() == kMaxEventsPerAppend) {
            Flush(stream, &written, &batch, std::nullopt);
          }
        }
        if (!batch.empty()) Flush(stream, &written, &batch, std::nullopt);
        if (every > 0)
          studied[s.learner * day_words + static_cast<size_t>(d / 64)] |= uint64_t{1} << (d % 64);
      }
      // Remote appends from several threads: keep days in order in $all.
      KIROKU_RETURN_IF_ERROR(sink_->OrderPoint());
    }
    return Status::Ok();
  }

  const Options& o_;
  const int64_t window_start_;
  Sink* sink_;
  Progress* progress_;
  Rng id_rng_;  // event ids only: not part of the reproducible content
  int lw_ = 6, gw_ = 5;
  std::vector<int64_t> registered_at_, group_created_at_;
  std::vector<std::vector<Membership>> members_;
  uint64_t joins_ = 0;
  uint64_t appends_ = 0, snapshots_ = 0;
  std::vector<double> weights_;
  std::vector<std::string> names_;      // of each learner
  std::vector<std::string> day_names_;  // YYYY-MM-DD of each day of the window
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "studylog-gen: %s\n", message.c_str());
  return 1;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "Fills a kiroku store with a study log: learners, groups, memberships and lesson "
      "events (examples/studylog/API.md)."};
  app.add_option("--target", o.target,
                 "esdb://HOST:PORT?tls=false (a running server) or embedded:DIR (a store "
                 "directory no server is using)")
      ->required();
  app.add_option("--learners", o.learners, "learners to register (ids l000000, ...)")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 31));
  app.add_option("--groups", o.groups, "groups to create (ids g00000, ...)")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 31));
  app.add_option("--events", o.events, "LessonCompleted events to write")
      ->required()
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 40));
  app.add_option("--days", o.days, "lessons fall on this many days before --end")
      ->default_val(90)
      ->check(CLI::Range(1, 3650));
  app.add_option("--seed", o.seed, "seed of everything but the event ids")->default_val(1);
  app.add_option("--end", o.end,
                 "first day after the generated lessons, YYYY-MM-DD (default: "
                 "today, UTC)");
  app.add_option("--concurrency", o.concurrency, "appends in flight over esdb:// (threads)")
      ->default_val(16)
      ->check(CLI::Range(1, 256));
  app.add_option("--max-in-flight", o.max_in_flight,
                 "embedded: events submitted but not yet committed, at most")
      ->default_val(400000)
      ->check(CLI::Range(int64_t{1000}, int64_t{100000000}));
  app.add_option("--snapshot-every", o.snapshot_every,
                 "write a learner snapshot where Repository<Learner> would: whenever a lesson "
                 "makes the stream length a multiple of this (0 = no snapshots); the default is "
                 "the service's (domain.h)")
      ->default_val(50);
  app.add_option("--group-snapshot-every", o.group_snapshot_every,
                 "the same for groups (0 = no snapshots)")
      ->default_val(100);
  app.add_option("--keep-snapshots", o.keep_snapshots,
                 "snapshots kept readable per stream "
                 "(RepositoryOptions::keep_snapshots; 0 = all)")
      ->default_val(2);
  app.add_flag("--dry-run", o.dry_run, "generate and encode everything but write nothing");
  app.add_flag("--check-json", o.check_json,
               "compare every lesson's JSON with nlohmann's (default: every 1024th)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  int64_t end_day;
  if (o.end.empty()) {
    end_day = std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count() /
              kDay * kDay;
  } else {
    auto parsed = o.end.size() == 10 ? ParseRfc3339(o.end + "T00:00:00Z") : std::nullopt;
    if (!parsed) return Fail("--end: '" + o.end + "' is not a date YYYY-MM-DD");
    end_day = *parsed;
  }
  const int64_t window_start = end_day - static_cast<int64_t>(o.days) * kDay;
  if (window_start - 400 * kDay < 0) return Fail("--end/--days: the data would start before 1970");

  Progress progress;
  std::unique_ptr<Sink> sink;
  const std::string first_stream = "learner-" + PaddedId('l', 0, IdWidth(o.learners, 6));
  const bool embedded = o.target.rfind("embedded:", 0) == 0;
  if (o.dry_run) {
    sink = std::make_unique<NullSink>(&progress);
  } else if (embedded) {
    std::string dir = o.target.substr(9);
    if (dir.rfind("//", 0) == 0) dir = dir.substr(2);
    if (dir.empty()) return Fail("--target embedded:DIR needs a directory");
    kiroku::StoreOptions so;
    so.durability = kiroku::Durability::kNoSync;  // made durable when the store closes
    auto store = kiroku::Store::Open(dir, so);
    if (!store.ok()) {
      return Fail("cannot open the store in '" + dir + "': " + store.status().ToString() +
                  " (a server using the directory must be stopped first)");
    }
    auto head = (*store)->StreamHead(first_stream);
    if (!head.ok())
      return Fail("cannot read the store in '" + dir + "': " + head.status().ToString());
    if (head->has_value()) {
      return Fail("the store in '" + dir + "' already holds studylog data (stream '" +
                  first_stream + "' exists); generate into an empty store");
    }
    sink = std::make_unique<EmbeddedSink>(std::move(store).value(), o.max_in_flight, &progress);
  } else {
    auto client = kiroku::OpenEventStore(o.target);
    if (!client.ok()) return Fail("--target '" + o.target + "': " + client.status().ToString());
    kiroku::ReadStreamOptions ro;
    ro.max_count = 1;
    auto probe = (*client)->ReadStream(first_stream, ro);
    if (probe.ok()) {
      return Fail("the server at '" + o.target + "' already holds studylog data (stream '" +
                  first_stream + "' exists); generate into an empty store");
    }
    if (probe.status().code() != kiroku::StatusCode::kStreamNotFound) {
      return Fail("cannot reach the server at '" + o.target + "': " + probe.status().ToString());
    }
    sink = std::make_unique<RemoteSink>(std::move(client).value(), o.concurrency, &progress);
  }

  const auto start = Clock::now();
  Generator gen(o, window_start, sink.get(), &progress);
  Status s;
  {
    ProgressBar bar(&progress);
    s = gen.Run();
    bar.Stop();
  }
  if (!s.ok()) return Fail(s.ToString());
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "studylog-gen: learners=%llu groups=%llu lessons=%llu events=%llu appends=%llu "
      "snapshots=%llu seconds=%.2f events_per_s=%.0f target=%s\n",
      static_cast<unsigned long long>(o.learners), static_cast<unsigned long long>(o.groups),
      static_cast<unsigned long long>(o.events),
      static_cast<unsigned long long>(gen.total_events()),
      static_cast<unsigned long long>(gen.appends()),
      static_cast<unsigned long long>(gen.snapshots()), secs,
      static_cast<double>(gen.total_events()) / std::max(secs, 1e-9),
      o.dry_run ? "none (--dry-run)" : o.target.c_str());
  return 0;
}

}  // namespace
}  // namespace studylog

int main(int argc, char** argv) {
  try {
    return studylog::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "studylog-gen: unexpected error: %s\n", e.what());
    return 1;
  }
}
