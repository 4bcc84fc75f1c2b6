// One page of a group's learners: the request (sort key, order, limit, keyset cursor), the
// rows, and the JSON the API returns. The read model (SQL) and the naive page (events)
// both produce it, so their answers can be compared byte for byte.
//
// Order: by (sort key, learner_id), both ascending or both descending. Ties on the key
// are broken by learner_id in byte order. A learner who never studied has last_studied ""
// (null in JSON), which is below every time.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/status.h"

namespace studylog {

enum class SortKey { kStudyDays, kMinutes, kLastStudied };

std::string_view SortName(SortKey k);

// Where the previous page ended: its last row's key and learner id (and the sort and
// order it belongs to: a cursor of another listing is refused, not misread).
struct Cursor {
  SortKey sort = SortKey::kStudyDays;
  bool descending = true;
  int64_t number = 0;  // study_days / minutes
  std::string text;    // last_studied
  std::string learner_id;
};

struct PageRequest {
  std::string group_id;
  SortKey sort = SortKey::kStudyDays;
  bool descending = true;
  int limit = 20;
  std::optional<Cursor> after;
};

struct MemberRow {
  std::string learner_id;
  std::string name;
  int64_t study_days = 0;
  int64_t minutes = 0;
  std::string last_studied;  // "" = never
  bool operator==(const MemberRow&) const = default;
};

struct Page {
  std::vector<MemberRow> rows;
  std::optional<std::string> next;  // cursor after the last row, if more rows may follow
};

// Parses sort/order/limit/after query parameters; InvalidArgument names the bad one.
kiroku::Result<PageRequest> ParsePageRequest(std::string group_id,
                                             const std::multimap<std::string, std::string>& query);

std::string EncodeCursor(SortKey sort, bool descending, const MemberRow& row);
kiroku::Result<Cursor> DecodeCursor(std::string_view text, SortKey sort, bool descending);

// Whether row a comes before row b in the request's order.
bool Before(const PageRequest& r, const MemberRow& a, const MemberRow& b);
// Whether a row comes after the request's cursor (true when there is no cursor).
bool AfterCursor(const PageRequest& r, const MemberRow& row);

// The page of `all` (any order) that the request asks for.
Page SlicePage(std::vector<MemberRow> all, const PageRequest& r);

// Builds a Page from up to limit+1 rows already in order (the extra row only says that
// there is a next page).
Page PageFromRows(std::vector<MemberRow> rows, const PageRequest& r);

nlohmann::json PageJson(const PageRequest& r, const Page& page);

// [A-Za-z0-9_-]{1,64}: learner, group and lesson ids.
bool ValidId(std::string_view id);

}  // namespace studylog
