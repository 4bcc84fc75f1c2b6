#include "server/read_reactor.h"

#include <chrono>

#include "server/grpc_convert.h"
#include "subscriptions/links.h"

namespace kiroku::server {
namespace {

using spb::ReadReq;
using spb::ReadResp;

constexpr uint64_t kReadPage = 256;      // events read from the store per refill
constexpr uint64_t kDefaultWindow = 32;  // KurrentDB's default filtered read window

void SetNow(google::protobuf::Timestamp* ts) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  ts->set_seconds(ns / 1000000000);
  ts->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

EventFilter FromProtoFilter(const ReadReq::Options::FilterOptions& f) {
  const auto& expr = f.has_stream_identifier() ? f.stream_identifier() : f.event_type();
  EventFilter out;
  out.target = f.has_stream_identifier() ? EventFilter::Target::kStreamName
                                         : EventFilter::Target::kEventType;
  if (!expr.regex().empty()) {
    out.regex = expr.regex();
  } else {
    out.prefixes.assign(expr.prefix().begin(), expr.prefix().end());
  }
  return out;
}

}  // namespace

ReadReactor::ReadReactor(const ServerDeps& deps, grpc::CallbackServerContext* ctx)
    : deps_(deps), ctx_(ctx), handle_(std::make_shared<WakeHandle>()) {
  handle_->reactor = this;
  deps_.metrics->reads++;
  StartRead(&in_);
}

void ReadReactor::OnReadDone(bool ok) {
  std::lock_guard lock(mu_);
  if (finished_) return;
  if (!got_request_) {
    if (!ok) {
      FinishOnce(cancelled_ || ctx_->IsCancelled()
                     ? grpc::Status::CANCELLED
                     : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ReadReq missing"));
      return;
    }
    got_request_ = true;
    if (!grpc::SerializationTraits<ReadReq>::Deserialize(&in_, &req_).ok()) {
      FinishOnce(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "malformed ReadReq"));
      return;
    }
    StartRead(&in_);  // wait for the half-close
    return;
  }
  if (ok) {
    FinishOnce(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "Streams.Read takes exactly one ReadReq"));
    return;
  }
  Start();
}

void ReadReactor::Start() {
  if (cancelled_) {
    FinishOnce(grpc::Status::CANCELLED);
    return;
  }
  grpc::Status s = Setup();
  if (!s.ok()) {
    FinishOnce(s);
    return;
  }
  if (subscription_) {
    counted_subscription_ = true;
    deps_.metrics->subscriptions_active++;
    deps_.metrics->subscriptions_started++;
    ReadResp confirm;
    confirm.mutable_confirmation()->set_subscription_id(ctx_->peer() + "/" +
                                                        EventId::Random().ToString());
    queue_.push_back(std::move(confirm));
  }
  Step();
}

grpc::Status ReadReactor::Setup() {
  if (!req_.has_options()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ReadReq has no options");
  }
  const auto& o = req_.options();
  structured_uuid_ = o.uuid_option().has_structured();
  resolve_links_ = o.resolve_links();
  direction_ = o.read_direction() == ReadReq::Options::Backwards ? Direction::kBackwards
                                                                 : Direction::kForwards;
  subscription_ = o.has_subscription();
  remaining_ = o.has_count() ? o.count() : 0;
  if (subscription_ && direction_ == Direction::kBackwards) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "The combination of subscription and backwards is invalid.");
  }
  if (o.has_stream()) {
    if (o.has_filter()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "The combination of stream and filter is invalid.");
    }
    stream_ = o.stream().stream_identifier().stream_name();
    if (stream_.empty()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "stream name must not be empty");
    }
    const auto& so = o.stream();
    if (subscription_) {
      SubscriptionSource src;
      src.stream = stream_;
      if (so.has_end()) {
        src.start = SubscriptionSource::Start::kEnd;
      } else if (so.has_revision()) {
        src.start = SubscriptionSource::Start::kAfter;  // subscriptions are exclusive
        src.from_revision = StreamRevision(so.revision());
      }
      catch_up_ = std::make_unique<CatchUpReader>(deps_.store, src);
    } else if (so.has_end()) {
      // Forwards from the end reads nothing, but a missing stream still says so.
      next_revision_ = StreamRevision::End();
    } else if (so.has_revision()) {
      next_revision_ = StreamRevision(so.revision());
    } else {
      next_revision_ = StreamRevision::Start();
    }
    return grpc::Status::OK;
  }
  if (!o.has_all()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "ReadReq names no stream and no $all");
  }
  all_ = true;
  if (o.has_filter()) {
    filter_ = FromProtoFilter(o.filter());
    uint64_t window =
        o.filter().has_max() && o.filter().max() > 0 ? o.filter().max() : kDefaultWindow;
    uint64_t mult = o.filter().checkpointintervalmultiplier();
    checkpoint_interval_ = window * (mult == 0 ? 1 : mult);
  }
  const auto& ao = o.all();
  if (subscription_) {
    SubscriptionSource src;
    src.all = true;
    src.filter = filter_;
    if (ao.has_end()) {
      src.start = SubscriptionSource::Start::kEnd;
    } else if (ao.has_position()) {
      src.start = SubscriptionSource::Start::kAfter;
      src.from_position = Position(ao.position().commit_position());
    }
    catch_up_ = std::make_unique<CatchUpReader>(deps_.store, src);
  } else if (ao.has_position()) {
    next_position_ = Position(ao.position().commit_position());
  } else if (ao.has_end()) {
    next_position_ = direction_ == Direction::kBackwards ? Position::End() : deps_.store->LogEnd();
  } else {  // start
    next_position_ = Position::Start();
    if (direction_ == Direction::kBackwards) done_reading_ = true;  // nothing before start
  }
  return grpc::Status::OK;
}

