#include "server/streams_service.h"

#include <deque>
#include <functional>
#include <map>
#include <mutex>

#include "server/grpc_convert.h"

namespace kiroku::server {
namespace {

using spb::AppendReq;
using spb::AppendResp;
using spb::BatchAppendReq;
using spb::BatchAppendResp;

template <typename Options>
ExpectedRevision ExpectedFromOptions(const Options& o) {
  switch (o.expected_stream_revision_case()) {
    case Options::kRevision:
      return ExpectedRevision::Exact(StreamRevision(o.revision()));
    case Options::kNoStream:
      return ExpectedRevision::NoStream();
    case Options::kStreamExists:
      return ExpectedRevision::StreamExists();
    default:
      return ExpectedRevision::Any();
  }
}

ExpectedRevision ExpectedFromBatch(const BatchAppendReq::Options& o) {
  switch (o.expected_stream_position_case()) {
    case BatchAppendReq::Options::kStreamPosition:
      return ExpectedRevision::Exact(StreamRevision(o.stream_position()));
    case BatchAppendReq::Options::kNoStream:
      return ExpectedRevision::NoStream();
    case BatchAppendReq::Options::kStreamExists:
      return ExpectedRevision::StreamExists();
    default:
      return ExpectedRevision::Any();
  }
}

// Fills both the pre-20.10 and the current field groups, as the real server does.
void FillWrongExpectedVersion(ExpectedRevision expected, std::optional<uint64_t> actual,
                              AppendResp::WrongExpectedVersion* w) {
  if (actual) {
    w->set_current_revision(*actual);
    w->set_current_revision_20_6_0(*actual);
  } else {
    w->mutable_current_no_stream();
    w->mutable_no_stream_20_6_0();
  }
  switch (expected.kind()) {
    case ExpectedRevision::Kind::kAny:
      w->mutable_expected_any();
      w->mutable_any_20_6_0();
      break;
    case ExpectedRevision::Kind::kStreamExists:
      w->mutable_expected_stream_exists();
      w->mutable_stream_exists_20_6_0();
      break;
    case ExpectedRevision::Kind::kNoStream:
      w->mutable_expected_no_stream();
      w->set_expected_revision_20_6_0(UINT64_MAX);
      break;
    case ExpectedRevision::Kind::kExact:
      w->set_expected_revision(expected.revision().value);
      w->set_expected_revision_20_6_0(expected.revision().value);
      break;
  }
}

// An append of zero events: answers with the stream's current revision after checking
// the expected revision, as KurrentDB does.
Result<AppendResult> EmptyAppend(Store* store, const std::string& stream, ExpectedRevision expected,
                                 bool* no_stream) {
  KIROKU_ASSIGN_OR_RETURN(std::optional<StreamRevision> head, store->StreamHead(stream));
  *no_stream = !head.has_value();
  bool ok = true;
  switch (expected.kind()) {
    case ExpectedRevision::Kind::kAny:
      break;
    case ExpectedRevision::Kind::kNoStream:
      ok = !head;
      break;
    case ExpectedRevision::Kind::kStreamExists:
      ok = head.has_value();
      break;
    case ExpectedRevision::Kind::kExact:
      ok = head && *head == expected.revision();
      break;
  }
  std::optional<uint64_t> actual;
  if (head) actual = head->value;
  if (!ok) return Status::WrongExpectedVersion("empty append: expected revision mismatch", actual);
  return AppendResult{head.value_or(StreamRevision(0)), Position(0)};
}

class AppendReactor final : public grpc::ServerReadReactor<AppendReq> {
 public:
  AppendReactor(const ServerDeps& deps, grpc::CallbackServerContext* ctx, AppendResp* resp)
      : deps_(deps), ctx_(ctx), resp_(resp) {
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      // The client half-closed, or the call died (client gone, connection reset, deadline).
      // Only the first is a complete append: committing the events read so far of a client
      // that disconnected mid-append would write a partial append it never acknowledged.
      if (ctx_->IsCancelled()) {
        Finish(grpc::Status::CANCELLED);
        return;
      }
      Commit();
      return;
    }
    if (!got_options_) {
      if (!req_.has_options()) {
        Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                            "the first AppendReq must carry options"));
        return;
      }
      got_options_ = true;
      stream_ = req_.options().stream_identifier().stream_name();
      expected_ = ExpectedFromOptions(req_.options());
    } else if (req_.has_proposed_message()) {
      EventData e;
      if (auto err = FromProposed(req_.proposed_message(), &e)) {
        if (!err->missing.empty()) {
          ctx_->AddTrailingMetadata("exception", "missing-required-metadata-property");
          ctx_->AddTrailingMetadata("required-metadata-properties", "type,content-type");
        }
        Finish(err->status);
        return;
      }
      size_ += e.type.size() + e.data.size() + e.metadata.size();
      if (size_ > deps_.max_append_size) {
        Finish(ToGrpcStatus(Status::MaximumAppendSizeExceeded("append too large"), ctx_, stream_,
                            expected_, deps_.max_append_size));
        return;
      }
      events_.push_back(std::move(e));
    } else {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "options sent twice"));
      return;
    }
    StartRead(&req_);
  }

  void OnDone() override { delete this; }

 private:
  void Commit() {
    if (!got_options_) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "AppendReq without options"));
      return;
    }
    if (events_.empty()) {
      bool no_stream = false;
      // Two statements: argument evaluation order is unspecified, and no_stream must be set
      // by EmptyAppend before it is read (the wire test caught this).
      Result<AppendResult> r = EmptyAppend(deps_.store, stream_, expected_, &no_stream);
      Done(std::move(r), no_stream);
      return;
    }
    deps_.store->AppendAsync(stream_, expected_, std::move(events_),
                             [this](Result<AppendResult> r) { Done(std::move(r), false); });
  }

  void Done(Result<AppendResult> r, bool no_stream) {
    if (r.ok()) {
      auto* s = resp_->mutable_success();
      if (no_stream) {
        s->mutable_no_stream();
        s->mutable_no_position();
      } else {
        s->set_current_revision(r->current_revision.value);
        if (r->position.value == 0) {
          s->mutable_no_position();
        } else {
          s->mutable_position()->set_commit_position(r->position.value);
          s->mutable_position()->set_prepare_position(r->position.value);
        }
      }
      Finish(grpc::Status::OK);
      return;
    }
    if (r.status().code() == StatusCode::kWrongExpectedVersion) {
      deps_.metrics->appends_rejected++;
      FillWrongExpectedVersion(expected_, r.status().actual_revision(),
                               resp_->mutable_wrong_expected_version());
      Finish(grpc::Status::OK);  // a response message, not an error status
      return;
    }
    Finish(ToGrpcStatus(r.status(), ctx_, stream_, expected_, deps_.max_append_size));
  }

  ServerDeps deps_;
  grpc::CallbackServerContext* ctx_;
  AppendResp* resp_;
  AppendReq req_;
  bool got_options_ = false;
  std::string stream_;
  ExpectedRevision expected_ = ExpectedRevision::Any();
  std::vector<EventData> events_;
  uint64_t size_ = 0;
};

