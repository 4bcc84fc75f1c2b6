// Kills a writer process at random moments, again and again on the same store, and checks
// after every kill that nothing acknowledged was lost.
//
// Each round starts crash_writer (see crash_writer.cc for what it prints), reads its stdout,
// and SIGKILLs it after 30-250 ms. Every other round is a power loss as well: each log file
// is then cut back to the size the writer last reported synced, as if the page cache had
// never reached the disk, or (every fourth round) to a random point between that and its
// full size, as if part of it had. (The RocksDB index is derived data, replayed from the
// log; it is left as it is.) Then the store is opened here and checked:
//  - every acknowledged event is readable, with its id, in its stream at its revision;
//  - every stream's revisions run from 0 without a gap, and ReadStream agrees with $all;
//  - no event id appears twice, every event was proposed by the writer, and its data names
//    its own id; $all backwards is $all forwards reversed;
//  - every acknowledged position had been synced before the acknowledgement;
//  - VerifyStore finds no problem.
//
// KIROKU_CRASH_ROUNDS sets the number of rounds (default 50); KIROKU_CRASH_SEED replays a
// run (the seed is printed).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "kiroku/store.h"
#include "support/test_dir.h"

extern char** environ;

namespace kiroku {
namespace {

namespace fs = std::filesystem;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

// A segment file name: 20 digits + ".log". Sets the base position.
bool IsSegmentFile(const fs::path& p, uint64_t* base) {
  std::string name = p.filename().string();
  if (name.size() != 24 || !name.ends_with(".log")) return false;
  for (size_t i = 0; i < 20; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
  }
  *base = std::stoull(name.substr(0, 20));
  return true;
}

std::map<std::string, uint64_t> SegmentSizes(const std::string& dir) {
  std::map<std::string, uint64_t> out;
  std::error_code ec;
  if (!fs::exists(dir + "/log", ec)) return out;
  uint64_t base;
  for (const auto& e : fs::directory_iterator(dir + "/log")) {
    if (IsSegmentFile(e.path(), &base)) out[e.path().string()] = e.file_size();
  }
  return out;
}

struct ChildRun {
  std::string output;
  bool killed = false;  // by our SIGKILL (not exited on its own)
  int status = 0;
};

// Starts crash_writer, collects its stdout, kills it after `life`.
ChildRun RunAndKill(const std::vector<std::string>& args, std::chrono::milliseconds life) {
  ChildRun run;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe: " << std::strerror(errno);
    return run;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    ADD_FAILURE() << "spawn " << argv[0] << ": " << std::strerror(rc);
    return run;
  }
  const auto deadline = std::chrono::steady_clock::now() + life;
  char buf[65536];
  bool eof = false;
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n <= 0) continue;  // timeout or EINTR: the loop checks the deadline
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got > 0) {
      run.output.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      eof = true;  // the child is gone already
    }
  }
  run.killed = ::kill(pid, SIGKILL) == 0 && !eof;
  // Whatever it wrote before dying is still in the pipe.
  while (true) {
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got > 0) {
      run.output.append(buf, static_cast<size_t>(got));
    } else if (got == 0 || errno != EINTR) {
      break;
    }
  }
  ::close(fds[0]);
  while (::waitpid(pid, &run.status, 0) < 0 && errno == EINTR) {
  }
  if (!(WIFSIGNALED(run.status) && WTERMSIG(run.status) == SIGKILL)) run.killed = false;
  return run;
}

struct Expected {
  std::string stream;
  uint64_t revision;
};

// What every round taught us about the store.
struct Model {
  std::map<EventId, Expected> acked;  // every event ever acknowledged
  std::set<EventId> proposed;         // every event ever submitted
  uint64_t acks = 0;
};

// What one round's output says; the last line may be cut short by the kill.
struct RoundOutput {
  std::map<std::string, uint64_t> synced;  // segment path -> last synced size
  uint64_t appends = 0;
  uint64_t unsynced_acks = 0;  // acknowledged past everything synced so far
  std::string first_unsynced_ack;
};

