#include "subscriptions/group_settings.h"

#include <nlohmann/json.hpp>

namespace kiroku {

std::optional<ConsumerStrategy> ParseConsumerStrategy(std::string_view name) {
  if (name == "RoundRobin") return ConsumerStrategy::kRoundRobin;
  if (name == "DispatchToSingle") return ConsumerStrategy::kDispatchToSingle;
  if (name == "Pinned") return ConsumerStrategy::kPinned;
  return std::nullopt;
}

const char* ConsumerStrategyName(ConsumerStrategy s) {
  switch (s) {
    case ConsumerStrategy::kRoundRobin:
      return "RoundRobin";
    case ConsumerStrategy::kDispatchToSingle:
      return "DispatchToSingle";
    case ConsumerStrategy::kPinned:
      return "Pinned";
  }
  return "RoundRobin";
}

Status GroupSettings::Validate() const {
  auto bad = [](const std::string& what) { return Status::InvalidArgument(what); };
  if (message_timeout.count() < 0) return bad("message timeout must not be negative");
  if (checkpoint_after.count() < 0) return bad("checkpoint after must not be negative");
  if (max_retry_count < 0) return bad("max retry count must not be negative");
  if (live_buffer_size <= 0) return bad("live buffer size must be positive");
  if (read_batch_size <= 0) return bad("read batch size must be positive");
  if (history_buffer_size <= 0) return bad("history buffer size must be positive");
  if (read_batch_size >= history_buffer_size) {
    // KurrentDB's rule: a read batch must fit in the history buffer.
    return bad("read batch size must be less than history buffer size");
  }
  if (min_checkpoint_count < 0) return bad("min checkpoint count must not be negative");
  if (max_checkpoint_count <= 0) return bad("max checkpoint count must be positive");
  if (min_checkpoint_count > max_checkpoint_count) {
    return bad("min checkpoint count must not exceed max checkpoint count");
  }
  if (max_subscriber_count < 0) return bad("max subscriber count must not be negative");
  if (checkpoint_interval_multiplier == 0) {
    return bad("checkpoint interval multiplier must be positive");
  }
  return Status::Ok();
}

std::string GroupToJson(const GroupKey& key, const GroupSettings& s) {
  nlohmann::json j;
  j["all"] = key.all;
  j["stream"] = key.stream;
  j["group"] = key.group;
  j["start"] = s.start.kind == GroupStart::Kind::kStart ? "start"
               : s.start.kind == GroupStart::Kind::kEnd ? "end"
                                                        : "at";
  j["start_at"] = s.start.at;
  j["resolve_links"] = s.resolve_links;
  j["extra_statistics"] = s.extra_statistics;
  j["message_timeout_ms"] = s.message_timeout.count();
  j["max_retry_count"] = s.max_retry_count;
  j["live_buffer_size"] = s.live_buffer_size;
  j["read_batch_size"] = s.read_batch_size;
  j["history_buffer_size"] = s.history_buffer_size;
  j["checkpoint_after_ms"] = s.checkpoint_after.count();
  j["min_checkpoint_count"] = s.min_checkpoint_count;
  j["max_checkpoint_count"] = s.max_checkpoint_count;
  j["max_subscriber_count"] = s.max_subscriber_count;
  j["strategy"] = ConsumerStrategyName(s.strategy);
  j["filter_target"] = s.filter.target == EventFilter::Target::kNone         ? "none"
                       : s.filter.target == EventFilter::Target::kStreamName ? "stream"
                                                                             : "type";
  j["filter_prefixes"] = s.filter.prefixes;
  j["filter_regex"] = s.filter.regex;
  j["filter_window"] = s.filter_window;
  j["checkpoint_interval_multiplier"] = s.checkpoint_interval_multiplier;
  return j.dump();
}

Result<std::pair<GroupKey, GroupSettings>> GroupFromJson(std::string_view text) {
  try {
    auto j = nlohmann::json::parse(text);
    GroupKey key;
    key.all = j.at("all").get<bool>();
    key.stream = j.at("stream").get<std::string>();
    key.group = j.at("group").get<std::string>();
    GroupSettings s;
    std::string start = j.at("start").get<std::string>();
    s.start.kind = start == "start" ? GroupStart::Kind::kStart
                   : start == "end" ? GroupStart::Kind::kEnd
                                    : GroupStart::Kind::kAt;
    s.start.at = j.at("start_at").get<uint64_t>();
    s.resolve_links = j.at("resolve_links").get<bool>();
    s.extra_statistics = j.value("extra_statistics", false);
    s.message_timeout = std::chrono::milliseconds(j.at("message_timeout_ms").get<int64_t>());
    s.max_retry_count = j.at("max_retry_count").get<int32_t>();
    s.live_buffer_size = j.at("live_buffer_size").get<int32_t>();
    s.read_batch_size = j.at("read_batch_size").get<int32_t>();
    s.history_buffer_size = j.at("history_buffer_size").get<int32_t>();
    s.checkpoint_after = std::chrono::milliseconds(j.at("checkpoint_after_ms").get<int64_t>());
    s.min_checkpoint_count = j.at("min_checkpoint_count").get<int32_t>();
    s.max_checkpoint_count = j.at("max_checkpoint_count").get<int32_t>();
    s.max_subscriber_count = j.at("max_subscriber_count").get<int32_t>();
    auto strategy = ParseConsumerStrategy(j.at("strategy").get<std::string>());
    if (!strategy) return Status::InvalidArgument("unknown consumer strategy in group config");
    s.strategy = *strategy;
    std::string target = j.value("filter_target", "none");
    s.filter.target = target == "stream" ? EventFilter::Target::kStreamName
                      : target == "type" ? EventFilter::Target::kEventType
                                         : EventFilter::Target::kNone;
    s.filter.prefixes = j.value("filter_prefixes", std::vector<std::string>{});
    s.filter.regex = j.value("filter_regex", std::string());
    s.filter_window = j.value("filter_window", 0u);
    s.checkpoint_interval_multiplier = j.value("checkpoint_interval_multiplier", 1u);
    return std::make_pair(std::move(key), std::move(s));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("malformed consumer group config: ") + e.what());
  }
}

}  // namespace kiroku
