#include "projections/event_params.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

namespace kiroku::projections {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

size_t SkipSpace(std::string_view s, size_t p) {
  while (p < s.size() && IsSpace(s[p])) ++p;
  return p;
}

// Index one past the end of the string starting at s[p] == '"', or npos.
size_t SkipString(std::string_view s, size_t p) {
  for (++p; p < s.size(); ++p) {
    if (s[p] == '\\') {
      ++p;
    } else if (s[p] == '"') {
      return p + 1;
    }
  }
  return std::string_view::npos;
}

// Index one past the end of the value starting at s[p], or npos if malformed.
size_t SkipValue(std::string_view s, size_t p) {
  if (p >= s.size()) return std::string_view::npos;
  char c = s[p];
  if (c == '"') return SkipString(s, p);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (p < s.size()) {
      char d = s[p];
      if (d == '"') {
        p = SkipString(s, p);
        if (p == std::string_view::npos) return p;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return p + 1;
      }
      ++p;
    }
    return std::string_view::npos;
  }
  while (p < s.size() && s[p] != ',' && s[p] != '}' && s[p] != ']' && !IsSpace(s[p])) ++p;
  return p;
}

std::string UnescapeJsonString(std::string_view raw) {
  if (raw.find('\\') == std::string_view::npos) {
    return std::string(raw.substr(1, raw.size() >= 2 ? raw.size() - 2 : 0));
  }
  try {
    return nlohmann::json::parse(raw).get<std::string>();
  } catch (const std::exception&) {
    return std::string(raw);
  }
}

}  // namespace

std::optional<std::string> SqlValue::ToText() const {
  switch (kind) {
    case Kind::kNull:
      return std::nullopt;
    case Kind::kInt:
      return std::to_string(i);
    case Kind::kReal: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return std::string(buf);
    }
    case Kind::kText:
      return s;
  }
  return std::nullopt;
}

Result<ParamRef> ParamRef::Parse(std::string_view name) {
  ParamRef ref;
  ref.name = std::string(name);
  std::string_view head = name.substr(0, name.find('.'));
  std::string_view rest = head.size() < name.size() ? name.substr(head.size() + 1) : "";
  auto split_path = [&](std::string_view p) -> Status {
    while (!p.empty()) {
      size_t dot = p.find('.');
      std::string_view part = p.substr(0, dot);
      if (part.empty()) return Status::InvalidArgument("empty path component in :" + ref.name);
      ref.path.emplace_back(part);
      if (dot == std::string_view::npos) break;
      p = p.substr(dot + 1);
      if (p.empty()) return Status::InvalidArgument("trailing '.' in :" + ref.name);
    }
    return Status::Ok();
  };
  if (head == "data" || head == "metadata") {
    ref.source = head == "data" ? Source::kData : Source::kMetadata;
    KIROKU_RETURN_IF_ERROR(split_path(rest));
    return ref;
  }
  if (head == "event") {
    static constexpr std::pair<std::string_view, Source> kFields[] = {
        {"type", Source::kEventType},         {"stream", Source::kEventStream},
        {"revision", Source::kEventRevision}, {"position", Source::kEventPosition},
        {"created", Source::kEventCreated},   {"id", Source::kEventId}};
    for (const auto& [field, source] : kFields) {
      if (rest == field) {
        ref.source = source;
        return ref;
      }
    }
    return Status::InvalidArgument("unknown parameter :" + ref.name +
                                   " (event fields: type, stream, revision, position, "
                                   "created, id)");
  }
  return Status::InvalidArgument("unknown parameter :" + ref.name +
                                 " (use :data.<path>, :metadata.<path> or :event.<field>)");
}

