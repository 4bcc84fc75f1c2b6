// Keys and values of the RocksDB index. Prose description: docs/format/index.md.
//
// The index is derived data: everything in it can be rebuilt from the log. It is written
// without a WAL; every write batch carries the checkpoint (the log position it covers),
// so whatever state RocksDB recovers after a crash is a consistent prefix, and the store
// replays the log from that checkpoint on open.
#pragma once

#include <cstdint>

namespace kiroku::index_format {

inline constexpr uint32_t kIndexFormatVersion = 1;

inline constexpr char kVersionKey[] = "V";  // -> u32 format version
inline constexpr char kCheckpointKey[] =
    "C";                                    // -> u64 log end, u64 next stream id, u64 last sparse
inline constexpr char kHeadPrefix = 'H';    // 'H' + stream name -> head value
inline constexpr char kExtentPrefix = 'X';  // 'X' + be64 stream id + be64 first revision
                                            //   -> u64 position, u32 count
inline constexpr char kSparsePrefix = 'S';  // 'S' + be64 position -> "" (a record boundary)

// Head value: u8 version (=1) | u64 stream id | u64 count (next revision) | u8 flags |
//             varint32-prefixed metadata JSON (latest `$$stream` event data)
inline constexpr uint8_t kHeadVersion = 1;
inline constexpr uint8_t kHeadFlagTombstoned = 1;

// A sparse entry is written at a transaction start at least this far past the previous
// one, and at the first record of every segment. Backward `$all` reads scan forward from
// the nearest entry.
inline constexpr uint64_t kSparseInterval = 64 * 1024;

}  // namespace kiroku::index_format
