// A fixed-size, direct-mapped cache of recently committed event ids -> (stream id,
// revision), used to recognise a retried append with expected revision `any` or
// `stream_exists` (exact and no_stream retries are checked against the log instead).
//
// Lossy by design: a newer id may evict an older one that hashes to the same slot, so a
// retry long after the original may be written again. The profile of the committer showed
// an unordered_map + deque window costing about half its CPU at 1M events/s (a node
// allocation and a cache miss chain per event); this is one store into a preallocated slot.
// Single-threaded (committer only).
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <utility>

#include "kiroku/event.h"

namespace kiroku {

class RecentEventIds {
 public:
  // `slots` is rounded up to a power of two; 0 disables the cache.
  explicit RecentEventIds(size_t slots) {
    size_t n = 1;
    while (n < slots) n <<= 1;
    if (slots == 0) n = 0;
    mask_ = n == 0 ? 0 : n - 1;
    if (n != 0) slots_.reset(new Slot[n]());
  }

  void Insert(const EventId& id, uint64_t stream_id, uint64_t revision) {
    if (!slots_) return;
    Slot& s = slots_[Hash(id) & mask_];
    s.id = id;
    s.stream_id = stream_id;
    s.revision = revision;
  }

  std::optional<std::pair<uint64_t, uint64_t>> Find(const EventId& id) const {
    if (!slots_) return std::nullopt;
    const Slot& s = slots_[Hash(id) & mask_];
    if (s.stream_id == 0 || s.id != id) return std::nullopt;
    return std::make_pair(s.stream_id, s.revision);
  }

 private:
  struct Slot {
    EventId id;
    uint64_t stream_id = 0;  // 0 = empty (stream ids start at 1)
    uint64_t revision = 0;
  };
  static uint64_t Hash(const EventId& id) {
    uint64_t a, b;
    std::memcpy(&a, id.bytes().data(), 8);
    std::memcpy(&b, id.bytes().data() + 8, 8);
    return (a ^ (b * 0x9e3779b97f4a7c15ull)) >> 7;
  }

  std::unique_ptr<Slot[]> slots_;
  size_t mask_ = 0;
};

}  // namespace kiroku
