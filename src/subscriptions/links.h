// Link events ("$>"): an event whose data is "<revision>@<stream>" and that stands for
// that event. Catch-up reads resolve them on request (resolve_links); consumer groups
// resolve them and write them to park events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "kiroku/store.h"

namespace kiroku {

inline constexpr const char* kLinkEventType = "$>";

// (revision, stream) from a link's data; nullopt if it is not a well-formed link.
std::optional<std::pair<uint64_t, std::string>> ParseLink(const std::string& data);
// The link's data for `target`.
std::string LinkData(const RecordedEvent& target);
// The event a link points to; nullopt if the link is malformed or the event is gone
// (deleted, truncated).
std::optional<RecordedEvent> ResolveLink(Store* store, const std::string& link_data);

}  // namespace kiroku
