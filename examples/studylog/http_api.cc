#include "http_api.h"

#include <httplib.h>

#include <iostream>
#include <random>

#include "domain.h"
#include "naive_page.h"
#include "time_utc.h"

namespace studylog {

using kiroku::Result;
using kiroku::Status;
using nlohmann::json;

namespace {

// An answer that is not a 2xx: status, error code, message.
struct HttpError {
  int status;
  std::string code;
  std::string message;
};

void Reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, const HttpError& e) {
  Reply(res, e.status, {{"error", e.code}, {"message", e.message}});
}

// Infrastructure failures: the event store or the read model is not there (503), or a
// command kept conflicting (409).
HttpError FromStatus(const Status& s) {
  switch (s.code()) {
    case kiroku::StatusCode::kWrongExpectedVersion:
      return {409, "conflict", s.message()};
    case kiroku::StatusCode::kInvalidArgument:
      return {400, "invalid_argument", s.message()};
    case kiroku::StatusCode::kCorruption:
      return {500, "internal", s.message()};
    default:
      return {503, "unavailable", s.ToString()};
  }
}

HttpError Invalid(std::string message) { return {400, "invalid_argument", std::move(message)}; }

int DomainStatus(const std::string& code) {
  if (code == kLearnerExists || code == kGroupExists) return 409;
  if (code == kLearnerNotFound || code == kGroupNotFound) return 404;
  return 400;
}

// A command's outcome: an infrastructure error, a domain rejection, or `ok(result)`.
template <typename OkFn>
void ReplyCommand(httplib::Response& res, const Result<kiroku::CommandResult>& r, OkFn ok) {
  if (!r.ok()) return ReplyError(res, FromStatus(r.status()));
  if (r->rejected) {
    return ReplyError(res,
                      {DomainStatus(r->rejected->code), r->rejected->code, r->rejected->message});
  }
  ok(*r);
}

// The body as a JSON object, or the error to answer.
Result<json> ParseBody(const httplib::Request& req, HttpError* error) {
  json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    *error = {
        400, "bad_json",
        body.is_discarded() ? "the body is not valid JSON" : "the body must be a JSON object"};
    return Status::InvalidArgument(error->message);
  }
  return body;
}

std::optional<HttpError> OptionalId(const json& body, const char* field, std::string* out) {
  if (!body.contains(field) || body[field].is_null()) return std::nullopt;
  if (!body[field].is_string() || !ValidId(body[field].get<std::string>())) {
    return Invalid(std::string(field) + " must be 1 to 64 characters of A-Z a-z 0-9 _ -");
  }
  *out = body[field].get<std::string>();
  return std::nullopt;
}

std::optional<HttpError> RequiredId(const json& body, const char* field, std::string* out) {
  if (!body.contains(field)) return Invalid(std::string(field) + " is required");
  if (auto e = OptionalId(body, field, out)) return e;
  if (out->empty()) return Invalid(std::string(field) + " is required");
  return std::nullopt;
}

std::optional<HttpError> Name(const json& body, std::string* out) {
  if (!body.contains("name") || !body["name"].is_string()) {
    return Invalid("name is required and must be a string");
  }
  *out = body["name"].get<std::string>();
  if (out->empty() || out->size() > 200) return Invalid("name must be 1 to 200 bytes");
  return std::nullopt;
}

std::string RandomId() {
  thread_local std::mt19937_64 rng(std::random_device{}());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  uint64_t v = rng();
  for (int i = 0; i < 16; ++i, v >>= 4) id += kHex[v & 15];
  return id;
}

json SummaryJson(const std::string& id, const std::string& name, const LearnerSummary* s) {
  return {{"learner_id", id},
          {"name", name},
          {"study_days", s ? s->study_days : 0},
          {"minutes", s ? s->minutes : 0},
          {"lessons", s ? s->lessons : 0},
          {"last_studied", s && !s->last_studied.empty() ? json(s->last_studied) : json(nullptr)}};
}

}  // namespace