// One long-lived bidi stream multiplexing many appends by correlation id. Exactly one
// response per correlation id; the stream stays open until the client half-closes.
class BatchAppendReactor final : public grpc::ServerBidiReactor<BatchAppendReq, BatchAppendResp> {
 public:
  BatchAppendReactor(const ServerDeps& deps, grpc::CallbackServerContext* ctx)
      : deps_(deps), ctx_(ctx), handle_(std::make_shared<Handle>()) {
    handle_->reactor = this;
    StartRead(&req_);
  }

  void OnReadDone(bool ok) override {
    std::vector<std::function<void()>> submit;  // complete appends, for the store
    {
      std::lock_guard lock(mu_);
      if (!ok) {
        reads_done_ = true;
        MaybeFinish();
        return;
      }
      Process(req_, &submit);
    }
    // Outside mu_: the store runs the callback of an append it refuses at once (validation)
    // on this thread, and every callback takes the handle lock before mu_. Holding mu_ here
    // deadlocked against a committer thread answering another append of this stream.
    for (auto& f : submit) f();
    StartRead(&req_);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    queue_.pop_front();
    if (!ok) {
      FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
      return;
    }
    WriteNext();
    MaybeFinish();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (!writing_) FinishOnce(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    {
      std::lock_guard lock(handle_->mu);
      handle_->reactor = nullptr;
    }
    delete this;
  }

 private:
  struct Handle {
    std::recursive_mutex mu;
    BatchAppendReactor* reactor;
  };
  struct Pending {
    std::string stream;
    ExpectedRevision expected = ExpectedRevision::Any();
    std::vector<EventData> events;
    uint64_t size = 0;
    bool answered = false;  // an error was already sent; drop later chunks
  };

  static std::string Key(const pb::UUID& u) { return u.SerializeAsString(); }

  void Process(const BatchAppendReq& r, std::vector<std::function<void()>>* submit) {
    const std::string key = Key(r.correlation_id());
    auto it = pending_.find(key);
    if (it == pending_.end()) {
      if (!r.has_options()) {
        Respond(r.correlation_id(), "", ExpectedRevision::Any(),
                Status::InvalidArgument("first chunk of an append carries no options"));
        return;
      }
      it = pending_.emplace(key, Pending{}).first;
      it->second.stream = r.options().stream_identifier().stream_name();
      it->second.expected = ExpectedFromBatch(r.options());
      if (r.options().has_deadline_21_10_0()) {
        auto now = std::chrono::system_clock::now().time_since_epoch();
        int64_t now_s = std::chrono::duration_cast<std::chrono::seconds>(now).count();
        if (r.options().deadline_21_10_0().seconds() < now_s) {
          it->second.answered = true;
          RespondTimeout(r.correlation_id(), it->second.stream);
        }
      }
    }
    Pending& p = it->second;
    if (!p.answered) {
      for (const auto& m : r.proposed_messages()) {
        EventData e;
        if (auto err = FromProposed(m, &e)) {
          p.answered = true;
          Respond(r.correlation_id(), p.stream, p.expected,
                  Status::InvalidArgument(err->status.error_message()));
          break;
        }
        p.size += e.type.size() + e.data.size() + e.metadata.size();
        if (p.size > deps_.max_append_size) {
          p.answered = true;
          Respond(r.correlation_id(), p.stream, p.expected,
                  Status::MaximumAppendSizeExceeded("append too large"));
          break;
        }
        p.events.push_back(std::move(e));
      }
    }
    if (!r.is_final()) return;
    Pending done = std::move(p);
    pending_.erase(it);
    if (done.answered) return;
    pb::UUID correlation = r.correlation_id();
    if (done.events.empty()) {
      bool no_stream = false;
      Respond(correlation, done.stream, done.expected,
              EmptyAppend(deps_.store, done.stream, done.expected, &no_stream));
      return;
    }
    ++in_flight_;
    std::weak_ptr<struct Handle> weak = handle_;
    std::string stream = done.stream;
    ExpectedRevision expected = done.expected;
    Store* store = deps_.store;
    submit->push_back([store, weak, correlation, stream, expected,
                       events = std::move(done.events)]() mutable {
      store->AppendAsync(stream, expected, std::move(events),
                         [weak, correlation, stream, expected](Result<AppendResult> result) {
                           auto h = weak.lock();
                           if (!h) return;
                           std::lock_guard hl(h->mu);
                           if (!h->reactor) return;
                           std::lock_guard lock(h->reactor->mu_);
                           --h->reactor->in_flight_;
                           h->reactor->Respond(correlation, stream, expected, std::move(result));
                           h->reactor->MaybeFinish();
                         });
    });
  }

  void RespondTimeout(const pb::UUID& correlation, const std::string& stream) {
    BatchAppendResp resp;
    *resp.mutable_correlation_id() = correlation;
    resp.mutable_stream_identifier()->set_stream_name(stream);
    auto* err = resp.mutable_error();
    err->set_code(google::rpc::DEADLINE_EXCEEDED);
    err->set_message("Timeout");
    err->mutable_details()->PackFrom(pb::Timeout());
    Enqueue(std::move(resp));
  }

  void Respond(const pb::UUID& correlation, const std::string& stream, ExpectedRevision expected,
               const Result<AppendResult>& r) {
    BatchAppendResp resp;
    *resp.mutable_correlation_id() = correlation;
    resp.mutable_stream_identifier()->set_stream_name(stream);
    switch (expected.kind()) {
      case ExpectedRevision::Kind::kAny:
        resp.mutable_any();
        break;
      case ExpectedRevision::Kind::kNoStream:
        resp.mutable_no_stream();
        break;
      case ExpectedRevision::Kind::kStreamExists:
        resp.mutable_stream_exists();
        break;
      case ExpectedRevision::Kind::kExact:
        resp.set_stream_position(expected.revision().value);
        break;
    }
    if (r.ok()) {
      auto* s = resp.mutable_success();
      s->set_current_revision(r->current_revision.value);
      if (r->position.value == 0) {
        s->mutable_no_position();
      } else {
        s->mutable_position()->set_commit_position(r->position.value);
        s->mutable_position()->set_prepare_position(r->position.value);
      }
      Enqueue(std::move(resp));
      return;
    }
    auto* err = resp.mutable_error();
    const Status& st = r.status();
    switch (st.code()) {
      case StatusCode::kWrongExpectedVersion: {
        deps_.metrics->appends_rejected++;
        err->set_code(google::rpc::ALREADY_EXISTS);
        err->set_message("WrongExpectedVersion");
        pb::WrongExpectedVersion w;
        if (st.actual_revision()) {
          w.set_current_stream_revision(*st.actual_revision());
        } else {
          w.mutable_current_no_stream();
        }
        switch (expected.kind()) {
          case ExpectedRevision::Kind::kAny:
            w.mutable_expected_any();
            break;
          case ExpectedRevision::Kind::kNoStream:
            w.mutable_expected_no_stream();
            break;
          case ExpectedRevision::Kind::kStreamExists:
            w.mutable_expected_stream_exists();
            break;
          case ExpectedRevision::Kind::kExact:
            w.set_expected_stream_position(expected.revision().value);
            break;
        }
        err->mutable_details()->PackFrom(w);
        break;
      }
      case StatusCode::kStreamDeleted: {
        err->set_code(google::rpc::NOT_FOUND);
        err->set_message("StreamDeleted");
        pb::StreamDeleted d;
        d.mutable_stream_identifier()->set_stream_name(stream);
        err->mutable_details()->PackFrom(d);
        break;
      }
      case StatusCode::kMaximumAppendSizeExceeded: {
        err->set_code(google::rpc::INVALID_ARGUMENT);
        err->set_message("MaximumAppendSizeExceeded");
        pb::MaximumAppendSizeExceeded m;
        m.set_maxappendsize(static_cast<uint32_t>(deps_.max_append_size));
        err->mutable_details()->PackFrom(m);
        break;
      }
      case StatusCode::kInvalidArgument: {
        err->set_code(google::rpc::INVALID_ARGUMENT);
        err->set_message("BadRequest");
        pb::BadRequest b;
        b.set_message(st.message());
        err->mutable_details()->PackFrom(b);
        break;
      }
      default: {
        err->set_code(google::rpc::UNKNOWN);
        err->set_message(st.ToString());
        err->mutable_details()->PackFrom(pb::Unknown());
      }
    }
    Enqueue(std::move(resp));
  }

  void Enqueue(BatchAppendResp resp) {
    if (finished_) return;
    queue_.push_back(std::move(resp));
    WriteNext();
  }

  void WriteNext() {
    if (writing_ || queue_.empty() || finished_) return;
    writing_ = true;
    StartWrite(&queue_.front());
  }

  void MaybeFinish() {
    if (cancelled_ && !writing_) {
      FinishOnce(grpc::Status::CANCELLED);
    } else if (reads_done_ && in_flight_ == 0 && queue_.empty() && !writing_) {
      FinishOnce(grpc::Status::OK);
    }
  }

  void FinishOnce(const grpc::Status& s) {
    if (finished_) return;
    finished_ = true;
    Finish(s);
  }

  ServerDeps deps_;
  grpc::CallbackServerContext* ctx_;
  std::shared_ptr<struct Handle> handle_;
  std::recursive_mutex mu_;
  BatchAppendReq req_;
  std::map<std::string, Pending> pending_;
  std::deque<BatchAppendResp> queue_;
  int in_flight_ = 0;
  bool writing_ = false, reads_done_ = false, cancelled_ = false, finished_ = false;
};

}  // namespace

