// EventId formatting/parsing and small stream-name helpers.
#include "kiroku/event.h"

#include <cstring>
#include <random>

namespace kiroku {

EventId EventId::Random() {
  // One generator per thread: no lock, no global state shared across threads.
  thread_local std::mt19937_64 gen(std::random_device{}());
  std::array<uint8_t, 16> b;
  uint64_t hi = gen(), lo = gen();
  for (int i = 0; i < 8; ++i) {
    b[i] = static_cast<uint8_t>(hi >> (8 * i));
    b[8 + i] = static_cast<uint8_t>(lo >> (8 * i));
  }
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return EventId(b);
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<EventId> EventId::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  std::array<uint8_t, 16> b;
  size_t j = 0;
  for (size_t i = 0; i < 36;) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return std::nullopt;
      ++i;
      continue;
    }
    int h = HexValue(text[i]), l = HexValue(text[i + 1]);
    if (h < 0 || l < 0) return std::nullopt;
    b[j++] = static_cast<uint8_t>(h << 4 | l);
    i += 2;
  }
  return EventId(b);
}

std::string EventId::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s;
  s.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s.push_back('-');
    s.push_back(kHex[bytes_[i] >> 4]);
    s.push_back(kHex[bytes_[i] & 15]);
  }
  return s;
}

bool EventId::IsNil() const {
  uint64_t a, b;
  std::memcpy(&a, bytes_.data(), 8);
  std::memcpy(&b, bytes_.data() + 8, 8);
  return (a | b) == 0;
}

RecordedEvent EventView::ToRecorded() const {
  RecordedEvent e;
  e.id = id;
  e.stream.assign(stream);
  e.revision = revision;
  e.position = position;
  e.type.assign(type);
  e.content_type = content_type;
  e.data.assign(data);
  e.metadata.assign(metadata);
  e.created_us = created_us;
  return e;
}

std::string ExpectedRevision::ToString() const {
  switch (kind_) {
    case Kind::kAny:
      return "any";
    case Kind::kNoStream:
      return "no_stream";
    case Kind::kStreamExists:
      return "stream_exists";
    case Kind::kExact:
      return std::to_string(revision_);
  }
  return "?";
}

std::string_view StreamCategory(std::string_view stream) {
  size_t dash = stream.find('-');
  return dash == std::string_view::npos ? stream : stream.substr(0, dash);
}

std::string MetadataStreamOf(std::string_view stream) {
  std::string s = "$$";
  s.append(stream);
  return s;
}

bool IsMetadataStream(std::string_view stream) {
  return stream.size() > 2 && stream.substr(0, 2) == "$$";
}

std::string SnapshotStreamOf(std::string_view stream) {
  return std::string("$snapshots-").append(stream);
}

}  // namespace kiroku
