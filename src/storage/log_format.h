// The on-disk format of the event log. Prose description: docs/format/log.md.
//
// The log is a directory of segment files named "<20-digit base position>.log". A segment
// starts with a 32-byte header, then records back to back. An event's position is the
// byte address of its record in the concatenation of all segments: base + file offset.
// The next segment's base is the previous segment's base + its file size, so positions
// are unique, increasing, and never 0 (0 means "the start").
//
// Record: [u32 body length][u32 masked CRC32C of type byte + body][u8 type][body].
// Records of one append ("transaction") are framed like LevelDB fragments: a lone record
// is kFull, otherwise kFirst, kMiddle..., kLast. A transaction never straddles segments.
// After a crash, an incomplete transaction at the tail is dropped as a whole.
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiroku::log_format {

inline constexpr char kSegmentMagic[8] = {'K', 'I', 'R', 'O', 'K', 'U', 'L', 'G'};
inline constexpr uint32_t kSegmentFormatVersion = 1;
// magic(8) version(u32) flags(u32) base_position(u64) reserved(u32) header_crc(u32, masked,
// of the first 28 bytes)
inline constexpr size_t kSegmentHeaderSize = 32;
inline constexpr const char* kSegmentSuffix = ".log";
inline constexpr size_t kSegmentNameDigits = 20;

inline constexpr size_t kRecordHeaderSize = 9;
// A record larger than this is treated as damage (a sane event is at most a few MiB).
inline constexpr uint32_t kMaxRecordBodySize = 1u << 30;

enum class RecordType : uint8_t {
  kZero = 0,  // never written: zero bytes mean a torn or preallocated tail
  kFull = 1,
  kFirst = 2,
  kMiddle = 3,
  kLast = 4,
};
inline constexpr uint8_t kMaxRecordType = 4;

// Event record body, version 1:
//   u8 body_version (=1) | u64 revision | i64 created_us | u8[16] event id | u8 content type |
//   varint32-prefixed stream | type | data | metadata
inline constexpr uint8_t kEventBodyVersion = 1;
inline constexpr size_t kEventBodyFixedSize = 1 + 8 + 8 + 16 + 1;

// The revision a tombstone event is written with (KurrentDB's DeletedStream, i64 max).
inline constexpr uint64_t kTombstoneRevision = 0x7fffffffffffffffull;
inline constexpr const char* kTombstoneEventType = "$streamDeleted";
inline constexpr const char* kMetadataEventType = "$metadata";

// Snapshots (docs/format/log.md, "Snapshots"): an ordinary event record in the system stream
// kSnapshotStreamPrefix + <stream>, of type kSnapshotEventType, written in the same
// transaction as the events it covers. Its custom metadata is a JSON object naming the
// covered revision and the payload's schema version; its data is the payload. No new
// record type, so the segment format version stays 1 and a reader that does not know
// snapshots sees an ordinary event.
inline constexpr const char* kSnapshotStreamPrefix = "$snapshots-";
inline constexpr const char* kSnapshotEventType = "$snapshot";
inline constexpr const char* kSnapshotRevisionKey = "$revision";            // u64
inline constexpr const char* kSnapshotSchemaVersionKey = "$schemaVersion";  // u32
inline constexpr uint32_t kSnapshotMetadataVersion = 1;
inline constexpr const char* kSnapshotMetadataVersionKey = "$snapshotFormat";  // = 1

}  // namespace kiroku::log_format
