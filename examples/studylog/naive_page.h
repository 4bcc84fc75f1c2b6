// Pages and histories computed straight from the events, on every request.
//
// NaiveGroupPage is the design teams moved away from: read the group's stream for its
// members, then every member's whole stream, fold the totals, sort, slice. It is here to
// compare with the read model (same answers, very different cost), and the end-to-end
// tests hold the two to the same result. It derives study days from the lessons' days
// itself, without trusting LessonCompleted.first_of_day.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiroku/event_store.h"
#include "page.h"

namespace studylog {

// nullopt: no such group.
kiroku::Result<std::optional<Page>> NaiveGroupPage(kiroku::EventStore& store,
                                                   const PageRequest& request);

struct LessonEntry {
  std::string lesson_id;
  int64_t minutes = 0;
  double score = 0;
  std::string completed_at;
};

struct LearnerHistory {
  std::string name;
  std::vector<LessonEntry> lessons;  // in the order they were accepted
};

// nullopt: no such learner.
kiroku::Result<std::optional<LearnerHistory>> ReadLearnerHistory(kiroku::EventStore& store,
                                                                 const std::string& learner_id);

}  // namespace studylog
