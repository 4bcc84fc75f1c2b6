#include "projections/sql_text.h"

#include <cctype>

namespace kiroku::projections {
namespace {

// If s[p] starts a quoted string, comment or dollar-quoted string, returns one past its
// end (or s.size() if unterminated); otherwise returns p.
size_t SkipQuoted(std::string_view s, size_t p) {
  char c = s[p];
  if (c == '\'' || c == '"' || c == '`') {
    for (size_t q = p + 1; q < s.size(); ++q) {
      if (s[q] == c) {
        if (q + 1 < s.size() && s[q + 1] == c) {
          ++q;  // doubled quote
          continue;
        }
        return q + 1;
      }
    }
    return s.size();
  }
  if (c == '-' && p + 1 < s.size() && s[p + 1] == '-') {
    size_t nl = s.find('\n', p);
    return nl == std::string_view::npos ? s.size() : nl;
  }
  if (c == '/' && p + 1 < s.size() && s[p + 1] == '*') {
    size_t end = s.find("*/", p + 2);
    return end == std::string_view::npos ? s.size() : end + 2;
  }
  if (c == '$') {
    size_t q = p + 1;
    while (q < s.size() && (std::isalnum(static_cast<unsigned char>(s[q])) || s[q] == '_')) ++q;
    if (q < s.size() && s[q] == '$' &&
        (q == p + 1 || !std::isdigit(static_cast<unsigned char>(s[p + 1])))) {
      std::string_view tag = s.substr(p, q - p + 1);
      size_t end = s.find(tag, q + 1);
      return end == std::string_view::npos ? s.size() : end + tag.size();
    }
  }
  return p;
}

std::string Trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

}  // namespace

std::vector<SqlChunk> SplitSqlStatements(std::string_view script) {
  std::vector<SqlChunk> out;
  size_t start = 0, p = 0;
  auto emit = [&](size_t end) {
    std::string_view piece = script.substr(start, end - start);
    size_t lead = 0;
    while (lead < piece.size() && std::isspace(static_cast<unsigned char>(piece[lead]))) ++lead;
    std::string text = Trim(piece);
    if (!text.empty()) {
      int line = 0;
      for (size_t i = 0; i < start + lead; ++i) line += script[i] == '\n';
      out.push_back({std::move(text), line});
    }
  };
  while (p < script.size()) {
    size_t q = SkipQuoted(script, p);
    if (q != p) {
      p = q;
      continue;
    }
    if (script[p] == ';') {
      emit(p);
      start = p + 1;
    }
    ++p;
  }
  emit(script.size());
  return out;
}

Result<RewrittenSql> RewriteNamedParams(std::string_view sql,
                                        const std::function<std::string(int)>& placeholder) {
  RewrittenSql out;
  size_t p = 0;
  while (p < sql.size()) {
    size_t q = SkipQuoted(sql, p);
    if (q != p) {
      out.sql.append(sql.substr(p, q - p));
      p = q;
      continue;
    }
    char c = sql[p];
    if (c == ':' && p + 1 < sql.size() && sql[p + 1] == ':') {  // cast
      out.sql.append("::");
      p += 2;
      continue;
    }
    if (c == ':' && p + 1 < sql.size() &&
        (std::isalpha(static_cast<unsigned char>(sql[p + 1])) || sql[p + 1] == '_')) {
      size_t e = p + 1;
      while (e < sql.size() &&
             (std::isalnum(static_cast<unsigned char>(sql[e])) || sql[e] == '_' || sql[e] == '.'))
        ++e;
      while (e > p + 1 && sql[e - 1] == '.') --e;
      std::string_view name = sql.substr(p + 1, e - p - 1);
      KIROKU_ASSIGN_OR_RETURN(ParamRef ref, ParamRef::Parse(name));
      size_t n = 0;
      while (n < out.params.size() && !(out.params[n] == ref)) ++n;
      if (n == out.params.size()) out.params.push_back(std::move(ref));
      out.sql.append(placeholder(static_cast<int>(n + 1)));
      p = e;
      continue;
    }
    out.sql.push_back(c);
    ++p;
  }
  return out;
}

bool IsDeferrableIndex(std::string_view sql) {
  std::string words;
  for (size_t i = 0; i < sql.size() && words.size() < 40; ++i) {
    words.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i]))));
  }
  auto collapse = [](std::string s) {
    std::string r;
    for (char c : s) {
      if (std::isspace(static_cast<unsigned char>(c))) {
        if (!r.empty() && r.back() != ' ') r.push_back(' ');
      } else {
        r.push_back(c);
      }
    }
    return r;
  };
  words = collapse(words);
  return words.rfind("CREATE INDEX", 0) == 0;
}

}  // namespace kiroku::projections
