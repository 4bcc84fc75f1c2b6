// Named parameters of projection statements and their values for one event.
//
// A statement names what it needs from the event as `:data.<path>`, `:metadata.<path>` or
// `:event.type|stream|revision|position|created|id`; <path> is dot-separated object keys and
// array indexes (`:data.items.0.sku`). `ParamRef::Parse` turns such a name into a ParamRef;
// `EventParams::Value` computes its value for an event without building a JSON tree: it
// scans the document text for the path, so a statement that needs two fields of a large
// event does not pay for the rest.
//
// Value mapping: JSON string -> text, integer -> int64 (a larger one -> real), other number
// -> real, true/false -> 1/0, null or a missing path -> NULL, object/array -> its JSON text.
// `:event.created` is ISO-8601 UTC text with microseconds; revision and position are int64.
// Thread-safety: values only; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiroku/event.h"
#include "kiroku/status.h"

namespace kiroku::projections {

// One SQL parameter value, as bound to a prepared statement.
struct SqlValue {
  enum class Kind : uint8_t { kNull, kInt, kReal, kText };
  Kind kind = Kind::kNull;
  int64_t i = 0;
  double d = 0;
  std::string s;

  static SqlValue Null() { return {}; }
  static SqlValue Int(int64_t v) { return {Kind::kInt, v, 0, {}}; }
  static SqlValue Real(double v) { return {Kind::kReal, 0, v, {}}; }
  static SqlValue Text(std::string v) { return {Kind::kText, 0, 0, std::move(v)}; }
  // Text form as PostgreSQL's text protocol wants it; nullopt for NULL.
  std::optional<std::string> ToText() const;
};

struct ParamRef {
  enum class Source : uint8_t {
    kData,
    kMetadata,
    kEventType,
    kEventStream,
    kEventRevision,
    kEventPosition,
    kEventCreated,
    kEventId,
  };
  Source source = Source::kData;
  std::vector<std::string> path;  // kData / kMetadata; empty = the whole document
  std::string name;               // as written, without the colon ("data.group_id")

  // InvalidArgument naming the parameter if it is not one of the forms above.
  static Result<ParamRef> Parse(std::string_view name);
  bool operator==(const ParamRef& o) const { return name == o.name; }
};

// The raw JSON text of the value at `path` in `doc`, or nullopt if the path is absent or
// the document is not JSON.
std::optional<std::string_view> FindJsonPath(std::string_view doc,
                                             const std::vector<std::string>& path);
// Converts raw JSON value text to a SqlValue by the mapping above.
SqlValue JsonToSqlValue(std::string_view raw);
// "2026-11-22T05:23:24.123456Z"
std::string FormatTimestampUs(int64_t us);

// The value of `ref` for `event`.
SqlValue ParamValue(const ParamRef& ref, const RecordedEvent& event);

}  // namespace kiroku::projections