void ReadReactor::Enqueue(const RecordedEvent& e) {
  ReadResp resp;
  auto* ev = resp.mutable_event();
  const RecordedEvent* shown = &e;
  std::optional<RecordedEvent> target;
  if (resolve_links_ && e.type == kLinkEventType) target = ResolveLink(deps_.store, e.data);
  if (target) {
    ToProtoRecorded(*target, structured_uuid_, ev->mutable_event());
    ToProtoRecorded(e, structured_uuid_, ev->mutable_link());
  } else {
    ToProtoRecorded(*shown, structured_uuid_, ev->mutable_event());
  }
  ev->set_commit_position(e.position.value);
  queue_.push_back(std::move(resp));
}

void ReadReactor::EnqueueCheckpoint(Position p) {
  if (last_checkpoint_ && *last_checkpoint_ >= p) return;  // never go backwards
  last_checkpoint_ = p;
  ReadResp resp;
  auto* cp = resp.mutable_checkpoint();
  cp->set_commit_position(p.value);
  cp->set_prepare_position(p.value);
  SetNow(cp->mutable_timestamp());
  queue_.push_back(std::move(resp));
}

grpc::Status ReadReactor::FillReadPage() {
  if (done_reading_ || remaining_ == 0) {
    done_reading_ = true;
    return grpc::Status::OK;
  }
  uint64_t page = std::min(remaining_, kReadPage);
  if (!all_) {
    // `$$X` of a tombstoned X is deleted too, as in KurrentDB: getStreamMetadata then says
    // StreamDeletedError instead of returning the metadata the stream had.
    if (!checked_metastream_ && stream_.size() > 2 && stream_.compare(0, 2, "$$") == 0) {
      checked_metastream_ = true;
      auto head = deps_.store->StreamHead(std::string_view(stream_).substr(2));
      if (!head.ok() && head.status().code() == StatusCode::kStreamDeleted) {
        return ToGrpcStatus(head.status(), ctx_, stream_, ExpectedRevision::Any(),
                            deps_.max_append_size);
      }
    }
    ReadStreamOptions ro;
    ro.direction = direction_;
    ro.from = next_revision_;
    ro.max_count = page;
    auto r = deps_.store->ReadStream(stream_, ro);
    if (!r.ok()) {
      if (r.status().code() == StatusCode::kStreamNotFound) {
        ReadResp resp;
        resp.mutable_stream_not_found()->mutable_stream_identifier()->set_stream_name(stream_);
        queue_.push_back(std::move(resp));
        done_reading_ = true;
        return grpc::Status::OK;
      }
      return ToGrpcStatus(r.status(), ctx_, stream_, ExpectedRevision::Any(),
                          deps_.max_append_size);
    }
    for (const auto& e : *r) Enqueue(e);
    remaining_ -= r->size();
    if (r->size() < page) {
      done_reading_ = true;
    } else if (direction_ == Direction::kForwards) {
      next_revision_ = StreamRevision(r->back().revision.value + 1);
    } else if (r->back().revision.value == 0) {
      done_reading_ = true;
    } else {
      next_revision_ = StreamRevision(r->back().revision.value - 1);
    }
    return grpc::Status::OK;
  }
  ReadAllOptions ro;
  ro.direction = direction_;
  ro.from = next_position_;
  ro.max_count = page;
  ro.filter = filter_;
  auto r = deps_.store->ReadAll(ro);
  if (!r.ok()) {
    if (r.status().code() == StatusCode::kInvalidArgument) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "Trying to read from an invalid position.");
    }
    return ToGrpcStatus(r.status(), ctx_, "$all", ExpectedRevision::Any(), deps_.max_append_size);
  }
  for (const auto& e : r->events) Enqueue(e);
  remaining_ -= r->events.size();
  next_position_ = r->next;
  if (r->end_of_log || r->events.size() < page) done_reading_ = true;
  return grpc::Status::OK;
}

