#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/store_flags.h"

namespace kiroku::cli {

Result<std::unique_ptr<Store>> OpenStoreForCli(const std::string& dir,
                                               const std::string& durability) {
  StoreOptions o;
  KIROKU_ASSIGN_OR_RETURN(o.durability, ParseDurability(durability));
  return Store::Open(dir, o);
}

int PrintError(const Status& s) {
  std::fprintf(stderr, "kiroku: %s\n", s.ToString().c_str());
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kMaximumAppendSizeExceeded:
      return 2;
    case StatusCode::kCorruption:
      return 3;
    case StatusCode::kWrongExpectedVersion:
      return 4;
    case StatusCode::kStreamNotFound:
    case StatusCode::kStreamDeleted:
    case StatusCode::kNotFound:
      return 5;
    default:
      return 1;
  }
}

static nlohmann::json Payload(const std::string& bytes, ContentType ct) {
  if (ct == ContentType::kJson) {
    auto j = nlohmann::json::parse(bytes, nullptr, false);
    if (!j.is_discarded()) return j;
  }
  return bytes;
}

std::string EventToJson(const RecordedEvent& e) {
  nlohmann::json j;
  j["id"] = e.id.ToString();
  j["stream"] = e.stream;
  j["revision"] = e.revision.value;
  j["position"] = e.position.value;
  j["type"] = e.type;
  j["content_type"] = e.content_type == ContentType::kJson ? "json" : "binary";
  j["data"] = Payload(e.data, e.content_type);
  if (!e.metadata.empty()) j["metadata"] = Payload(e.metadata, ContentType::kJson);
  j["created_us"] = e.created_us;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string EventToHuman(const RecordedEvent& e) {
  std::string data = e.data.size() > 120 ? e.data.substr(0, 117) + "..." : e.data;
  return e.stream + "@" + std::to_string(e.revision.value) + "  pos " +
         std::to_string(e.position.value) + "  " + e.type + "  " + data;
}

}  // namespace kiroku::cli
