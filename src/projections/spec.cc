#include "projections/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "projections/sql_text.h"

namespace kiroku::projections {
namespace {

int LineOf(const YAML::Node& n) { return n.Mark().line + 1; }

bool ValidName(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

Result<std::string> ExpandEnvironment(std::string_view text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find("${", i);
    if (open == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, open - i));
    const size_t close = text.find('}', open + 2);
    if (close == std::string_view::npos)
      return Status::InvalidArgument("unclosed ${ in '" + std::string(text) + "'");
    std::string_view body = text.substr(open + 2, close - open - 2);
    std::optional<std::string_view> fallback;
    if (size_t dash = body.find(":-"); dash != std::string_view::npos) {
      fallback = body.substr(dash + 2);
      body = body.substr(0, dash);
    }
    const std::string name(body);
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        })) {
      return Status::InvalidArgument("bad variable name '${" +
                                     std::string(text.substr(open + 2, close - open - 2)) + "}'");
    }
    const char* value = std::getenv(name.c_str());
    if (value != nullptr && *value != '\0') {
      out += value;
    } else if (fallback) {
      out.append(*fallback);
    } else {
      return Status::InvalidArgument("environment variable " + name + " is not set (write ${" +
                                     name + ":-default} for a default)");
    }
    i = close + 1;
  }
  return out;
}

namespace {

class Parser {
 public:
  Parser(std::string file, const std::string& text) : text_(text) { spec_.file = std::move(file); }

  Result<ProjectionSpec> Parse(const YAML::Node& root) {
    if (!root.IsMap()) return Error(root, "the spec must be a YAML mapping");
    static const std::set<std::string> kKeys = {"name",    "version",    "source",   "target",
                                                "schema",  "on",         "on_error", "batch",
                                                "rebuild", "description"};
    for (const auto& kv : root) {
      std::string key = kv.first.as<std::string>();
      if (!kKeys.count(key)) return Error(kv.first, "unknown key '" + key + "'");
    }
    KIROKU_ASSIGN_OR_RETURN(spec_.name, Scalar(root, "name", true));
    if (!ValidName(spec_.name) || spec_.name.size() > 48) {
      return Error(root["name"], "name must match [A-Za-z_][A-Za-z0-9_]* (at most 48 characters)");
    }
    if (root["version"]) {
      KIROKU_ASSIGN_OR_RETURN(int64_t v, Integer(root["version"], "version"));
      if (v < 1) return Error(root["version"], "version must be >= 1");
      spec_.version = v;
    }
    KIROKU_RETURN_IF_ERROR(ParseSource(root));
    KIROKU_ASSIGN_OR_RETURN(std::string raw_target, Scalar(root, "target", true));
    spec_.target_line = LineOf(root["target"]);
    Result<std::string> expanded = ExpandEnvironment(raw_target);
    if (!expanded.ok()) return Error(root["target"], expanded.status().message());
    spec_.target = std::move(expanded).value();
    if (spec_.target.rfind("sqlite:", 0) != 0 && spec_.target.rfind("postgresql://", 0) != 0 &&
        spec_.target.rfind("postgres://", 0) != 0) {
      return Error(root["target"], "target must be sqlite:PATH or a postgresql:// URL");
    }
    if (spec_.target == "sqlite:") return Error(root["target"], "sqlite: needs a path");
    if (root["schema"]) {
      YAML::Node n = root["schema"];
      if (n.IsMap()) {
        // Per-database DDL: {sqlite: ..., postgresql: ...}; the target picks one. Lets a
        // spec use what one database does best (SQLite's WITHOUT ROWID tables) while the
        // `on` statements stay shared.
        const bool pg = spec_.target.rfind("sqlite:", 0) != 0;
        for (const auto& kv : n) {
          const std::string key = kv.first.as<std::string>();
          if (key != "sqlite" && key != "postgresql") {
            return Error(kv.first, "schema keys are sqlite and postgresql, not '" + key + "'");
          }
        }
        YAML::Node picked = n[pg ? "postgresql" : "sqlite"];
        if (!picked) {
          return Error(n, std::string("schema has no ") + (pg ? "postgresql" : "sqlite") +
                              " entry for this target");
        }
        n = picked;
      }
      if (!n.IsScalar())
        return Error(n, "schema must be SQL text (or {sqlite: SQL, postgresql: SQL})");
      // A block scalar starts on the line after the `schema: |` key.
      int base = ContentLine(n);
      for (SqlChunk& c : SplitSqlStatements(n.as<std::string>())) {
        spec_.schema.push_back({std::move(c.sql), base + c.line});
      }
    }
    KIROKU_RETURN_IF_ERROR(ParseHandlers(root));
    if (root["on_error"]) {
      KIROKU_ASSIGN_OR_RETURN(std::string v, Scalar(root, "on_error", true));
      if (v == "stop") {
        spec_.on_error = OnError::kStop;
      } else if (v == "skip") {
        spec_.on_error = OnError::kSkip;
      } else {
        return Error(root["on_error"], "on_error must be stop or skip");
      }
    }
    if (const YAML::Node& b = root["batch"]) {
      if (!b.IsMap()) return Error(b, "batch must be a mapping {events: N, ms: T}");
      for (const auto& kv : b) {
        std::string key = kv.first.as<std::string>();
        KIROKU_ASSIGN_OR_RETURN(int64_t v, Integer(kv.second, key));
        if (v < 1 || v > 10000000) return Error(kv.second, key + " out of range");
        if (key == "events") {
          spec_.batch_events = static_cast<uint32_t>(v);
        } else if (key == "ms") {
          spec_.batch_ms = static_cast<uint32_t>(v);
        } else {
          return Error(kv.first, "unknown batch key '" + key + "' (events, ms)");
        }
      }
    }
    if (const YAML::Node& r = root["rebuild"]) {
      if (!r.IsMap()) return Error(r, "rebuild must be a mapping");
      for (const auto& kv : r) {
        std::string key = kv.first.as<std::string>();
        if (key == "batch_events") {
          KIROKU_ASSIGN_OR_RETURN(int64_t v, Integer(kv.second, key));
          if (v < 1 || v > 10000000) return Error(kv.second, key + " out of range");
          spec_.rebuild_batch_events = static_cast<uint32_t>(v);
        } else if (key == "defer_indexes") {
          try {
            spec_.defer_indexes = kv.second.as<bool>();
          } catch (const YAML::Exception&) {
            return Error(kv.second, "defer_indexes must be true or false");
          }
        } else {
          return Error(kv.first, "unknown rebuild key '" + key + "' (batch_events, defer_indexes)");
        }
      }
    }
    return std::move(spec_);
  }

