#include "projections/projection_host.h"

#include <sys/time.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "projections/target.h"

namespace kiroku::projections {
namespace {

int64_t NowUs() {
  timeval tv;
  gettimeofday(&tv, nullptr);
  return int64_t{tv.tv_sec} * 1000000 + tv.tv_usec;
}

}  // namespace

Result<std::unique_ptr<ProjectionHost>> ProjectionHost::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound("projections directory " + dir);
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  std::unique_ptr<ProjectionHost> host(new ProjectionHost());
  for (const std::string& f : files) {
    KIROKU_ASSIGN_OR_RETURN(ProjectionSpec spec, ParseSpecFile(f));
    for (const ProjectionSpec& other : host->specs_) {
      if (other.name == spec.name) {
        return Status::InvalidArgument(f + ": projection " + spec.name + " is also defined in " +
                                       other.file);
      }
    }
    KIROKU_RETURN_IF_ERROR(ProjectionRunner::Validate(spec));
    host->specs_.push_back(std::move(spec));
  }
  return host;
}

ProjectionHost::~ProjectionHost() { Stop(); }

Status ProjectionHost::Start(Store* store) {
  std::vector<std::unique_ptr<Running>> opened;
  for (const ProjectionSpec& spec : specs_) {
    auto r = std::make_unique<Running>();
    r->spec = spec;
    KIROKU_ASSIGN_OR_RETURN(auto live, LiveVersion(spec));
    KIROKU_ASSIGN_OR_RETURN(auto sink, OpenVersion(spec, spec.version, SinkMode::kLive));
    KIROKU_ASSIGN_OR_RETURN(r->runner, ProjectionRunner::Open(spec, std::move(sink), {}));
    if (!live) KIROKU_RETURN_IF_ERROR(SwitchLive(spec, spec.version));
    r->source = MakeEmbeddedSource(store);
    opened.push_back(std::move(r));
  }
  std::lock_guard<std::mutex> lock(mu_);
  store_ = store;
  running_ = std::move(opened);
  for (auto& r : running_) {
    Running* raw = r.get();
    raw->thread = std::thread([this, raw] {
      Status s = raw->runner->Run(raw->source.get(), &stop_);
      if (!s.ok()) raw->exit_error = s.ToString();
      raw->done = true;
    });
  }
  return Status::Ok();
}

void ProjectionHost::Stop() {
  stop_ = true;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& r : running_) {
    if (r->thread.joinable()) r->thread.join();
  }
}

std::vector<ProjectionStatus> ProjectionHost::Statuses() const {
  std::vector<ProjectionStatus> out;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& r : running_) {
    ProjectionStatus s = r->runner->status();
    if (store_) {
      auto source = MakeEmbeddedSource(store_);
      auto tail = source->Tail(s.position, 100000);
      if (tail.ok()) {
        s.lag_events = tail->lag_events;
        s.lag_capped = tail->lag_capped;
        s.lag_seconds =
            tail->lag_events ? std::max(0.0, (NowUs() - tail->oldest_unprocessed_us) / 1e6) : 0;
      }
    }
    if (r->done && s.state != "failed" && !r->exit_error.empty()) s.state = "stopped";
    out.push_back(std::move(s));
  }
  return out;
}

std::string ProjectionHost::StatusJson() const {
  nlohmann::json list = nlohmann::json::array();
  for (const ProjectionStatus& s : Statuses()) list.push_back(nlohmann::json::parse(s.ToJson()));
  return nlohmann::json{{"projections", list}}.dump();
}

std::string ProjectionHost::MetricsText() const { return ProjectionMetricsText(Statuses()); }

}  // namespace kiroku::projections
