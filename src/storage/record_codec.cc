#include "storage/record_codec.h"

#include <cstdio>
#include <cstring>

#include "common/coding.h"
#include "common/crc32c.h"

namespace kiroku {

using log_format::kRecordHeaderSize;

static size_t BodySize(const EventFields& e) {
  return log_format::kEventBodyFixedSize + coding::Varint32Length(e.stream.size()) +
         e.stream.size() + coding::Varint32Length(e.type.size()) + e.type.size() +
         coding::Varint32Length(e.data.size()) + e.data.size() +
         coding::Varint32Length(e.metadata.size()) + e.metadata.size();
}

size_t EncodedRecordSize(const EventFields& e) { return kRecordHeaderSize + BodySize(e); }

void AppendEventRecord(std::string* dst, log_format::RecordType type, const EventFields& e) {
  size_t start = dst->size();
  size_t body_size = BodySize(e);
  dst->resize(start + kRecordHeaderSize);
  (*dst)[start + 8] = static_cast<char>(type);
  dst->reserve(start + kRecordHeaderSize + body_size);
  dst->push_back(static_cast<char>(log_format::kEventBodyVersion));
  coding::PutFixed64(dst, e.revision.value);
  coding::PutFixed64(dst, static_cast<uint64_t>(e.created_us));
  dst->append(reinterpret_cast<const char*>(e.id.bytes().data()), 16);
  dst->push_back(static_cast<char>(e.content_type));
  coding::PutLengthPrefixed(dst, e.stream);
  coding::PutLengthPrefixed(dst, e.type);
  coding::PutLengthPrefixed(dst, e.data);
  coding::PutLengthPrefixed(dst, e.metadata);
  char* h = dst->data() + start;
  coding::EncodeFixed32(h, static_cast<uint32_t>(body_size));
  uint32_t crc = crc32c::Value(h + 8, 1 + body_size);  // type byte + body
  coding::EncodeFixed32(h + 4, crc32c::Mask(crc));
}

bool DecodeEventBody(std::string_view body, EventFields* out) {
  if (body.size() < log_format::kEventBodyFixedSize) return false;
  if (static_cast<uint8_t>(body[0]) != log_format::kEventBodyVersion) return false;
  body.remove_prefix(1);
  uint64_t rev, created;
  coding::GetFixed64(&body, &rev);
  coding::GetFixed64(&body, &created);
  std::array<uint8_t, 16> id;
  std::memcpy(id.data(), body.data(), 16);
  body.remove_prefix(16);
  uint8_t ct = static_cast<uint8_t>(body[0]);
  body.remove_prefix(1);
  if (ct > 1) return false;
  out->revision = StreamRevision(rev);
  out->created_us = static_cast<int64_t>(created);
  out->id = EventId(id);
  out->content_type = static_cast<ContentType>(ct);
  return coding::GetLengthPrefixed(&body, &out->stream) &&
         coding::GetLengthPrefixed(&body, &out->type) &&
         coding::GetLengthPrefixed(&body, &out->data) &&
         coding::GetLengthPrefixed(&body, &out->metadata) && body.empty();
}

std::string EncodeSegmentHeader(uint64_t base_position) {
  std::string h(log_format::kSegmentMagic, 8);
  coding::PutFixed32(&h, log_format::kSegmentFormatVersion);
  coding::PutFixed32(&h, 0);  // flags
  coding::PutFixed64(&h, base_position);
  coding::PutFixed32(&h, 0);  // reserved
  coding::PutFixed32(&h, crc32c::Mask(crc32c::Value(h.data(), h.size())));
  return h;
}

Result<uint64_t> DecodeSegmentHeader(std::string_view h, const std::string& path) {
  if (h.size() < log_format::kSegmentHeaderSize) {
    return Status::Corruption(path + " at offset 0: segment header truncated (" +
                              std::to_string(h.size()) + " of 32 bytes)");
  }
  if (std::memcmp(h.data(), log_format::kSegmentMagic, 8) != 0) {
    return Status::Corruption(path + " at offset 0: not a kiroku segment (bad magic)");
  }
  uint32_t stored = crc32c::Unmask(coding::DecodeFixed32(h.data() + 28));
  uint32_t actual = crc32c::Value(h.data(), 28);
  if (stored != actual) {
    char buf[128];
    std::snprintf(buf, sizeof buf, " at offset 28: segment header checksum expected %08x, got %08x",
                  stored, actual);
    return Status::Corruption(path + buf);
  }
  uint32_t version = coding::DecodeFixed32(h.data() + 8);
  if (version != log_format::kSegmentFormatVersion) {
    return Status::Corruption(path + ": unsupported segment format version " +
                              std::to_string(version));
  }
  return coding::DecodeFixed64(h.data() + 16);
}

std::string SegmentFileName(uint64_t base_position) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%020llu%s", static_cast<unsigned long long>(base_position),
                log_format::kSegmentSuffix);
  return buf;
}

bool ParseSegmentFileName(std::string_view name, uint64_t* base_position) {
  const size_t digits = log_format::kSegmentNameDigits;
  if (name.size() != digits + 4 || name.substr(digits) != log_format::kSegmentSuffix) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *base_position = v;
  return true;
}

}  // namespace kiroku
