#include "subscriptions/links.h"

namespace kiroku {

std::optional<std::pair<uint64_t, std::string>> ParseLink(const std::string& data) {
  size_t at = data.find('@');
  if (at == std::string::npos || at == 0 || at > 20) return std::nullopt;
  uint64_t rev = 0;
  for (size_t i = 0; i < at; ++i) {
    if (data[i] < '0' || data[i] > '9') return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(data[i] - '0');
    if (rev > (UINT64_MAX - digit) / 10) return std::nullopt;  // overflow
    rev = rev * 10 + digit;
  }
  return std::make_pair(rev, data.substr(at + 1));
}

std::string LinkData(const RecordedEvent& target) {
  return std::to_string(target.revision.value) + "@" + target.stream;
}

std::optional<RecordedEvent> ResolveLink(Store* store, const std::string& link_data) {
  auto link = ParseLink(link_data);
  if (!link) return std::nullopt;
  ReadStreamOptions o;
  o.from = StreamRevision(link->first);
  o.max_count = 1;
  auto r = store->ReadStream(link->second, o);
  if (!r.ok() || r->empty() || r->front().revision.value != link->first) return std::nullopt;
  return std::move(r->front());
}

}  // namespace kiroku
