#include "domain.h"

#include <type_traits>

namespace studylog {

using kiroku::Decision;

void Learner::Apply(State& s, const Event& e) {
  std::visit(
      [&s](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, LearnerRegistered>) {
          s.registered = true;
          s.name = ev.name;
        } else {
          s.lessons.insert(ev.lesson_id);
          s.days.insert(ev.day);
        }
      },
      e);
}

Decision<Learner::Event> Learner::Decide(const State& s, const Command& c) {
  if (const auto* r = std::get_if<Register>(&c)) {
    if (s.registered) {
      return Decision<Event>::Reject(std::string(kLearnerExists),
                                     "learner '" + r->learner_id + "' already exists");
    }
    return Decision<Event>::Accept(LearnerRegistered{r->learner_id, r->name, r->at});
  }
  const auto& l = std::get<CompleteLesson>(c);
  if (!s.registered) {
    return Decision<Event>::Reject(std::string(kLearnerNotFound),
                                   "learner '" + l.learner_id + "' does not exist");
  }
  if (s.lessons.count(l.lesson_id) != 0) return Decision<Event>();  // idempotent repeat
  std::string day = l.completed_at.substr(0, 10);
  const bool first = s.days.count(day) == 0;
  return Decision<Event>::Accept(LessonCompleted{l.learner_id, l.lesson_id, l.minutes, l.score,
                                                 l.completed_at, std::move(day), first});
}

void StudyGroup::Apply(State& s, const Event& e) {
  std::visit(
      [&s](const auto& ev) {
        using T = std::decay_t<decltype(ev)>;
        if constexpr (std::is_same_v<T, GroupCreated>) {
          s.created = true;
          s.name = ev.name;
        } else {
          s.members.insert(ev.learner_id);
        }
      },
      e);
}

Decision<StudyGroup::Event> StudyGroup::Decide(const State& s, const Command& c) {
  if (const auto* cr = std::get_if<Create>(&c)) {
    if (s.created) {
      return Decision<Event>::Reject(std::string(kGroupExists),
                                     "group '" + cr->group_id + "' already exists");
    }
    return Decision<Event>::Accept(GroupCreated{cr->group_id, cr->name, cr->at});
  }
  const auto& j = std::get<Join>(c);
  if (!s.created) {
    return Decision<Event>::Reject(std::string(kGroupNotFound),
                                   "group '" + j.group_id + "' does not exist");
  }
  if (s.members.count(j.learner_id) != 0) return Decision<Event>();  // already a member
  return Decision<Event>::Accept(LearnerJoinedGroup{j.group_id, j.learner_id, j.at});
}

}  // namespace studylog