struct HttpApi::Impl {
  Impl(kiroku::EventStore* store, ReadModel* read_model)
      : store(store),
        read_model(read_model),
        learners(store, LearnerOptions()),
        groups(store, GroupOptions()) {}

  static kiroku::RepositoryOptions LearnerOptions() {
    kiroku::RepositoryOptions o;
    o.snapshot_every = kLearnerSnapshotEvery;
    o.keep_snapshots = kKeepSnapshots;
    return o;
  }
  static kiroku::RepositoryOptions GroupOptions() {
    kiroku::RepositoryOptions o;
    o.snapshot_every = kGroupSnapshotEvery;
    o.keep_snapshots = kKeepSnapshots;
    return o;
  }

  void Routes();

  // ---- commands ----
  void RegisterLearner(const httplib::Request& req, httplib::Response& res);
  void CreateGroup(const httplib::Request& req, httplib::Response& res);
  void JoinGroup(const httplib::Request& req, httplib::Response& res);
  void CompleteLesson(const httplib::Request& req, httplib::Response& res);
  // ---- queries ----
  void GroupPage(const httplib::Request& req, httplib::Response& res, bool naive);
  void LearnerSummaryRoute(const httplib::Request& req, httplib::Response& res);
  void History(const httplib::Request& req, httplib::Response& res);

  kiroku::EventStore* store;
  ReadModel* read_model;
  kiroku::Repository<Learner> learners;
  kiroku::Repository<StudyGroup> groups;
  httplib::Server server;
};

void HttpApi::Impl::Routes() {
  server.Post("/learners", [this](const auto& q, auto& r) { RegisterLearner(q, r); });
  server.Post("/groups", [this](const auto& q, auto& r) { CreateGroup(q, r); });
  server.Post(R"(/groups/([^/]+)/members)", [this](const auto& q, auto& r) { JoinGroup(q, r); });
  server.Post(R"(/learners/([^/]+)/lessons)",
              [this](const auto& q, auto& r) { CompleteLesson(q, r); });
  server.Get(R"(/groups/([^/]+)/learners)",
             [this](const auto& q, auto& r) { GroupPage(q, r, false); });
  server.Get(R"(/naive/groups/([^/]+)/learners)",
             [this](const auto& q, auto& r) { GroupPage(q, r, true); });
  server.Get(R"(/learners/([^/]+))", [this](const auto& q, auto& r) { LearnerSummaryRoute(q, r); });
  server.Get(R"(/learners/([^/]+)/history)", [this](const auto& q, auto& r) { History(q, r); });
  server.Get("/health", [](const auto&, auto& r) { Reply(r, 200, {{"status", "ok"}}); });
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 413) {
      ReplyError(res, {413, "too_large", "the request body is larger than 64 KiB"});
    } else if (res.status == 404) {
      ReplyError(res, {404, "not_found", "no such resource or method"});
    } else {
      ReplyError(res, {res.status, "http_error", "the request could not be handled"});
    }
  });
  server.set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        std::cerr << "studylog: " << req.method << " " << req.path << ": " << what << "\n";
        ReplyError(res, {500, "internal", what});
      });
}

namespace {

// POST /learners and POST /groups: {"<id_field>"?: ID, "name": STR} → 201 {"<id_field>": ID}.
// `handle(id, name)` runs the create command.
template <typename HandleFn>
void CreateNamed(const httplib::Request& req, httplib::Response& res, const char* id_field,
                 HandleFn handle) {
  HttpError err;
  Result<json> body = ParseBody(req, &err);
  if (!body.ok()) return ReplyError(res, err);
  std::string id, name;
  if (auto e = OptionalId(*body, id_field, &id)) return ReplyError(res, *e);
  if (auto e = Name(*body, &name)) return ReplyError(res, *e);
  if (id.empty()) id = RandomId();
  ReplyCommand(res, handle(id, name), [&](const kiroku::CommandResult&) {
    Reply(res, 201, {{id_field, id}});
  });
}

}  // namespace

