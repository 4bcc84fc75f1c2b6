#include "page.h"

#include <algorithm>
#include <charconv>

namespace studylog {

using kiroku::Result;
using kiroku::Status;

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64Url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kB64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) out += kB64[(acc << (6 - bits)) & 63];
  return out;
}

std::optional<std::string> FromBase64Url(std::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const char* p = std::find(kB64, kB64 + 64, c);
    if (p == kB64 + 64) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::optional<int64_t> ParseInt(std::string_view s) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// -1, 0, 1 comparing the rows' sort keys, then learner ids.
int Compare(SortKey k, int64_t an, std::string_view at, std::string_view aid, int64_t bn,
            std::string_view bt, std::string_view bid) {
  int c = 0;
  if (k == SortKey::kLastStudied) {
    c = at.compare(bt);
  } else {
    c = an < bn ? -1 : (an > bn ? 1 : 0);
  }
  if (c == 0) c = aid.compare(bid);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

int64_t NumberOf(SortKey k, const MemberRow& r) {
  return k == SortKey::kMinutes ? r.minutes : r.study_days;
}

}  // namespace

std::string_view SortName(SortKey k) {
  switch (k) {
    case SortKey::kStudyDays:
      return "study_days";
    case SortKey::kMinutes:
      return "minutes";
    case SortKey::kLastStudied:
      return "last_studied";
  }
  return "?";
}

bool ValidId(std::string_view id) {
  return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

Result<PageRequest> ParsePageRequest(std::string group_id,
                                     const std::multimap<std::string, std::string>& query) {
  PageRequest r;
  r.group_id = std::move(group_id);
  std::optional<std::string> after;
  for (const auto& [key, value] : query) {
    if (key == "sort") {
      if (value == "study_days") {
        r.sort = SortKey::kStudyDays;
      } else if (value == "minutes") {
        r.sort = SortKey::kMinutes;
      } else if (value == "last_studied") {
        r.sort = SortKey::kLastStudied;
      } else {
        return Status::InvalidArgument("sort must be study_days, minutes or last_studied");
      }
    } else if (key == "order") {
      if (value != "asc" && value != "desc") {
        return Status::InvalidArgument("order must be asc or desc");
      }
      r.descending = value == "desc";
    } else if (key == "limit") {
      std::optional<int64_t> n = ParseInt(value);
      if (!n || *n < 1 || *n > 1000) {
        return Status::InvalidArgument("limit must be an integer from 1 to 1000");
      }
      r.limit = static_cast<int>(*n);
    } else if (key == "after") {
      after = value;
    } else {
      return Status::InvalidArgument("unknown parameter '" + key + "'");
    }
  }
  if (after) {
    KIROKU_ASSIGN_OR_RETURN(Cursor c, DecodeCursor(*after, r.sort, r.descending));
    r.after = std::move(c);
  }
  return r;
}

std::string EncodeCursor(SortKey sort, bool descending, const MemberRow& row) {
  std::string plain(SortName(sort));
  plain += descending ? ".desc|" : ".asc|";
  plain += sort == SortKey::kLastStudied ? row.last_studied : std::to_string(NumberOf(sort, row));
  plain += '|';
  plain += row.learner_id;
  return Base64Url(plain);
}

Result<Cursor> DecodeCursor(std::string_view text, SortKey expected, bool descending) {
  const Status bad = Status::InvalidArgument("after is not a cursor of this listing");
  std::optional<std::string> plain = FromBase64Url(text);
  if (!plain) return bad;
  const size_t a = plain->find('|');
  const size_t b = a == std::string::npos ? a : plain->find('|', a + 1);
  if (b == std::string::npos) return bad;
  if (plain->substr(0, a) != std::string(SortName(expected)) + (descending ? ".desc" : ".asc")) {
    return Status::InvalidArgument("after is a cursor for another sort or order");
  }
  Cursor c;
  c.sort = expected;
  c.descending = descending;
  const std::string key = plain->substr(a + 1, b - a - 1);
  c.learner_id = plain->substr(b + 1);
  if (!ValidId(c.learner_id)) return bad;
  if (expected == SortKey::kLastStudied) {
    if (key.size() > 32) return bad;
    c.text = key;
  } else {
    std::optional<int64_t> n = ParseInt(key);
    if (!n) return bad;
    c.number = *n;
  }
  return c;
}

bool Before(const PageRequest& r, const MemberRow& a, const MemberRow& b) {
  const int c = Compare(r.sort, NumberOf(r.sort, a), a.last_studied, a.learner_id,
                        NumberOf(r.sort, b), b.last_studied, b.learner_id);
  return r.descending ? c > 0 : c < 0;
}

bool AfterCursor(const PageRequest& r, const MemberRow& row) {
  if (!r.after) return true;
  const Cursor& k = *r.after;
  const int c = Compare(r.sort, NumberOf(r.sort, row), row.last_studied, row.learner_id, k.number,
                        k.text, k.learner_id);
  return r.descending ? c < 0 : c > 0;
}

Page SlicePage(std::vector<MemberRow> all, const PageRequest& r) {
  std::erase_if(all, [&r](const MemberRow& row) { return !AfterCursor(r, row); });
  const size_t want = std::min(all.size(), static_cast<size_t>(r.limit) + 1);
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(want), all.end(),
                    [&r](const MemberRow& a, const MemberRow& b) { return Before(r, a, b); });
  all.resize(want);
  return PageFromRows(std::move(all), r);
}

Page PageFromRows(std::vector<MemberRow> rows, const PageRequest& r) {
  Page page;
  const bool more = rows.size() > static_cast<size_t>(r.limit);
  if (more) rows.resize(static_cast<size_t>(r.limit));
  if (more && !rows.empty()) page.next = EncodeCursor(r.sort, r.descending, rows.back());
  page.rows = std::move(rows);
  return page;
}

nlohmann::json PageJson(const PageRequest& r, const Page& page) {
  nlohmann::json learners = nlohmann::json::array();
  for (const MemberRow& row : page.rows) {
    learners.push_back(
        {{"learner_id", row.learner_id},
         {"name", row.name},
         {"study_days", row.study_days},
         {"minutes", row.minutes},
         {"last_studied",
          row.last_studied.empty() ? nlohmann::json(nullptr) : nlohmann::json(row.last_studied)}});
  }
  return {{"group_id", r.group_id},
          {"sort", SortName(r.sort)},
          {"order", r.descending ? "desc" : "asc"},
          {"learners", std::move(learners)},
          {"next", page.next ? nlohmann::json(*page.next) : nlohmann::json(nullptr)}};
}

}  // namespace studylog
