// Renders the results of one `bench/peers/run.sh` run (one JSON object per line, as
// kiroku-peer-bench prints them) as one Markdown table: per workload and target the median
// and min..max over the repetitions, latency percentiles, each target's durability, and
// kiroku's ratio to every other target; then the targets, met or not.
#pragma once

#include <string>

#include "kiroku/status.h"

namespace kiroku::bench::peers {

struct ReportOptions {
  std::string results_path;  // JSON lines
  std::string command;       // how the run was started, printed with the table
};

Result<std::string> RenderPeerReport(const ReportOptions& options);

}  // namespace kiroku::bench::peers