std::optional<std::string_view> FindJsonPath(std::string_view doc,
                                             const std::vector<std::string>& path) {
  size_t p = SkipSpace(doc, 0);
  for (const std::string& key : path) {
    if (p >= doc.size()) return std::nullopt;
    if (doc[p] == '{') {
      p = SkipSpace(doc, p + 1);
      bool found = false;
      while (p < doc.size() && doc[p] != '}') {
        if (doc[p] != '"') return std::nullopt;
        size_t key_end = SkipString(doc, p);
        if (key_end == std::string_view::npos) return std::nullopt;
        std::string_view raw_key = doc.substr(p, key_end - p);
        bool match = raw_key.size() == key.size() + 2 && raw_key.substr(1, key.size()) == key;
        if (!match && raw_key.find('\\') != std::string_view::npos) {
          match = UnescapeJsonString(raw_key) == key;
        }
        p = SkipSpace(doc, key_end);
        if (p >= doc.size() || doc[p] != ':') return std::nullopt;
        p = SkipSpace(doc, p + 1);
        if (match) {
          found = true;
          break;
        }
        p = SkipValue(doc, p);
        if (p == std::string_view::npos) return std::nullopt;
        p = SkipSpace(doc, p);
        if (p < doc.size() && doc[p] == ',') p = SkipSpace(doc, p + 1);
      }
      if (!found) return std::nullopt;
    } else if (doc[p] == '[') {
      uint64_t index = 0;
      auto [ptr, ec] = std::from_chars(key.data(), key.data() + key.size(), index);
      if (ec != std::errc() || ptr != key.data() + key.size()) return std::nullopt;
      p = SkipSpace(doc, p + 1);
      for (uint64_t i = 0; i < index; ++i) {
        if (p >= doc.size() || doc[p] == ']') return std::nullopt;
        p = SkipValue(doc, p);
        if (p == std::string_view::npos) return std::nullopt;
        p = SkipSpace(doc, p);
        if (p < doc.size() && doc[p] == ',') p = SkipSpace(doc, p + 1);
      }
      if (p >= doc.size() || doc[p] == ']') return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  size_t end = SkipValue(doc, p);
  if (end == std::string_view::npos || end == p) return std::nullopt;
  return doc.substr(p, end - p);
}

SqlValue JsonToSqlValue(std::string_view raw) {
  if (raw.empty()) return SqlValue::Null();
  switch (raw[0]) {
    case '"':
      return SqlValue::Text(UnescapeJsonString(raw));
    case 't':
      return SqlValue::Int(1);
    case 'f':
      return SqlValue::Int(0);
    case 'n':
      return SqlValue::Null();
    case '{':
    case '[':
      return SqlValue::Text(std::string(raw));
    default:
      break;
  }
  if (raw.find_first_of(".eE") == std::string_view::npos) {
    int64_t v = 0;
    auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
    if (ec == std::errc() && ptr == raw.data() + raw.size()) return SqlValue::Int(v);
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), d);
  if (ec == std::errc()) return SqlValue::Real(d);
  return SqlValue::Text(std::string(raw));
}

std::string FormatTimestampUs(int64_t us) {
  time_t secs = static_cast<time_t>(us / 1000000);
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(frac));
  return buf;
}

SqlValue ParamValue(const ParamRef& ref, const RecordedEvent& event) {
  switch (ref.source) {
    case ParamRef::Source::kData:
    case ParamRef::Source::kMetadata: {
      const std::string& doc = ref.source == ParamRef::Source::kData ? event.data : event.metadata;
      if (ref.path.empty()) return doc.empty() ? SqlValue::Null() : SqlValue::Text(doc);
      auto raw = FindJsonPath(doc, ref.path);
      return raw ? JsonToSqlValue(*raw) : SqlValue::Null();
    }
    case ParamRef::Source::kEventType:
      return SqlValue::Text(event.type);
    case ParamRef::Source::kEventStream:
      return SqlValue::Text(event.stream);
    case ParamRef::Source::kEventRevision:
      return SqlValue::Int(static_cast<int64_t>(event.revision.value));
    case ParamRef::Source::kEventPosition:
      return SqlValue::Int(static_cast<int64_t>(event.position.value));
    case ParamRef::Source::kEventCreated:
      return SqlValue::Text(FormatTimestampUs(event.created_us));
    case ParamRef::Source::kEventId:
      return SqlValue::Text(event.id.ToString());
  }
  return SqlValue::Null();
}

}  // namespace kiroku::projections
