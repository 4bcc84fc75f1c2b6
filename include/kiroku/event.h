// Events, strong position/revision types and expected revisions (KurrentDB semantics).
//
// A stream revision counts events in one stream from 0. A position is the byte address of
// an event's record in the global log: it orders `$all`, is unique per event, and serves
// as both commit and prepare position for KurrentDB clients.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiroku {

struct StreamRevision {
  uint64_t value = 0;
  constexpr StreamRevision() = default;
  constexpr explicit StreamRevision(uint64_t v) : value(v) {}
  auto operator<=>(const StreamRevision&) const = default;
  static constexpr StreamRevision Start() { return StreamRevision(0); }
  // Reading backwards from End starts at the last event.
  static constexpr StreamRevision End() { return StreamRevision(UINT64_MAX); }
};

struct Position {
  uint64_t value = 0;
  constexpr Position() = default;
  constexpr explicit Position(uint64_t v) : value(v) {}
  auto operator<=>(const Position&) const = default;
  static constexpr Position Start() { return Position(0); }
  static constexpr Position End() { return Position(UINT64_MAX); }
};

// 16-byte event id, printed as a canonical lowercase UUID.
class EventId {
 public:
  constexpr EventId() = default;
  explicit EventId(const std::array<uint8_t, 16>& bytes) : bytes_(bytes) {}
  static EventId Random();  // version-4 UUID
  // Accepts the 36-character hyphenated form (either case). nullopt if malformed.
  static std::optional<EventId> Parse(std::string_view text);
  std::string ToString() const;
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  bool IsNil() const;
  auto operator<=>(const EventId&) const = default;

 private:
  std::array<uint8_t, 16> bytes_{};
};

enum class ContentType : uint8_t { kBinary = 0, kJson = 1 };

// An event as proposed by a writer.
struct EventData {
  EventId id;
  std::string type;
  ContentType content_type = ContentType::kJson;
  std::string data;
  std::string metadata;  // custom metadata, opaque bytes
};

// An event as stored.
struct RecordedEvent {
  EventId id;
  std::string stream;
  StreamRevision revision;
  Position position;
  std::string type;
  ContentType content_type = ContentType::kJson;
  std::string data;
  std::string metadata;
  int64_t created_us = 0;  // microseconds since the Unix epoch, assigned by the committer
};

// A zero-copy view of a stored event, valid only during the callback that receives it.
struct EventView {
  EventId id;
  std::string_view stream;
  StreamRevision revision;
  Position position;
  std::string_view type;
  ContentType content_type = ContentType::kJson;
  std::string_view data;
  std::string_view metadata;
  int64_t created_us = 0;

  RecordedEvent ToRecorded() const;
};

// The optimistic-concurrency condition for an append.
class ExpectedRevision {
 public:
  enum class Kind : uint8_t { kAny, kNoStream, kStreamExists, kExact };
  static constexpr ExpectedRevision Any() { return ExpectedRevision(Kind::kAny, 0); }
  static constexpr ExpectedRevision NoStream() { return ExpectedRevision(Kind::kNoStream, 0); }
  static constexpr ExpectedRevision StreamExists() {
    return ExpectedRevision(Kind::kStreamExists, 0);
  }
  static constexpr ExpectedRevision Exact(StreamRevision r) {
    return ExpectedRevision(Kind::kExact, r.value);
  }
  Kind kind() const { return kind_; }
  StreamRevision revision() const { return StreamRevision(revision_); }  // kExact only
  std::string ToString() const;

 private:
  constexpr ExpectedRevision(Kind k, uint64_t r) : kind_(k), revision_(r) {}
  Kind kind_;
  uint64_t revision_;
};

// The category of a stream: the part before the first '-' ("learner-42" -> "learner").
std::string_view StreamCategory(std::string_view stream);
// "$$name" for "name".
std::string MetadataStreamOf(std::string_view stream);
bool IsMetadataStream(std::string_view stream);
// "$snapshots-name" for "name": where the snapshots of `name` live (Store::LoadSnapshot).
std::string SnapshotStreamOf(std::string_view stream);

}  // namespace kiroku