void HttpApi::Impl::RegisterLearner(const httplib::Request& req, httplib::Response& res) {
  CreateNamed(req, res, "learner_id", [this](const std::string& id, const std::string& name) {
    return learners.Handle(id, Learner::Register{id, name, NowUtc()});
  });
}

void HttpApi::Impl::CreateGroup(const httplib::Request& req, httplib::Response& res) {
  CreateNamed(req, res, "group_id", [this](const std::string& id, const std::string& name) {
    return groups.Handle(id, StudyGroup::Create{id, name, NowUtc()});
  });
}

void HttpApi::Impl::JoinGroup(const httplib::Request& req, httplib::Response& res) {
  const std::string group_id = req.matches[1];
  if (!ValidId(group_id)) return ReplyError(res, Invalid("bad group id in the path"));
  HttpError err;
  Result<json> body = ParseBody(req, &err);
  if (!body.ok()) return ReplyError(res, err);
  std::string learner_id;
  if (auto e = RequiredId(*body, "learner_id", &learner_id)) return ReplyError(res, *e);
  // The group first (the resource in the path), then the learner, then the join itself:
  // a learner is never unregistered, so checking it before the append is race-free.
  Result<kiroku::LoadedAggregate<StudyGroup::State>> group = groups.Load(group_id);
  if (!group.ok()) return ReplyError(res, FromStatus(group.status()));
  if (!group->state.created) {
    return ReplyError(
        res, {404, std::string(kGroupNotFound), "group '" + group_id + "' does not exist"});
  }
  Result<kiroku::LoadedAggregate<Learner::State>> learner = learners.Load(learner_id);
  if (!learner.ok()) return ReplyError(res, FromStatus(learner.status()));
  if (!learner->state.registered) {
    return ReplyError(
        res, {404, std::string(kLearnerNotFound), "learner '" + learner_id + "' does not exist"});
  }
  ReplyCommand(res, groups.Handle(group_id, StudyGroup::Join{group_id, learner_id, NowUtc()}),
               [&](const kiroku::CommandResult& r) {
                 const bool joined = r.events_written > 0;
                 Reply(res, joined ? 201 : 200, {{"joined", joined}});
               });
}

void HttpApi::Impl::CompleteLesson(const httplib::Request& req, httplib::Response& res) {
  const std::string learner_id = req.matches[1];
  if (!ValidId(learner_id)) return ReplyError(res, Invalid("bad learner id in the path"));
  HttpError err;
  Result<json> body = ParseBody(req, &err);
  if (!body.ok()) return ReplyError(res, err);
  Learner::CompleteLesson c;
  c.learner_id = learner_id;
  if (auto e = RequiredId(*body, "lesson_id", &c.lesson_id)) return ReplyError(res, *e);
  const json& minutes = (*body)["minutes"];
  if (!minutes.is_number_integer() || minutes.get<int64_t>() < 1 || minutes.get<int64_t>() > 600 ||
      (minutes.is_number_unsigned() && minutes.get<uint64_t>() > 600)) {
    return ReplyError(res, Invalid("minutes must be an integer from 1 to 600"));
  }
  c.minutes = minutes.get<int64_t>();
  const json& score = (*body)["score"];
  if (!score.is_number() || !(score.get<double>() >= 0 && score.get<double>() <= 100)) {
    return ReplyError(res, Invalid("score must be a number from 0 to 100"));
  }
  c.score = score.get<double>();
  if (body->contains("completed_at") && !(*body)["completed_at"].is_null()) {
    const json& at = (*body)["completed_at"];
    std::optional<int64_t> t = at.is_string() ? ParseRfc3339(at.get<std::string>()) : std::nullopt;
    if (!t) return ReplyError(res, Invalid("completed_at must be an RFC 3339 time"));
    c.completed_at = FormatUtc(*t);
  } else {
    c.completed_at = NowUtc();
  }
  ReplyCommand(res, learners.Handle(learner_id, c), [&](const kiroku::CommandResult& r) {
    const bool duplicate = r.events_written == 0;  // a repeated lesson id writes nothing
    Reply(res, duplicate ? 200 : 201, {{"accepted", true}, {"duplicate", duplicate}});
  });
}