void ParseOutput(const std::string& out, Model* model, RoundOutput* round) {
  // Only complete lines: the kill may cut the last one.
  const size_t complete = out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1;
  std::istringstream in(out.substr(0, complete));
  std::string line;
  uint64_t synced_end = 0;  // highest log position known to be synced
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string kind;
    f >> kind;
    if (kind == "S") {
      std::string path;
      uint64_t size = 0, base = 0;
      ASSERT_TRUE(f >> path >> size) << line;
      if (!IsSegmentFile(path, &base)) continue;  // lost+found and such
      round->synced[path] = size;
      synced_end = std::max(synced_end, base + size);
    } else if (kind == "P") {
      std::string id;
      while (f >> id) {
        auto parsed = EventId::Parse(id);
        ASSERT_TRUE(parsed.has_value()) << line;
        model->proposed.insert(*parsed);
      }
    } else if (kind == "A") {
      std::string stream;
      uint64_t first = 0, count = 0, position = 0;
      ASSERT_TRUE(f >> stream >> first >> count >> position) << line;
      if (!round->synced.empty() && position >= synced_end) {
        if (round->unsynced_acks++ == 0) round->first_unsynced_ack = line;
      }
      std::string id;
      for (uint64_t i = 0; i < count; ++i) {
        ASSERT_TRUE(f >> id) << line;
        auto parsed = EventId::Parse(id);
        ASSERT_TRUE(parsed.has_value()) << line;
        auto [it, inserted] = model->acked.emplace(*parsed, Expected{stream, first + i});
        ASSERT_TRUE(inserted) << "event " << id << " acknowledged twice";
      }
      ++model->acks;
      ++round->appends;
    } else {
      ADD_FAILURE() << "unexpected output line: " << line;
    }
  }
}

// The page cache is lost: every log file goes back to what was synced. A file this round
// never synced keeps its size from before the round (synced when the last store here was
// closed), or vanishes to nothing if the round created it. With `partial`, some of the
// unsynced bytes made it to disk after all: each file keeps a random prefix of them, which
// usually ends inside a record. Returns the bytes dropped.
uint64_t DropUnsynced(const std::string& dir, const std::map<std::string, uint64_t>& before,
                      const RoundOutput& round, std::mt19937_64* partial) {
  uint64_t dropped = 0;
  for (const auto& [path, size] : SegmentSizes(dir)) {
    uint64_t keep = 0;
    if (auto it = round.synced.find(path); it != round.synced.end()) {
      keep = it->second;
    } else if (auto old = before.find(path); old != before.end()) {
      keep = old->second;
    }
    if (size <= keep) continue;
    if (partial != nullptr) keep += (*partial)() % (size - keep + 1);
    fs::resize_file(path, keep);
    dropped += size - keep;
  }
  return dropped;
}

// Opens the store and checks it against the model.
void CheckStore(const std::string& dir, const Model& model, uint64_t* events_seen) {
  auto opened = Store::Open(dir);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store* store = opened->get();

  auto all = store->ReadAll(ReadAllOptions{});
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  ASSERT_TRUE(all->end_of_log);
  *events_seen = all->events.size();
  std::map<EventId, const RecordedEvent*> by_id;
  std::map<std::string, std::vector<const RecordedEvent*>> streams;
  for (const RecordedEvent& e : all->events) {
    ASSERT_TRUE(by_id.emplace(e.id, &e).second) << "event " << e.id.ToString() << " appears twice ("
                                                << e.stream << "@" << e.revision.value << ")";
    ASSERT_TRUE(model.proposed.count(e.id)) << "event nobody wrote: " << e.id.ToString();
    ASSERT_EQ(e.data.rfind(R"({"id":")" + e.id.ToString() + "\"", 0), 0u)
        << "event data does not match its id: " << e.stream << "@" << e.revision.value;
    auto& events = streams[e.stream];
    ASSERT_EQ(e.revision.value, events.size())
        << "gap or disorder in " << e.stream << " at position " << e.position.value;
    events.push_back(&e);
  }
  for (const auto& [id, want] : model.acked) {
    auto it = by_id.find(id);
    ASSERT_NE(it, by_id.end()) << "acknowledged event lost: " << id.ToString() << " ("
                               << want.stream << "@" << want.revision << ")";
    EXPECT_EQ(it->second->stream, want.stream) << id.ToString();
    EXPECT_EQ(it->second->revision.value, want.revision) << id.ToString();
  }
  for (const auto& [name, events] : streams) {
    auto r = store->ReadStream(name, ReadStreamOptions{});
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    ASSERT_EQ(r->size(), events.size()) << name;
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_EQ((*r)[i].id, events[i]->id) << name << "@" << i;
      ASSERT_EQ((*r)[i].position, events[i]->position) << name << "@" << i;
      ASSERT_EQ((*r)[i].data, events[i]->data) << name << "@" << i;
    }
    auto head = store->StreamHead(name);
    ASSERT_TRUE(head.ok() && head->has_value()) << name;
    EXPECT_EQ((*head)->value, events.size() - 1) << name;
  }
  ReadAllOptions back;
  back.direction = Direction::kBackwards;
  back.from = Position::End();
  auto reversed = store->ReadAll(back);
  ASSERT_TRUE(reversed.ok()) << reversed.status().ToString();
  ASSERT_EQ(reversed->events.size(), all->events.size());
  for (size_t i = 0; i < all->events.size(); ++i) {
    ASSERT_EQ(reversed->events[all->events.size() - 1 - i].id, all->events[i].id) << i;
  }
  opened->reset();

  auto report = VerifyStore(dir);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  for (const std::string& p : report->problems) ADD_FAILURE() << "verify: " << p;
}

