// CRC32C (Castagnoli), hardware-accelerated with SSE4.2 when the CPU has it.
//
// Stored checksums are "masked" (as in LevelDB): a CRC of data that itself contains CRCs
// is otherwise prone to trivial collisions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace kiroku::crc32c {

// Extends `crc` (the CRC of some prefix) with `n` bytes.
uint32_t Extend(uint32_t crc, const char* data, size_t n);
inline uint32_t Value(const char* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::string_view s) { return Extend(0, s.data(), s.size()); }

inline constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + kMaskDelta; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace kiroku::crc32c
