// Compares two versions of a read model table by table: row counts and an order-independent
// checksum (the sum of a 64-bit hash of each row's values, so equal multisets of rows give
// equal checksums whatever the physical order), plus a few sample rows that only one side
// has. Used by `kiroku projection verify` after both versions are at the same position.
// Thread-safety: uses the two sinks it is given from the calling thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kiroku/status.h"
#include "projections/sink.h"

namespace kiroku::projections {

struct TableComparison {
  std::string table;
  bool in_old = false, in_new = false;
  std::vector<std::string> old_columns, new_columns;
  uint64_t old_rows = 0, new_rows = 0;
  uint64_t old_checksum = 0, new_checksum = 0;
  std::vector<std::string> only_in_old, only_in_new;  // sample rows, as JSON arrays

  bool equal() const {
    return in_old && in_new && old_columns == new_columns && old_rows == new_rows &&
           old_checksum == new_checksum;
  }
};

// Both sinks should be inside BeginSnapshot. `samples` rows per side at most.
Result<std::vector<TableComparison>> CompareVersions(Sink* old_sink, Sink* new_sink,
                                                     size_t samples);
// Hash of one row's values (exposed for tests).
uint64_t RowHash(const SqlRow& row);

}  // namespace kiroku::projections