grpc::Status ReadReactor::FillSubscription(bool* park) {
  *park = false;
  const bool filtered = all_ && filter_.target != EventFilter::Target::kNone;
  // Filtered: one window per call while catching up; live, the call stops where the next
  // checkpoint is due.
  const uint64_t scan_limit =
      sent_caught_up_ ? checkpoint_interval_ - scanned_since_checkpoint_ : checkpoint_interval_;
  auto batch =
      filtered ? catch_up_->Next(checkpoint_interval_, scan_limit) : catch_up_->Next(kReadPage, 0);
  if (!batch.ok()) {
    return ToGrpcStatus(batch.status(), ctx_, all_ ? "$all" : stream_, ExpectedRevision::Any(),
                        deps_.max_append_size);
  }
  for (const auto& e : batch->events) {
    Enqueue(e);
    last_revision_sent_ = e.revision.value;
  }
  deps_.metrics->events_delivered += batch->events.size();
  deps_.metrics->subscription_lag_bytes =
      static_cast<int64_t>(deps_.store->LogEnd().value - catch_up_->seen_log_end().value);
  if (filtered && batch->checkpoint) {
    if (!sent_caught_up_) {
      EnqueueCheckpoint(*batch->checkpoint);  // catching up: after each window, and at the end
    } else {
      // Live: every checkpoint_interval_ records examined, matching or not, as KurrentDB's
      // live filtered subscription does; a client resumes from the last one it saw.
      scanned_since_checkpoint_ += batch->scanned;
      if (scanned_since_checkpoint_ >= checkpoint_interval_) {
        scanned_since_checkpoint_ = 0;
        EnqueueCheckpoint(*batch->checkpoint);
      }
    }
  }
  if (batch->caught_up) {
    if (!sent_caught_up_) {
      sent_caught_up_ = true;
      ReadResp resp;
      auto* cu = resp.mutable_caught_up();
      SetNow(cu->mutable_timestamp());
      if (!all_ && last_revision_sent_) {
        cu->set_stream_revision(static_cast<int64_t>(*last_revision_sent_));
      }
      if (all_ && last_checkpoint_) {
        cu->mutable_position()->set_commit_position(last_checkpoint_->value);
        cu->mutable_position()->set_prepare_position(last_checkpoint_->value);
      }
      queue_.push_back(std::move(resp));
    }
    if (batch->events.empty()) *park = true;
  }
  return grpc::Status::OK;
}

void ReadReactor::Step() {
  if (finished_ || writing_ || parked_) return;
  if (cancelled_) {
    FinishOnce(grpc::Status::CANCELLED);
    return;
  }
  while (queue_.empty()) {
    if (subscription_) {
      bool park = false;
      grpc::Status s = FillSubscription(&park);
      if (!s.ok()) {
        FinishOnce(s);
        return;
      }
      if (queue_.empty() && park) {
        std::weak_ptr<WakeHandle> weak = handle_;
        parked_ = deps_.hub->Park(catch_up_->seen_log_end(), [weak](bool live) {
          if (auto h = weak.lock()) {
            std::lock_guard lock(h->mu);
            if (h->reactor) h->reactor->OnWake(live);
          }
        });
        if (parked_) return;
      }
    } else {
      if (done_reading_) {
        FinishOnce(grpc::Status::OK);
        return;
      }
      grpc::Status s = FillReadPage();
      if (!s.ok()) {
        FinishOnce(s);
        return;
      }
    }
  }
  writing_ = true;
  // No WriteOptions::set_buffer_hint() here: a hinted write may not complete (OnWriteDone)
  // until a later write flushes it, and the next write waits for that completion - a
  // stall the CLI integration test caught, and again (session 2) the Node append suite's
  // reads, even with GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE set (server.cc).
  bool own_buffer = false;
  out_.Clear();  // the serializer wants an empty buffer
  grpc::Status s =
      grpc::SerializationTraits<ReadResp>::Serialize(queue_.front(), &out_, &own_buffer);
  queue_.pop_front();
  if (!s.ok()) {
    writing_ = false;
    FinishOnce(s);
    return;
  }
  StartWrite(&out_);
}

void ReadReactor::OnWake(bool live) {
  std::lock_guard lock(mu_);
  parked_ = false;
  if (!live) {
    FinishOnce(grpc::Status(grpc::StatusCode::UNAVAILABLE, "Server Is Shutting Down"));
    return;
  }
  Step();
}

void ReadReactor::OnWriteDone(bool ok) {
  std::lock_guard lock(mu_);
  writing_ = false;
  if (!ok) {
    FinishOnce(grpc::Status(grpc::StatusCode::CANCELLED, "client went away"));
    return;
  }
  Step();
}

void ReadReactor::OnCancel() {
  std::lock_guard lock(mu_);
  cancelled_ = true;
  // A write in flight ends in OnWriteDone(false); a parked subscription must be ended here.
  if (!writing_) FinishOnce(grpc::Status::CANCELLED);
}

void ReadReactor::FinishOnce(const grpc::Status& s) {
  if (finished_) return;
  finished_ = true;
  parked_ = false;
  Finish(s);
}

void ReadReactor::OnDone() {
  {
    std::lock_guard lock(handle_->mu);
    handle_->reactor = nullptr;
  }
  if (counted_subscription_) deps_.metrics->subscriptions_active--;
  delete this;
}

}  // namespace kiroku::server
