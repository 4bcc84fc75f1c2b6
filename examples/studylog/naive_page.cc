#include "naive_page.h"

#include <set>

#include "domain.h"

namespace studylog {

using kiroku::Result;
using kiroku::Status;

namespace {

// Every event of a stream, in order; an empty vector when the stream does not exist.
Result<std::vector<kiroku::RecordedEvent>> ReadWhole(kiroku::EventStore& store,
                                                     const std::string& stream) {
  std::vector<kiroku::RecordedEvent> out;
  kiroku::ReadStreamOptions o;
  o.max_count = 4096;
  while (true) {
    o.from = kiroku::StreamRevision(out.empty() ? 0 : out.back().revision.value + 1);
    Result<std::vector<kiroku::RecordedEvent>> page = store.ReadStream(stream, o);
    if (!page.ok()) {
      if (page.status().code() == kiroku::StatusCode::kStreamNotFound) return out;
      return page.status();
    }
    const size_t n = page->size();
    for (kiroku::RecordedEvent& e : *page) out.push_back(std::move(e));
    if (n < o.max_count) return out;
  }
}

template <typename T>
Result<T> Decode(const kiroku::RecordedEvent& e) {
  try {
    return nlohmann::json::parse(e.data).get<T>();
  } catch (const std::exception& ex) {
    return Status::Corruption("event " + e.stream + "@" + std::to_string(e.revision.value) + ": " +
                              ex.what());
  }
}

}  // namespace

Result<std::optional<Page>> NaiveGroupPage(kiroku::EventStore& store, const PageRequest& r) {
  KIROKU_ASSIGN_OR_RETURN(auto group_events, ReadWhole(store, "group-" + r.group_id));
  bool created = false;
  std::vector<std::string> members;
  std::set<std::string> seen;
  for (const kiroku::RecordedEvent& e : group_events) {
    if (e.type == GroupCreated::kType) created = true;
    if (e.type != LearnerJoinedGroup::kType) continue;
    KIROKU_ASSIGN_OR_RETURN(LearnerJoinedGroup j, Decode<LearnerJoinedGroup>(e));
    if (seen.insert(j.learner_id).second) members.push_back(j.learner_id);
  }
  if (!created) return std::optional<Page>();
  std::vector<MemberRow> rows;
  rows.reserve(members.size());
  for (const std::string& id : members) {
    KIROKU_ASSIGN_OR_RETURN(auto events, ReadWhole(store, "learner-" + id));
    MemberRow row;
    row.learner_id = id;
    std::set<std::string> days;
    for (const kiroku::RecordedEvent& e : events) {
      if (e.type == LearnerRegistered::kType) {
        KIROKU_ASSIGN_OR_RETURN(LearnerRegistered reg, Decode<LearnerRegistered>(e));
        row.name = reg.name;
      } else if (e.type == LessonCompleted::kType) {
        KIROKU_ASSIGN_OR_RETURN(LessonCompleted l, Decode<LessonCompleted>(e));
        row.minutes += l.minutes;
        days.insert(l.completed_at.substr(0, 10));
        if (l.completed_at > row.last_studied) row.last_studied = l.completed_at;
      }
    }
    row.study_days = static_cast<int64_t>(days.size());
    rows.push_back(std::move(row));
  }
  return std::optional<Page>(SlicePage(std::move(rows), r));
}

Result<std::optional<LearnerHistory>> ReadLearnerHistory(kiroku::EventStore& store,
                                                         const std::string& learner_id) {
  KIROKU_ASSIGN_OR_RETURN(auto events, ReadWhole(store, "learner-" + learner_id));
  LearnerHistory h;
  bool registered = false;
  for (const kiroku::RecordedEvent& e : events) {
    if (e.type == LearnerRegistered::kType) {
      KIROKU_ASSIGN_OR_RETURN(LearnerRegistered reg, Decode<LearnerRegistered>(e));
      h.name = reg.name;
      registered = true;
    } else if (e.type == LessonCompleted::kType) {
      KIROKU_ASSIGN_OR_RETURN(LessonCompleted l, Decode<LessonCompleted>(e));
      h.lessons.push_back({l.lesson_id, l.minutes, l.score, l.completed_at});
    }
  }
  if (!registered) return std::optional<LearnerHistory>();
  return std::optional<LearnerHistory>(std::move(h));
}

}  // namespace studylog
