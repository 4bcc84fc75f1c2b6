// UTC times as the study log stores them: "YYYY-MM-DDTHH:MM:SSZ" (fixed width, so text
// order is time order in SQLite and in a C-collation PostgreSQL database).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace studylog {

// Seconds since the Unix epoch of an RFC 3339 time ("2026-11-01T10:00:00Z",
// "2026-11-01T12:00:00.250+02:00"); fractional seconds are dropped. nullopt if malformed
// or outside years 1970..9999.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// "YYYY-MM-DDTHH:MM:SSZ" for seconds since the epoch (>= 0).
std::string FormatUtc(int64_t seconds);

// The current time, formatted.
std::string NowUtc();

}  // namespace studylog
