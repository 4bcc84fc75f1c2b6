// An EventFilter (kiroku/store.h) compiled for matching: any of the prefixes, else an
// ECMAScript regex_search on the stream name or the event type. One implementation for the
// store's filtered reads and the catch-up reader, so both always agree on what matches.
#pragma once

#include <optional>
#include <regex>
#include <string>
#include <string_view>

#include "kiroku/status.h"
#include "kiroku/store.h"

namespace kiroku {

class EventFilterMatcher {
 public:
  // Borrows `f`, which must outlive the matcher. InvalidArgument for a bad regex.
  static Result<EventFilterMatcher> Make(const EventFilter& f) {
    EventFilterMatcher m;
    m.filter_ = &f;
    if (f.target != EventFilter::Target::kNone && f.prefixes.empty()) {
      try {
        m.regex_.emplace(f.regex, std::regex::ECMAScript | std::regex::optimize);
      } catch (const std::regex_error& e) {
        return Status::InvalidArgument("invalid filter regex '" + f.regex + "': " + e.what());
      }
    }
    return m;
  }

  bool Matches(std::string_view stream, std::string_view type) const {
    if (filter_ == nullptr || filter_->target == EventFilter::Target::kNone) return true;
    std::string_view s = filter_->target == EventFilter::Target::kStreamName ? stream : type;
    if (!filter_->prefixes.empty()) {
      for (const auto& p : filter_->prefixes) {
        if (s.substr(0, p.size()) == p) return true;
      }
      return false;
    }
    return std::regex_search(s.begin(), s.end(), *regex_);
  }

 private:
  const EventFilter* filter_ = nullptr;
  std::optional<std::regex> regex_;
};

}  // namespace kiroku
