// Results of kiroku-bench: named metrics with one sample per repetition, printed as a human
// table (median and min..max next to the target) or as one JSON object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiroku::bench {

// How a metric compares with its target.
enum class Goal : uint8_t { kNone, kAtLeast, kAtMost };

struct Metric {
  std::string key;       // stable JSON name, e.g. "a_sync.events_per_s"
  std::string workload;  // human label of the workload
  std::string name;      // human label of the metric
  std::string unit;      // "events/s", "ms", "MB/s", ...
  Goal goal = Goal::kNone;
  double target = 0;
  std::vector<double> samples;  // one per repetition

  double Median() const;
  double Min() const;
  double Max() const;
  // nullopt when the metric has no target or no samples.
  std::optional<bool> Met() const;
};

// An ordered collection of metrics; the first Add of a key fixes its place in the output.
class Report {
 public:
  // Adds one sample of `key`, creating the metric on first use.
  void Add(const std::string& key, const std::string& workload, const std::string& name,
           const std::string& unit, double value, Goal goal = Goal::kNone, double target = 0);
  const Metric* Find(const std::string& key) const;
  std::optional<double> MedianOf(const std::string& key) const;
  // The latest sample of `key` (this repetition's, if it ran).
  std::optional<double> LastOf(const std::string& key) const;
  const std::vector<Metric>& metrics() const { return metrics_; }

  // A note printed under the table and included in the JSON ("notes").
  void Note(std::string text) { notes_.push_back(std::move(text)); }
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  std::vector<Metric> metrics_;
  std::vector<std::string> notes_;
};

// Nearest-rank percentile of `sorted` (ascending); q in [0, 1]. 0 when empty.
double Percentile(const std::vector<double>& sorted, double q);

// "1,234,567" for counts and rates; fixed decimals below 100.
std::string FormatNumber(double v);

// A key/value pair printed before the results (machine, parameters).
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string RenderTable(const Report& report);
// One JSON object: {"machine":{...},"parameters":{...},"results":[...],"notes":[...]}.
std::string RenderJson(const Fields& machine, const Fields& parameters, const Report& report);
std::string JsonEscape(const std::string& s);

}  // namespace kiroku::bench
