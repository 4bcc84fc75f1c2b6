// StreamMetadata <-> the KurrentDB stream metadata JSON document.
#include <nlohmann/json.hpp>

#include "kiroku/store.h"

namespace kiroku {
namespace {

std::optional<uint64_t> GetUnsigned(const nlohmann::json& j, const char* key, std::string* err) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  if (it->is_number_unsigned()) return it->get<uint64_t>();
  if (it->is_number_integer() && it->get<int64_t>() >= 0) {
    return static_cast<uint64_t>(it->get<int64_t>());
  }
  *err = std::string(key) + " must be a non-negative integer";
  return std::nullopt;
}

}  // namespace

std::string StreamMetadata::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  if (!custom_json.empty()) {
    auto custom = nlohmann::json::parse(custom_json, nullptr, false);
    if (custom.is_object()) j = custom;
  }
  if (max_count) j["$maxCount"] = *max_count;
  if (max_age) j["$maxAge"] = max_age->count();
  if (truncate_before) j["$tb"] = truncate_before->value;
  if (cache_control) j["$cacheControl"] = cache_control->count();
  if (!acl_json.empty()) {
    auto acl = nlohmann::json::parse(acl_json, nullptr, false);
    if (!acl.is_discarded()) j["$acl"] = acl;
  }
  return j.dump();
}

Result<StreamMetadata> StreamMetadata::FromJson(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument("stream metadata must be a JSON object");
  }
  StreamMetadata m;
  std::string err;
  m.max_count = GetUnsigned(j, "$maxCount", &err);
  if (auto age = GetUnsigned(j, "$maxAge", &err)) m.max_age = std::chrono::seconds(*age);
  if (auto tb = GetUnsigned(j, "$tb", &err)) m.truncate_before = StreamRevision(*tb);
  if (auto cc = GetUnsigned(j, "$cacheControl", &err)) {
    m.cache_control = std::chrono::seconds(*cc);
  }
  if (!err.empty()) return Status::InvalidArgument("stream metadata: " + err);
  if (j.contains("$acl")) m.acl_json = j["$acl"].dump();
  nlohmann::json custom = nlohmann::json::object();
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    if (k == "$maxCount" || k == "$maxAge" || k == "$tb" || k == "$cacheControl" || k == "$acl") {
      continue;
    }
    custom[k] = it.value();
  }
  if (!custom.empty()) m.custom_json = custom.dump();
  return m;
}

}  // namespace kiroku
