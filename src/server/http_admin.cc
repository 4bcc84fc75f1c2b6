#include "server/http_admin.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "subscriptions/consumer_groups.h"

namespace kiroku::server {
namespace {

nlohmann::json EventJson(const RecordedEvent& e) {
  nlohmann::json j{
      {"id", e.id.ToString()},        {"stream", e.stream}, {"revision", e.revision.value},
      {"position", e.position.value}, {"type", e.type},     {"created_us", e.created_us}};
  if (e.content_type == ContentType::kJson) {
    auto data = nlohmann::json::parse(e.data, nullptr, false);
    j["data"] = data.is_discarded() ? nlohmann::json(e.data) : data;
  } else {
    j["data_size"] = e.data.size();
  }
  if (!e.metadata.empty()) {
    auto md = nlohmann::json::parse(e.metadata, nullptr, false);
    if (!md.is_discarded()) j["metadata"] = md;
  }
  return j;
}

void Counter(std::ostringstream& out, const char* name, const char* help, uint64_t v) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
      << name << " " << v << "\n";
}
void Gauge(std::ostringstream& out, const char* name, const char* help, int64_t v) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " gauge\n"
      << name << " " << v << "\n";
}

}  // namespace

HttpAdmin::HttpAdmin(const ServerDeps& deps) : deps_(deps), http_(new httplib::Server()) {}

HttpAdmin::~HttpAdmin() { Stop(); }

std::string HttpAdmin::MetricsText() const {
  StoreStats s = deps_.store->Stats();
  const ServerMetrics& m = *deps_.metrics;
  std::ostringstream out;
  Counter(out, "kiroku_appends_total", "Acknowledged append requests.", s.appends);
  Counter(out, "kiroku_events_appended_total", "Acknowledged events.", s.events_appended);
  Counter(out, "kiroku_bytes_appended_total", "Log bytes written by acknowledged appends.",
          s.bytes_appended);
  Counter(out, "kiroku_commit_groups_total", "Commit groups (one write each).", s.commit_groups);
  Counter(out, "kiroku_fsyncs_total", "fdatasync calls on the log.", s.syncs);
  Counter(out, "kiroku_fsync_failures_total", "Failed fdatasync calls.", s.sync_failures);
  Counter(out, "kiroku_appends_rejected_total", "Appends rejected for a wrong expected revision.",
          m.appends_rejected.load());
  out << "# HELP kiroku_fsync_latency_seconds fdatasync latency of the log.\n"
      << "# TYPE kiroku_fsync_latency_seconds histogram\n";
  for (const auto& [le, count] : s.sync_latency_buckets) {
    out << "kiroku_fsync_latency_seconds_bucket{le=\"" << le << "\"} " << count << "\n";
  }
  out << "kiroku_fsync_latency_seconds_bucket{le=\"+Inf\"} " << s.sync_latency_count << "\n"
      << "kiroku_fsync_latency_seconds_sum " << s.sync_latency_sum_seconds << "\n"
      << "kiroku_fsync_latency_seconds_count " << s.sync_latency_count << "\n";
  Gauge(out, "kiroku_log_end_position", "Position the next event will get.",
        static_cast<int64_t>(s.log_end.value));
  Gauge(out, "kiroku_segments", "Segment files in the log.", static_cast<int64_t>(s.segments));
  Gauge(out, "kiroku_subscriptions_active", "Open catch-up subscriptions.",
        m.subscriptions_active.load());
  Counter(out, "kiroku_subscriptions_started_total", "Catch-up subscriptions started.",
          m.subscriptions_started.load());
  Counter(out, "kiroku_subscription_events_delivered_total", "Events sent to subscribers.",
          m.events_delivered.load());
  Gauge(out, "kiroku_subscription_lag_bytes",
        "Log bytes between the end and the most recent subscription read.",
        m.subscription_lag_bytes.load());
  Gauge(out, "kiroku_subscriptions_parked", "Caught-up subscriptions waiting for new events.",
        static_cast<int64_t>(deps_.hub->parked()));
  Counter(out, "kiroku_group_events_delivered_total",
          "Events sent to persistent subscription members (retries included).",
          m.group_events_delivered.load());
  Counter(out, "kiroku_group_acks_total", "Acks from persistent subscription members.",
          m.group_acks.load());
  Counter(out, "kiroku_group_nacks_total", "Nacks from persistent subscription members.",
          m.group_nacks.load());
  if (deps_.groups) {
    // One series per group, labelled by source and group.
    const auto infos = deps_.groups->List();
    struct Series {
      const char* name;
      const char* help;
    };
    const Series series[] = {
        {"kiroku_group_members", "Connected members of a consumer group."},
        {"kiroku_group_in_flight", "Events delivered and not yet acked or nacked."},
        {"kiroku_group_parked", "Events in the group's parked stream."},
        {"kiroku_group_lag_events", "Events of the source not yet finished by the group."},
        {"kiroku_group_lag_seconds", "Age of the oldest event the group has not finished."},
    };
    std::vector<std::pair<std::string, ConsumerGroups::Lag>> lags;
    for (const auto& i : infos) lags.emplace_back(i.key.Id(), deps_.groups->LagOf(i));
    for (size_t k = 0; k < std::size(series); ++k) {
      out << "# HELP " << series[k].name << " " << series[k].help << "\n"
          << "# TYPE " << series[k].name << " gauge\n";
      for (size_t n = 0; n < infos.size(); ++n) {
        const auto& i = infos[n];
        double v = k == 0   ? static_cast<double>(i.members.size())
                   : k == 1 ? static_cast<double>(i.in_flight)
                   : k == 2 ? static_cast<double>(i.parked)
                   : k == 3 ? static_cast<double>(lags[n].second.events)
                            : lags[n].second.seconds;
        out << series[k].name << "{source=\"" << i.key.Source() << "\",group=\"" << i.key.group
            << "\"} " << v << "\n";
      }
    }
  }
  return out.str();
}