 private:
  Status Error(const YAML::Node& n, const std::string& msg) const {
    return Status::InvalidArgument(spec_.Where(n.IsDefined() ? LineOf(n) : 1) + msg);
  }

  Result<std::string> Scalar(const YAML::Node& parent, const char* key, bool required) {
    const YAML::Node& n = parent[key];
    if (!n) {
      if (required) return Status::InvalidArgument(spec_.Where(1) + "missing '" + key + "'");
      return std::string();
    }
    if (!n.IsScalar()) return Error(n, std::string(key) + " must be a scalar");
    return n.as<std::string>();
  }

  Result<int64_t> Integer(const YAML::Node& n, const std::string& what) {
    try {
      return n.as<int64_t>();
    } catch (const YAML::Exception&) {
      return Error(n, what + " must be an integer");
    }
  }

  Result<std::vector<std::string>> StringList(const YAML::Node& n, const std::string& what) {
    std::vector<std::string> out;
    if (n.IsScalar()) {
      out.push_back(n.as<std::string>());
      return out;
    }
    if (!n.IsSequence()) return Error(n, what + " must be a list of strings");
    for (const auto& item : n) {
      if (!item.IsScalar()) return Error(item, what + " must be a list of strings");
      out.push_back(item.as<std::string>());
    }
    return out;
  }

  Status ParseSource(const YAML::Node& root) {
    const YAML::Node& s = root["source"];
    if (!s) return Status::InvalidArgument(spec_.Where(1) + "missing 'source'");
    if (!s.IsMap()) return Error(s, "source must be a mapping");
    bool all = false;
    for (const auto& kv : s) {
      std::string key = kv.first.as<std::string>();
      if (key == "categories") {
        KIROKU_ASSIGN_OR_RETURN(spec_.source.categories, StringList(kv.second, key));
      } else if (key == "streams") {
        KIROKU_ASSIGN_OR_RETURN(spec_.source.streams, StringList(kv.second, key));
      } else if (key == "event_types") {
        KIROKU_ASSIGN_OR_RETURN(spec_.source.event_types, StringList(kv.second, key));
      } else if (key == "all") {
        try {
          all = kv.second.as<bool>();
        } catch (const YAML::Exception&) {
          return Error(kv.second, "all must be true or false");
        }
      } else if (key == "filter") {
        KIROKU_RETURN_IF_ERROR(ParseFilter(kv.second));
      } else {
        return Error(kv.first, "unknown source key '" + key +
                                   "' (categories, streams, event_types, all, filter)");
      }
    }
    bool narrowed = !spec_.source.categories.empty() || !spec_.source.streams.empty() ||
                    !spec_.source.event_types.empty();
    if (!narrowed && !all) {
      return Error(s, "source needs categories, streams, event_types or all: true");
    }
    if (spec_.source.filter.target != EventFilter::Target::kNone &&
        (!spec_.source.categories.empty() || !spec_.source.streams.empty())) {
      return Error(s, "source.filter cannot be combined with categories or streams");
    }
    return Status::Ok();
  }

