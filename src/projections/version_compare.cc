#include "projections/version_compare.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

namespace kiroku::projections {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

std::string RowJson(const SqlRow& row) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& v : row) j.push_back(v ? nlohmann::json(*v) : nlohmann::json(nullptr));
  return j.dump();
}

struct TableScan {
  uint64_t rows = 0;
  uint64_t checksum = 0;
  std::vector<uint64_t> hashes;
};

Status Scan(Sink* sink, const std::string& table, const std::vector<std::string>& columns,
            TableScan* out) {
  std::string cols;
  for (size_t i = 0; i < columns.size(); ++i) cols += (i ? ", " : "") + sink->Quote(columns[i]);
  return sink->Query("SELECT " + cols + " FROM " + sink->Quote(table), [&](const SqlRow& r) {
    uint64_t h = RowHash(r);
    ++out->rows;
    out->checksum += h;
    out->hashes.push_back(h);
    return true;
  });
}

// Rows of `table` whose hash is in `wanted` (at most one per hash).
Status Fetch(Sink* sink, const std::string& table, const std::vector<std::string>& columns,
             std::unordered_set<uint64_t> wanted, std::vector<std::string>* out) {
  std::string cols;
  for (size_t i = 0; i < columns.size(); ++i) cols += (i ? ", " : "") + sink->Quote(columns[i]);
  return sink->Query("SELECT " + cols + " FROM " + sink->Quote(table), [&](const SqlRow& r) {
    auto it = wanted.find(RowHash(r));
    if (it != wanted.end()) {
      out->push_back(RowJson(r));
      wanted.erase(it);
    }
    return !wanted.empty();
  });
}

}  // namespace

uint64_t RowHash(const SqlRow& row) {
  uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a over tagged values
  auto byte = [&](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (const auto& v : row) {
    if (!v) {
      byte(0);
      continue;
    }
    byte(1);
    uint64_t n = v->size();
    for (int i = 0; i < 8; ++i) byte(static_cast<unsigned char>(n >> (8 * i)));
    for (char c : *v) byte(static_cast<unsigned char>(c));
  }
  return Mix(h);
}

Result<std::vector<TableComparison>> CompareVersions(Sink* old_sink, Sink* new_sink,
                                                     size_t samples) {
  KIROKU_ASSIGN_OR_RETURN(std::vector<std::string> old_tables, old_sink->ListTables());
  KIROKU_ASSIGN_OR_RETURN(std::vector<std::string> new_tables, new_sink->ListTables());
  std::set<std::string> names(old_tables.begin(), old_tables.end());
  names.insert(new_tables.begin(), new_tables.end());
  std::vector<TableComparison> out;
  for (const std::string& t : names) {
    TableComparison c;
    c.table = t;
    c.in_old = std::count(old_tables.begin(), old_tables.end(), t) > 0;
    c.in_new = std::count(new_tables.begin(), new_tables.end(), t) > 0;
    TableScan os, ns;
    if (c.in_old) {
      KIROKU_ASSIGN_OR_RETURN(c.old_columns, old_sink->ListColumns(t));
      KIROKU_RETURN_IF_ERROR(Scan(old_sink, t, c.old_columns, &os));
    }
    if (c.in_new) {
      KIROKU_ASSIGN_OR_RETURN(c.new_columns, new_sink->ListColumns(t));
      KIROKU_RETURN_IF_ERROR(Scan(new_sink, t, c.new_columns, &ns));
    }
    c.old_rows = os.rows;
    c.new_rows = ns.rows;
    c.old_checksum = os.checksum;
    c.new_checksum = ns.checksum;
    if (!c.equal() && samples > 0) {
      std::sort(os.hashes.begin(), os.hashes.end());
      std::sort(ns.hashes.begin(), ns.hashes.end());
      std::vector<uint64_t> only_old, only_new;
      std::set_difference(os.hashes.begin(), os.hashes.end(), ns.hashes.begin(), ns.hashes.end(),
                          std::back_inserter(only_old));
      std::set_difference(ns.hashes.begin(), ns.hashes.end(), os.hashes.begin(), os.hashes.end(),
                          std::back_inserter(only_new));
      if (only_old.size() > samples) only_old.resize(samples);
      if (only_new.size() > samples) only_new.resize(samples);
      if (c.in_old && !only_old.empty()) {
        KIROKU_RETURN_IF_ERROR(
            Fetch(old_sink, t, c.old_columns, {only_old.begin(), only_old.end()}, &c.only_in_old));
      }
      if (c.in_new && !only_new.empty()) {
        KIROKU_RETURN_IF_ERROR(
            Fetch(new_sink, t, c.new_columns, {only_new.begin(), only_new.end()}, &c.only_in_new));
      }
    }
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace kiroku::projections