grpc::ServerReadReactor<AppendReq>* StreamsService::Append(grpc::CallbackServerContext* ctx,
                                                           AppendResp* resp) {
  return new AppendReactor(deps_, ctx, resp);
}

// Delete and Tombstone differ only in the store call and the message types.
template <typename Req, typename Resp, typename Call>
grpc::ServerUnaryReactor* FinishDeletion(const ServerDeps& deps, grpc::CallbackServerContext* ctx,
                                         const Req* req, Resp* resp, Call call) {
  auto* reactor = ctx->DefaultReactor();
  const std::string stream = req->options().stream_identifier().stream_name();
  ExpectedRevision expected = ExpectedFromOptions(req->options());
  // Runs on the callback thread for one fdatasync (~0.5 ms); deletions are rare.
  Result<DeleteResult> r = call(stream, expected);
  if (r.ok()) {
    resp->mutable_position()->set_commit_position(r->position.value);
    resp->mutable_position()->set_prepare_position(r->position.value);
    reactor->Finish(grpc::Status::OK);
  } else {
    reactor->Finish(ToGrpcStatus(r.status(), ctx, stream, expected, deps.max_append_size));
  }
  return reactor;
}

grpc::ServerUnaryReactor* StreamsService::Delete(grpc::CallbackServerContext* ctx,
                                                 const spb::DeleteReq* req, spb::DeleteResp* resp) {
  return FinishDeletion(deps_, ctx, req, resp, [this](const std::string& s, ExpectedRevision e) {
    return deps_.store->Delete(s, e);
  });
}

grpc::ServerUnaryReactor* StreamsService::Tombstone(grpc::CallbackServerContext* ctx,
                                                    const spb::TombstoneReq* req,
                                                    spb::TombstoneResp* resp) {
  return FinishDeletion(deps_, ctx, req, resp, [this](const std::string& s, ExpectedRevision e) {
    return deps_.store->Tombstone(s, e);
  });
}

grpc::ServerBidiReactor<BatchAppendReq, BatchAppendResp>* StreamsService::BatchAppend(
    grpc::CallbackServerContext* ctx) {
  return new BatchAppendReactor(deps_, ctx);
}

}  // namespace kiroku::server
