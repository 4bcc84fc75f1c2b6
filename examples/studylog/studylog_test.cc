// Unit tests of the study log's pure parts: times, cursors, page order. The service as a
// whole is tested end to end over HTTP in tests/studylog/.
#include <gtest/gtest.h>

#include "domain.h"
#include "page.h"
#include "time_utc.h"

namespace studylog {
namespace {

TEST(TimeUtc, ParsesRfc3339AndNormalisesToUtc) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(FormatUtc(*ParseRfc3339("2026-11-01T12:00:00.250+02:00")), "2026-11-01T10:00:00Z");
  EXPECT_EQ(FormatUtc(*ParseRfc3339("2024-02-29T23:30:00-01:00")), "2024-03-01T00:30:00Z");
  EXPECT_EQ(FormatUtc(*ParseRfc3339("2016-12-31T23:59:60Z")), "2016-12-31T23:59:59Z");
  for (const char* bad :
       {"", "2026-11-01", "2026-11-01T10:00:00", "2026-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2026-11-01T24:00:00Z", "1969-12-31T23:59:59Z", "2026-11-01T10:00:00Zjunk",
        "2026-11-01T10:00:00.Z", "2026-11-01 10:00:00Z", "2026-11-01T10:00:00+0200"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

TEST(Page, CursorsRoundTripAndBelongToOneSortAndOrder) {
  MemberRow row{"l000042", "Ada", 7, 300, "2026-11-01T10:00:00Z"};
  for (SortKey k : {SortKey::kStudyDays, SortKey::kMinutes, SortKey::kLastStudied}) {
    for (bool desc : {true, false}) {
      const std::string c = EncodeCursor(k, desc, row);
      auto back = DecodeCursor(c, k, desc);
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_EQ(back->learner_id, "l000042");
      EXPECT_FALSE(DecodeCursor(c, k, !desc).ok());
      EXPECT_FALSE(
          DecodeCursor(c, k == SortKey::kMinutes ? SortKey::kStudyDays : SortKey::kMinutes, desc)
              .ok());
    }
  }
  EXPECT_FALSE(DecodeCursor("!!", SortKey::kMinutes, true).ok());
  EXPECT_FALSE(DecodeCursor("", SortKey::kMinutes, true).ok());
}

TEST(Page, SlicesInKeyThenIdOrderWithNeverStudiedLowest) {
  std::vector<MemberRow> rows = {{"b", "", 3, 10, "2026-01-02T00:00:00Z"},
                                 {"a", "", 3, 20, ""},
                                 {"c", "", 1, 30, "2026-01-01T00:00:00Z"},
                                 {"d", "", 3, 5, "2026-01-03T00:00:00Z"}};
  PageRequest r;
  r.limit = 2;
  Page p1 = SlicePage(rows, r);  // study_days desc, then id desc
  ASSERT_EQ(p1.rows.size(), 2u);
  EXPECT_EQ(p1.rows[0].learner_id, "d");
  EXPECT_EQ(p1.rows[1].learner_id, "b");
  ASSERT_TRUE(p1.next.has_value());
  r.after = *DecodeCursor(*p1.next, r.sort, r.descending);
  Page p2 = SlicePage(rows, r);
  ASSERT_EQ(p2.rows.size(), 2u);
  EXPECT_EQ(p2.rows[0].learner_id, "a");
  EXPECT_EQ(p2.rows[1].learner_id, "c");
  EXPECT_FALSE(p2.next.has_value());

  PageRequest last;
  last.sort = SortKey::kLastStudied;
  last.descending = false;
  last.limit = 10;
  Page p = SlicePage(rows, last);
  ASSERT_EQ(p.rows.size(), 4u);
  EXPECT_EQ(p.rows[0].learner_id, "a");  // never studied: first ascending
  EXPECT_EQ(p.rows[3].learner_id, "d");
}

TEST(Domain, LearnerIsIdempotentPerLessonAndCountsFirstOfDay) {
  Learner::State s;
  EXPECT_TRUE(Learner::Decide(s, Learner::CompleteLesson{"x", "k1", 10, 1, "2026-11-01T10:00:00Z"})
                  .rejected());
  const auto registered = Learner::Decide(s, Learner::Register{"x", "X", "t"});
  for (const auto& e : registered.events()) Learner::Apply(s, e);
  auto first =
      Learner::Decide(s, Learner::CompleteLesson{"x", "k1", 10, 1, "2026-11-01T10:00:00Z"});
  ASSERT_EQ(first.events().size(), 1u);
  EXPECT_TRUE(std::get<LessonCompleted>(first.events()[0]).first_of_day);
  Learner::Apply(s, first.events()[0]);
  EXPECT_TRUE(Learner::Decide(s, Learner::CompleteLesson{"x", "k1", 99, 2, "2026-11-02T10:00:00Z"})
                  .events()
                  .empty());
  auto same_day =
      Learner::Decide(s, Learner::CompleteLesson{"x", "k2", 5, 1, "2026-11-01T23:00:00Z"});
  ASSERT_EQ(same_day.events().size(), 1u);
  EXPECT_FALSE(std::get<LessonCompleted>(same_day.events()[0]).first_of_day);
  EXPECT_EQ(Learner::Decide(s, Learner::Register{"x", "X", "t"}).error().code, kLearnerExists);
}

}  // namespace
}  // namespace studylog
