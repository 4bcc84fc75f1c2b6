#include "projections/status.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "projections/event_params.h"

namespace kiroku::projections {

std::string ProjectionError::ToJson() const {
  nlohmann::json j = {{"position", position.value},
                      {"stream", stream},
                      {"revision", revision},
                      {"event_type", event_type},
                      {"statement", statement},
                      {"where", where},
                      {"error", error},
                      {"at_us", at_us}};
  return j.dump();
}

std::optional<ProjectionError> ProjectionError::FromJson(const std::string& json) {
  if (json.empty()) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(json);
    ProjectionError e;
    e.position = Position(j.value("position", uint64_t{0}));
    e.stream = j.value("stream", "");
    e.revision = j.value("revision", uint64_t{0});
    e.event_type = j.value("event_type", "");
    e.statement = j.value("statement", "");
    e.where = j.value("where", "");
    e.error = j.value("error", "");
    e.at_us = j.value("at_us", int64_t{0});
    return e;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::string ProjectionStatus::ToJson() const {
  nlohmann::json j = {{"name", name},
                      {"version", version},
                      {"state", state},
                      {"position", position ? nlohmann::json(position->value) : nullptr},
                      {"events_applied", events_applied},
                      {"events_skipped", events_skipped},
                      {"events_per_second", events_per_second},
                      {"last_event_created_us", last_event_created_us},
                      {"updated_us", updated_us},
                      {"lag_events", lag_events ? nlohmann::json(*lag_events) : nullptr},
                      {"lag_capped", lag_capped},
                      {"lag_seconds", lag_seconds}};
  j["last_error"] = last_error ? nlohmann::json::parse(last_error->ToJson()) : nullptr;
  return j.dump();
}

std::string ProjectionStatus::ToHuman() const {
  std::string out = name + " v" + std::to_string(version) + ": " + state + "\n";
  out += "  position       " + (position ? std::to_string(position->value) : "(none)") + "\n";
  out += "  events         " + std::to_string(events_applied) + " applied, " +
         std::to_string(events_skipped) + " skipped\n";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f", events_per_second);
  out += "  rate           " + std::string(buf) + " events/s\n";
  if (lag_events) {
    std::snprintf(buf, sizeof buf, "%.3f", lag_seconds);
    out += "  lag            " + std::string(lag_capped ? ">" : "") + std::to_string(*lag_events) +
           " events, " + buf + " s\n";
  }
  if (updated_us) out += "  updated        " + FormatTimestampUs(updated_us) + "\n";
  if (last_error) {
    out += "  last error     at position " + std::to_string(last_error->position.value) + " (" +
           last_error->stream + "@" + std::to_string(last_error->revision) + ", " +
           last_error->event_type + ")\n";
    out += "    statement    " + last_error->where + ": " + last_error->statement + "\n";
    out += "    error        " + last_error->error + "\n";
  }
  return out;
}

std::string ProjectionMetricsText(const std::vector<ProjectionStatus>& all) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help, auto value_of) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const ProjectionStatus& s : all) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(value_of(s)));
      out += std::string(name) + "{projection=\"" + s.name + "\",version=\"" +
             std::to_string(s.version) + "\"} " + buf + "\n";
    }
  };
  metric("kiroku_projection_position", "gauge", "Position of the last event processed.",
         [](const ProjectionStatus& s) { return s.position ? s.position->value : 0; });
  metric("kiroku_projection_events_applied_total", "counter", "Events applied.",
         [](const ProjectionStatus& s) { return s.events_applied; });
  metric("kiroku_projection_events_skipped_total", "counter", "Events dead-lettered.",
         [](const ProjectionStatus& s) { return s.events_skipped; });
  metric("kiroku_projection_events_per_second", "gauge", "Recent apply rate.",
         [](const ProjectionStatus& s) { return s.events_per_second; });
  metric("kiroku_projection_lag_events", "gauge", "Events in $all after the checkpoint.",
         [](const ProjectionStatus& s) { return s.lag_events.value_or(0); });
  metric("kiroku_projection_lag_seconds", "gauge", "Age of the oldest unprocessed event.",
         [](const ProjectionStatus& s) { return s.lag_seconds; });
  metric("kiroku_projection_failed", "gauge", "1 if the projection stopped on an error.",
         [](const ProjectionStatus& s) { return s.state == "failed" ? 1 : 0; });
  return out;
}

}  // namespace kiroku::projections