std::string HttpAdmin::StatsJson() const {
  StoreStats s = deps_.store->Stats();
  nlohmann::json j{{"log_end", s.log_end.value},
                   {"segments", s.segments},
                   {"appends", s.appends},
                   {"events_appended", s.events_appended},
                   {"bytes_appended", s.bytes_appended},
                   {"commit_groups", s.commit_groups},
                   {"fsyncs", s.syncs},
                   {"fsync_failures", s.sync_failures},
                   {"subscriptions_active", deps_.metrics->subscriptions_active.load()},
                   {"subscriptions_parked", deps_.hub->parked()},
                   {"events_delivered", deps_.metrics->events_delivered.load()}};
  j["groups"] = nlohmann::json::array();
  if (deps_.groups) {
    for (const auto& i : deps_.groups->List()) {
      auto lag = deps_.groups->LagOf(i);
      nlohmann::json g{{"source", i.key.Source()},   {"group", i.key.group},
                       {"status", i.status},         {"members", i.members.size()},
                       {"in_flight", i.in_flight},   {"parked", i.parked},
                       {"delivered", i.total_items}, {"acked", i.acked},
                       {"lag_events", lag.events},   {"lag_events_capped", lag.events_capped},
                       {"lag_seconds", lag.seconds}};
      if (i.last_checkpointed) g["checkpoint"] = *i.last_checkpointed;
      if (!i.last_error.empty()) g["last_error"] = i.last_error;
      j["groups"].push_back(std::move(g));
    }
  }
  return j.dump();
}

Status HttpAdmin::Start(const std::string& bind, uint16_t port) {
  http_->Get("/health/live",
             [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  http_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    std::string text = MetricsText();
    if (deps_.extra_metrics) text += deps_.extra_metrics();
    res.set_content(text, "text/plain; version=0.0.4");
  });
  http_->Get("/projections", [this](const httplib::Request&, httplib::Response& res) {
    if (!deps_.projections_json) {
      res.status = 404;
      res.set_content("{\"error\":\"no projections (serve --projections DIR)\"}",
                      "application/json");
      return;
    }
    res.set_content(deps_.projections_json(), "application/json");
  });
  http_->Get("/stats", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(StatsJson(), "application/json");
  });
  http_->Get(R"(/streams/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
    ReadStreamOptions o;
    o.max_count = 20;
    try {
      if (req.has_param("from")) o.from = StreamRevision(std::stoull(req.get_param_value("from")));
      if (req.has_param("count")) o.max_count = std::stoull(req.get_param_value("count"));
    } catch (...) {
      res.status = 400;
      res.set_content(R"({"error":"from and count must be non-negative integers"})",
                      "application/json");
      return;
    }
    if (req.get_param_value("direction") == "backwards") {
      o.direction = Direction::kBackwards;
      if (!req.has_param("from")) o.from = StreamRevision::End();
    }
    o.max_count = std::min<uint64_t>(o.max_count, 10000);
    auto r = deps_.store->ReadStream(req.matches[1].str(), o);
    if (!r.ok()) {
      res.status = r.status().code() == StatusCode::kStreamNotFound    ? 404
                   : r.status().code() == StatusCode::kStreamDeleted   ? 410
                   : r.status().code() == StatusCode::kInvalidArgument ? 400
                                                                       : 500;
      res.set_content(nlohmann::json{{"error", r.status().ToString()}}.dump(), "application/json");
      return;
    }
    nlohmann::json events = nlohmann::json::array();
    for (const auto& e : *r) events.push_back(EventJson(e));
    res.set_content(nlohmann::json{{"stream", req.matches[1].str()}, {"events", events}}.dump(),
                    "application/json");
  });
  // Kept-alive clients (Prometheus scrapes) would otherwise wait ~40 ms per response:
  // headers and body are two writes, and Nagle holds the second for the delayed ACK.
  http_->set_tcp_nodelay(true);
  int bound =
      port == 0 ? http_->bind_to_any_port(bind) : (http_->bind_to_port(bind, port) ? port : -1);
  if (bound <= 0) {
    return Status::IOError("cannot listen for HTTP on " + bind + ":" + std::to_string(port));
  }
  port_ = static_cast<uint16_t>(bound);
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  return Status::Ok();
}

void HttpAdmin::Stop() {
  if (thread_.joinable()) {
    http_->stop();
    thread_.join();
  }
}

}  // namespace kiroku::server
