// Encoding and decoding of log records and event bodies (format: log_format.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "kiroku/event.h"
#include "kiroku/status.h"
#include "storage/log_format.h"

namespace kiroku {

struct EventFields {
  std::string_view stream;
  StreamRevision revision;
  int64_t created_us = 0;
  EventId id;
  ContentType content_type = ContentType::kJson;
  std::string_view type;
  std::string_view data;
  std::string_view metadata;
};

// Bytes one event record occupies in the log, header included.
size_t EncodedRecordSize(const EventFields& e);
// Appends a whole record (header + body) to `dst`.
void AppendEventRecord(std::string* dst, log_format::RecordType type, const EventFields& e);
// Decodes an event body. False if malformed (the CRC matched, so that is a format bug).
bool DecodeEventBody(std::string_view body, EventFields* out);

// Segment header.
std::string EncodeSegmentHeader(uint64_t base_position);
// Checks magic, version and CRC; returns the base position or Corruption naming `path`.
Result<uint64_t> DecodeSegmentHeader(std::string_view header, const std::string& path);
std::string SegmentFileName(uint64_t base_position);
// Parses "<20 digits>.log"; false for any other name.
bool ParseSegmentFileName(std::string_view name, uint64_t* base_position);

}  // namespace kiroku