void HttpApi::Impl::GroupPage(const httplib::Request& req, httplib::Response& res, bool naive) {
  const std::string group_id = req.matches[1];
  if (!ValidId(group_id)) return ReplyError(res, Invalid("bad group id in the path"));
  Result<PageRequest> request = ParsePageRequest(group_id, req.params);
  if (!request.ok()) return ReplyError(res, Invalid(request.status().message()));
  std::optional<Page> page;
  if (naive) {
    Result<std::optional<Page>> p = NaiveGroupPage(*store, *request);
    if (!p.ok()) return ReplyError(res, FromStatus(p.status()));
    page = std::move(*p);
  } else {
    Result<Page> p = read_model->GroupPage(*request);
    if (!p.ok()) return ReplyError(res, FromStatus(p.status()));
    // Only an empty page can mean "no such group": one query for every other page.
    bool exists = !p->rows.empty();
    if (!exists) {
      Result<bool> found = read_model->GroupExists(group_id);
      if (!found.ok()) return ReplyError(res, FromStatus(found.status()));
      exists = *found;
    }
    if (exists) page = std::move(*p);
  }
  if (!page) {
    return ReplyError(
        res, {404, std::string(kGroupNotFound), "group '" + group_id + "' does not exist"});
  }
  Reply(res, 200, PageJson(*request, *page));
}

void HttpApi::Impl::LearnerSummaryRoute(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (!ValidId(id)) return ReplyError(res, Invalid("bad learner id in the path"));
  Result<std::optional<LearnerSummary>> s = read_model->Learner(id);
  if (!s.ok()) return ReplyError(res, FromStatus(s.status()));
  if (!*s) {
    return ReplyError(res,
                      {404, std::string(kLearnerNotFound), "learner '" + id + "' does not exist"});
  }
  Reply(res, 200, SummaryJson(id, (*s)->name, &**s));
}

void HttpApi::Impl::History(const httplib::Request& req, httplib::Response& res) {
  const std::string id = req.matches[1];
  if (!ValidId(id)) return ReplyError(res, Invalid("bad learner id in the path"));
  Result<std::optional<LearnerHistory>> h = ReadLearnerHistory(*store, id);
  if (!h.ok()) return ReplyError(res, FromStatus(h.status()));
  if (!*h) {
    return ReplyError(res,
                      {404, std::string(kLearnerNotFound), "learner '" + id + "' does not exist"});
  }
  // Totals from the read model; a learner it has not caught up with yet shows zeros.
  Result<std::optional<LearnerSummary>> s = read_model->Learner(id);
  if (!s.ok()) return ReplyError(res, FromStatus(s.status()));
  json out = SummaryJson(id, (*h)->name, *s ? &**s : nullptr);
  json lessons = json::array();
  for (const LessonEntry& l : (*h)->lessons) {
    lessons.push_back({{"lesson_id", l.lesson_id},
                       {"minutes", l.minutes},
                       {"score", l.score},
                       {"completed_at", l.completed_at}});
  }
  out["history"] = std::move(lessons);
  Reply(res, 200, out);
}

HttpApi::HttpApi(kiroku::EventStore* store, ReadModel* read_model, int threads)
    : impl_(std::make_unique<Impl>(store, read_model)) {
  impl_->server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(std::max(1, threads)));
  };
  // Without it every response on a kept-alive connection waits ~40 ms: headers and body go
  // in two writes, and Nagle holds the second until the client's delayed ACK.
  impl_->server.set_tcp_nodelay(true);
  impl_->server.set_payload_max_length(64 * 1024);
  impl_->Routes();
}

HttpApi::~HttpApi() = default;

Result<int> HttpApi::Bind(const std::string& host, int port) {
  int bound = port == 0 ? impl_->server.bind_to_any_port(host)
                        : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    return Status::IOError("cannot listen on " + host + ":" + std::to_string(port));
  }
  return bound;
}

void HttpApi::Serve() { impl_->server.listen_after_bind(); }

void HttpApi::Stop() { impl_->server.stop(); }

}  // namespace studylog