TEST(CrashLoopTest, AcknowledgedEventsSurviveKillsAndPowerLoss) {
  const uint64_t rounds = EnvNumber("KIROKU_CRASH_ROUNDS", 50);
  const uint64_t seed = EnvNumber("KIROKU_CRASH_SEED", std::random_device{}());
  std::cout << "crash loop: " << rounds << " rounds, KIROKU_CRASH_SEED=" << seed << std::endl;
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 rng(seed);

  kiroku::testing::TestDir tmp;
  const std::string dir = tmp.Sub("store");
  Model model;
  uint64_t kills = 0, power_losses = 0, dropped_bytes = 0, events = 0;
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t round = 0; round < rounds; ++round) {
    const bool power_loss = round % 2 == 1;
    SCOPED_TRACE("round " + std::to_string(round) + (power_loss ? " (power loss)" : "") +
                 ", KIROKU_CRASH_SEED=" + std::to_string(seed));
    const auto before = SegmentSizes(dir);
    std::vector<std::string> args = {CRASH_WRITER_PATH, "--data", dir, "--seed",
                                     std::to_string(seed + round)};
    if (power_loss) args.push_back("--power-loss");
    const auto life = std::chrono::milliseconds(30 + rng() % 221);
    ChildRun run = RunAndKill(args, life);
    ASSERT_TRUE(run.killed) << "crash_writer ended by itself (status " << run.status
                            << "); see its stderr above";
    ++kills;
    RoundOutput out;
    ParseOutput(run.output, &model, &out);
    if (::testing::Test::HasFatalFailure()) return;
    EXPECT_EQ(out.unsynced_acks, 0u)
        << "acknowledged before it was synced, first: " << out.first_unsynced_ack;
    if (power_loss) {
      EXPECT_FALSE(out.synced.empty() && out.appends > 0) << "acknowledged without a sync";
      // Alternately all unsynced bytes are lost, or a random part of them survives.
      dropped_bytes += DropUnsynced(dir, before, out, round % 4 == 3 ? &rng : nullptr);
      ++power_losses;
    }
    CheckStore(dir, model, &events);
    if (::testing::Test::HasFatalFailure()) return;
  }
  uint64_t torn_tails = 0;  // recoveries that cut a torn tail keep its bytes here
  std::error_code ec;
  if (fs::exists(dir + "/log/lost+found", ec)) {
    for (const auto& e : fs::directory_iterator(dir + "/log/lost+found"))
      torn_tails += e.is_regular_file();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "crash loop: " << kills << " kills (" << power_losses << " with power loss), "
            << model.acks << " acknowledged appends, " << model.acked.size()
            << " acknowledged events, " << events << " events in the store, " << dropped_bytes
            << " unsynced bytes dropped, " << torn_tails << " torn tails cut, " << seconds << " s"
            << std::endl;
  EXPECT_GT(model.acks, 0u) << "the writer never got an append acknowledged";
  EXPECT_GE(events, model.acked.size());
}

}  // namespace
}  // namespace kiroku
