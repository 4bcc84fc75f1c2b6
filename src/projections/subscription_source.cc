// EventSource over any EventStore: its Subscribe (for a server, a KurrentDB catch-up
// subscription to filtered `$all`) runs on a background thread and fills a bounded queue;
// Next drains it. When the queue is full the subscription thread waits, so gRPC flow control
// slows the server down instead of this process buffering without bound.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "kiroku/event_store.h"
#include "projections/event_source.h"

namespace kiroku::projections {
namespace {

constexpr size_t kQueueLimit = 20000;

class SubscriptionSource final : public EventSource {
 public:
  explicit SubscriptionSource(EventStore* client) : client_(client) {}
  ~SubscriptionSource() override {
    stop_ = true;
    cv_.notify_all();
    space_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

  Status Start(std::optional<Position> after, const EventFilter& filter) override {
    SubscribeRequest req;
    req.all = true;
    req.filter = filter;
    if (after) {
      req.start = SubscribeRequest::Start::kAfter;
      req.after_position = *after;
    } else {
      req.start = SubscribeRequest::Start::kBeginning;
    }
    thread_ = std::thread([this, req] {
      Status s = client_->Subscribe(
          req,
          [this](const SubscriptionMessage& m) {
            std::unique_lock<std::mutex> lock(mu_);
            switch (m.kind) {
              case SubscriptionMessage::Kind::kEvent:
                space_cv_.wait(lock, [&] { return stop_ || queue_.size() < kQueueLimit; });
                if (stop_) return false;
                queue_.push_back(m.event);
                break;
              case SubscriptionMessage::Kind::kCaughtUp:
                live_ = true;
                break;
              case SubscriptionMessage::Kind::kCheckpoint:
                if (queue_.empty()) {
                  checkpoint_ = m.checkpoint;
                } else {
                  // Applies once the queued events before it are taken.
                  pending_checkpoint_ = m.checkpoint;
                }
                break;
            }
            cv_.notify_all();
            return !stop_.load();
          },
          &stop_);
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
      end_status_ = s.ok() && !stop_ ? Status::Closed("the server ended the subscription") : s;
      cv_.notify_all();
    });
    return Status::Ok();
  }

  Result<SourceBatch> Next(size_t max_events, std::chrono::milliseconds wait) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, wait, [&] { return !queue_.empty() || ended_ || checkpoint_.has_value(); });
    SourceBatch out;
    while (!queue_.empty() && out.events.size() < max_events) {
      out.events.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    if (queue_.empty() && pending_checkpoint_) {
      checkpoint_ = pending_checkpoint_;
      pending_checkpoint_.reset();
    }
    if (checkpoint_ && (out.events.empty() || *checkpoint_ > out.events.back().position)) {
      out.checkpoint = checkpoint_;
    }
    checkpoint_.reset();
    out.caught_up = live_ && queue_.empty();
    space_cv_.notify_all();
    if (out.events.empty() && ended_ && !end_status_.ok()) return end_status_;
    return out;
  }

  Result<SourceTail> Tail(std::optional<Position> after, uint64_t cap) override {
    SourceTail t;
    ReadAllOptions last;
    last.direction = Direction::kBackwards;
    last.from = Position::End();
    last.max_count = 1;
    KIROKU_ASSIGN_OR_RETURN(ReadAllResult lr, client_->ReadAll(last));
    if (!lr.events.empty()) {
      t.last_position = lr.events[0].position;
      t.log_end = Position(lr.events[0].position.value + 1);
    }
    ReadAllOptions fwd;
    fwd.from = after.value_or(Position::Start());
    fwd.max_count = cap + 2;
    KIROKU_ASSIGN_OR_RETURN(ReadAllResult fr, client_->ReadAll(fwd));
    for (const RecordedEvent& e : fr.events) {
      if (after && e.position <= *after) continue;
      if (t.lag_events == 0) t.oldest_unprocessed_us = e.created_us;
      if (t.lag_events == cap) {
        t.lag_capped = true;
        break;
      }
      ++t.lag_events;
    }
    return t;
  }

 private:
  EventStore* client_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_, space_cv_;
  std::deque<RecordedEvent> queue_;
  std::optional<Position> checkpoint_, pending_checkpoint_;
  bool live_ = false;
  bool ended_ = false;
  Status end_status_;
};

}  // namespace

std::unique_ptr<EventSource> MakeSubscriptionSource(EventStore* events) {
  return std::make_unique<SubscriptionSource>(events);
}

}  // namespace kiroku::projections