  Status ParseFilter(const YAML::Node& f) {
    if (!f.IsMap() || f.size() != 1) {
      return Error(f,
                   "filter must have one of stream_prefix, stream_regex, type_prefix, "
                   "type_regex");
    }
    auto kv = *f.begin();
    std::string key = kv.first.as<std::string>();
    EventFilter& out = spec_.source.filter;
    if (key == "stream_prefix" || key == "type_prefix") {
      KIROKU_ASSIGN_OR_RETURN(out.prefixes, StringList(kv.second, key));
    } else if (key == "stream_regex" || key == "type_regex") {
      if (!kv.second.IsScalar()) return Error(kv.second, key + " must be a string");
      out.regex = kv.second.as<std::string>();
      try {
        std::regex check(out.regex, std::regex::ECMAScript);
      } catch (const std::regex_error& e) {
        return Error(kv.second, "bad regex: " + std::string(e.what()));
      }
    } else {
      return Error(kv.first, "unknown filter '" + key + "'");
    }
    out.target = key.rfind("stream", 0) == 0 ? EventFilter::Target::kStreamName
                                             : EventFilter::Target::kEventType;
    return Status::Ok();
  }

  Status ParseHandlers(const YAML::Node& root) {
    const YAML::Node& on = root["on"];
    if (!on) return Status::InvalidArgument(spec_.Where(1) + "missing 'on'");
    if (!on.IsMap() || on.size() == 0) {
      return Error(on, "on must map event types to SQL statements");
    }
    for (const auto& kv : on) {
      SpecHandler h;
      h.event_type = kv.first.as<std::string>();
      if (spec_.HandlerFor(h.event_type)) return Error(kv.first, "duplicate event type");
      std::vector<YAML::Node> items;
      if (kv.second.IsScalar()) {
        items.push_back(kv.second);
      } else if (kv.second.IsSequence()) {
        for (const auto& item : kv.second) items.push_back(item);
      } else {
        return Error(kv.second, "statements must be SQL text or a list of SQL texts");
      }
      for (const YAML::Node& item : items) {
        if (!item.IsScalar()) return Error(item, "statement must be SQL text");
        int base = ContentLine(item);
        for (SqlChunk& c : SplitSqlStatements(item.as<std::string>())) {
          // Named parameters are checked now; the SQL itself against the database later.
          auto r = RewriteNamedParams(c.sql, [](int) { return std::string("?"); });
          if (!r.ok()) {
            return Status::InvalidArgument(spec_.Where(base + c.line) + h.event_type + ": " +
                                           r.status().message());
          }
          h.statements.push_back({std::move(c.sql), base + c.line});
        }
      }
      if (h.statements.empty()) return Error(kv.second, "no statement for " + h.event_type);
      spec_.handlers.push_back(std::move(h));
    }
    return Status::Ok();
  }

  // First line of a scalar's content: a block scalar (`|`, `>`) starts on the next line.
  int ContentLine(const YAML::Node& n) const {
    size_t pos = static_cast<size_t>(n.Mark().pos);
    bool block = pos < text_.size() && (text_[pos] == '|' || text_[pos] == '>');
    return LineOf(n) + (block ? 1 : 0);
  }

  const std::string& text_;
  ProjectionSpec spec_;
};

}  // namespace

bool SpecSource::Matches(std::string_view stream, std::string_view type) const {
  if (!type.empty() && type[0] == '$') {
    return std::find(event_types.begin(), event_types.end(), type) != event_types.end();
  }
  if (!categories.empty() || !streams.empty()) {
    bool in = std::find(streams.begin(), streams.end(), stream) != streams.end();
    if (!in) {
      std::string_view cat = StreamCategory(stream);
      in = std::find(categories.begin(), categories.end(), cat) != categories.end();
    }
    if (!in) return false;
  }
  if (!event_types.empty() &&
      std::find(event_types.begin(), event_types.end(), type) == event_types.end()) {
    return false;
  }
  return true;
}

const SpecHandler* ProjectionSpec::HandlerFor(std::string_view type) const {
  for (const SpecHandler& h : handlers) {
    if (h.event_type == type) return &h;
  }
  return nullptr;
}

EventFilter ProjectionSpec::ServerFilter() const {
  // Prefix filters (cheap, no regex per record) that let through a superset of Matches():
  // category "learner" as prefix "learner" also passes "learners-1", which Matches() drops.
  if (!source.categories.empty() || !source.streams.empty()) {
    std::vector<std::string> prefixes = source.categories;
    prefixes.insert(prefixes.end(), source.streams.begin(), source.streams.end());
    return EventFilter::StreamPrefix(std::move(prefixes));
  }
  if (source.filter.target != EventFilter::Target::kNone) return source.filter;
  // Only events some statement handles can change the read model.
  std::vector<std::string> types;
  if (!source.event_types.empty()) {
    types = source.event_types;
  } else {
    for (const SpecHandler& h : handlers) types.push_back(h.event_type);
  }
  return EventFilter::EventTypePrefix(std::move(types));
}

std::string ProjectionSpec::Where(int line) const {
  return file + ":" + std::to_string(line) + ": ";
}

Result<ProjectionSpec> ParseSpecText(const std::string& text, const std::string& file_name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file_name + ":" + std::to_string(e.mark.line + 1) + ": " +
                                   e.msg);
  }
  try {
    return Parser(file_name, text).Parse(root);
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(file_name + ":" + std::to_string(e.mark.line + 1) + ": " +
                                   e.msg);
  }
}

Result<ProjectionSpec> ParseSpecFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read projection spec " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseSpecText(ss.str(), path);
}

}  // namespace kiroku::projections
