// The event body every kiroku benchmark writes: a JSON object of an exact size, so that
// kiroku-bench and kiroku-peer-bench (and every peer) store the same bytes per event.
#pragma once

#include <string>

namespace kiroku::bench {

// A JSON object of exactly `size` bytes (at least ~48).
inline std::string JsonPayload(int size) {
  std::string head = "{\"learner\":\"learner-000042\",\"lesson\":17,\"pad\":\"";
  std::string tail = "\"}";
  int pad = size - static_cast<int>(head.size() + tail.size());
  if (pad < 0) pad = 0;
  std::string s = head;
  for (int i = 0; i < pad; ++i) s.push_back(static_cast<char>('a' + i % 26));
  return s + tail;
}

}  // namespace kiroku::bench
