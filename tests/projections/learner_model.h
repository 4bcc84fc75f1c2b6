// The learner read model used by the projection tests: a spec for it, events for it, and
// the same tables computed in memory from all events in one pass (the expected answer).
#pragma once

#include <cstdint>
#include <map>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "kiroku/event.h"

namespace kiroku::testing {

// Portable SQL (SQLite and PostgreSQL). `extra` is appended to the spec text.
inline std::string LearnerSpec(const std::string& name, const std::string& target, int version = 1,
                               const std::string& extra = "", const std::string& join_sql = "") {
  std::string join = join_sql.empty()
                         ? "INSERT INTO learners VALUES (:data.learner_id, :data.group_id, 0, 0, "
                           "NULL)"
                         : join_sql;
  return "name: " + name + "\nversion: " + std::to_string(version) +
         "\nsource: { categories: [learner] }\ntarget: " + target +
         "\nschema: |\n"
         "  CREATE TABLE learners(learner_id TEXT NOT NULL PRIMARY KEY, group_id TEXT,\n"
         "    study_days INTEGER NOT NULL, minutes INTEGER NOT NULL, last_day TEXT);\n"
         "  CREATE INDEX learners_group ON learners(group_id);\n"
         "on:\n"
         "  JoinedGroup: " +
         join +
         "\n"
         "  LessonCompleted: |\n"
         "    UPDATE learners SET minutes = minutes + :data.minutes,\n"
         "      study_days = study_days + CASE WHEN last_day IS NULL OR last_day <> :data.day\n"
         "                                   THEN 1 ELSE 0 END,\n"
         "      last_day = :data.day\n"
         "    WHERE learner_id = :data.learner_id\n" +
         extra;
}

struct LearnerRow {
  std::string group;
  int64_t study_days = 0, minutes = 0;
  std::string last_day;  // "" = NULL
  bool operator==(const LearnerRow&) const = default;
};
inline void PrintTo(const LearnerRow& r, std::ostream* os) {
  *os << "{" << r.group << ", days " << r.study_days << ", min " << r.minutes << ", last "
      << r.last_day << "}";
}
using LearnerModel = std::map<std::string, LearnerRow>;

// Generates the next event for stream learner-<k>; joins first, then lessons.
class LearnerEvents {
 public:
  explicit LearnerEvents(uint32_t seed, int learners = 50) : rng_(seed), learners_(learners) {}
  // Returns (stream, event).
  std::pair<std::string, EventData> Next() {
    int k = static_cast<int>(rng_() % learners_);
    std::string id = "l" + std::to_string(k);
    EventData e;
    e.id = EventId::Random();
    if (!joined_[k]) {
      joined_[k] = true;
      e.type = "JoinedGroup";
      e.data = "{\"learner_id\":\"" + id + "\",\"group_id\":\"g" + std::to_string(k % 7) + "\"}";
    } else {
      e.type = "LessonCompleted";
      e.data = "{\"learner_id\":\"" + id + "\",\"minutes\":" + std::to_string(rng_() % 60 + 1) +
               ",\"day\":\"2026-11-" + std::to_string(10 + (day_ += rng_() % 2) % 20) + "\"}";
    }
    return {"learner-" + std::to_string(k), e};
  }

 private:
  std::mt19937 rng_;
  int learners_;
  std::map<int, bool> joined_;
  int day_ = 0;
};

// Parses the tiny JSON documents above (flat objects of strings and integers).
inline std::string JsonField(const std::string& doc, const std::string& key) {
  std::string k = "\"" + key + "\":";
  size_t p = doc.find(k);
  if (p == std::string::npos) return "";
  p += k.size();
  if (doc[p] == '"') return doc.substr(p + 1, doc.find('"', p + 1) - p - 1);
  size_t e = doc.find_first_of(",}", p);
  return doc.substr(p, e - p);
}

// The model from all events in one pass (what the SQL above computes).
inline void ApplyToModel(const RecordedEvent& e, LearnerModel* m) {
  if (StreamCategory(e.stream) != "learner") return;
  std::string id = JsonField(e.data, "learner_id");
  if (id.empty()) return;  // the SQL refuses these (NOT NULL); tests handle them explicitly
  if (e.type == "JoinedGroup") {
    (*m)[id] = LearnerRow{JsonField(e.data, "group_id"), 0, 0, ""};
  } else if (e.type == "LessonCompleted") {
    auto it = m->find(id);
    if (it == m->end()) return;
    std::string day = JsonField(e.data, "day");
    it->second.minutes += std::stoll(JsonField(e.data, "minutes"));
    if (it->second.last_day != day) it->second.study_days += 1;
    it->second.last_day = day;
  }
}

}  // namespace kiroku::testing
