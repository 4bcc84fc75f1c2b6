// The study-log domain: two aggregates over kiroku (include/kiroku/aggregate.h).
//
//   Learner  (stream learner-{id}): registers once, then completes lessons. A lesson id is
//            accepted once: completing it again is an accepted no-op (idempotent), which is
//            why the state keeps every completed lesson id. The state also keeps the days
//            the learner studied, so each LessonCompleted records whether it was the first
//            lesson of its day: the read model then counts study days with one addition
//            instead of a per-learner set of days.
//   StudyGroup (stream group-{id}): created once, learners join (joining twice is a no-op).
//
// The events (API.md lists their JSON) are the contract with the projection spec
// (projections/studylog.yaml), the naive page (naive_page.cc) and studylog-gen, which
// writes the same structs without going through the aggregates.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include "kiroku/aggregate.h"

namespace studylog {

// ---- events ----
struct LearnerRegistered {
  static constexpr std::string_view kType = "LearnerRegistered";
  std::string learner_id, name, registered_at;
};
struct LessonCompleted {
  static constexpr std::string_view kType = "LessonCompleted";
  std::string learner_id, lesson_id;
  int64_t minutes = 0;
  double score = 0;
  std::string completed_at;  // UTC, YYYY-MM-DDTHH:MM:SSZ
  std::string day;           // YYYY-MM-DD of completed_at
  bool first_of_day = false;
};
struct GroupCreated {
  static constexpr std::string_view kType = "GroupCreated";
  std::string group_id, name, created_at;
};
struct LearnerJoinedGroup {
  static constexpr std::string_view kType = "LearnerJoinedGroup";
  std::string group_id, learner_id, joined_at;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LearnerRegistered, learner_id, name, registered_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LessonCompleted, learner_id, lesson_id, minutes, score,
                                   completed_at, day, first_of_day)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(GroupCreated, group_id, name, created_at)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(LearnerJoinedGroup, group_id, learner_id, joined_at)

// ---- Learner ----
struct Learner {
  static constexpr std::string_view kCategory = "learner";
  using Event = std::variant<LearnerRegistered, LessonCompleted>;

  struct Register {
    std::string learner_id, name, at;
  };
  struct CompleteLesson {
    std::string learner_id, lesson_id;
    int64_t minutes = 0;
    double score = 0;
    std::string completed_at;  // normalised by the caller (time_utc.h)
  };
  using Command = std::variant<Register, CompleteLesson>;

  struct State {
    bool registered = false;
    std::string name;
    std::set<std::string> lessons;  // every completed lesson id (idempotency)
    std::set<std::string> days;     // every day with a completed lesson
  };

  static void Apply(State& s, const Event& e);
  static kiroku::Decision<Event> Decide(const State& s, const Command& c);
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Learner::State, registered, name, lessons, days)

// ---- StudyGroup ----
struct StudyGroup {
  static constexpr std::string_view kCategory = "group";
  using Event = std::variant<GroupCreated, LearnerJoinedGroup>;

  struct Create {
    std::string group_id, name, at;
  };
  struct Join {
    std::string group_id, learner_id, at;  // the caller checked that the learner exists
  };
  using Command = std::variant<Create, Join>;

  struct State {
    bool created = false;
    std::string name;
    std::set<std::string> members;
  };

  static void Apply(State& s, const Event& e);
  static kiroku::Decision<Event> Decide(const State& s, const Command& c);
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(StudyGroup::State, created, name, members)

// How the service's repositories snapshot (http_api.cc), and so what studylog-gen writes
// for generated streams to load the same way: a learner loads from a snapshot plus at most
// 49 lessons.
inline constexpr uint64_t kLearnerSnapshotEvery = 50;
inline constexpr uint64_t kGroupSnapshotEvery = 100;
inline constexpr uint32_t kKeepSnapshots = 2;

// Domain error codes (HTTP status mapping lives in http_api.cc).
inline constexpr std::string_view kLearnerExists = "learner_exists";
inline constexpr std::string_view kLearnerNotFound = "learner_not_found";
inline constexpr std::string_view kGroupExists = "group_exists";
inline constexpr std::string_view kGroupNotFound = "group_not_found";

}  // namespace studylog
