#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace kiroku::bench {

namespace {

std::vector<double> Sorted(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::string JsonNumber(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string TargetText(const Metric& m) {
  switch (m.goal) {
    case Goal::kNone:
      return "";
    case Goal::kAtLeast:
      return ">= " + FormatNumber(m.target);
    case Goal::kAtMost:
      return "<= " + FormatNumber(m.target);
  }
  return "";
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string PadLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

}  // namespace

double Metric::Median() const {
  if (samples.empty()) return NAN;
  std::vector<double> s = Sorted(samples);
  size_t n = s.size();
  return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

double Metric::Min() const {
  return samples.empty() ? NAN : *std::min_element(samples.begin(), samples.end());
}

double Metric::Max() const {
  return samples.empty() ? NAN : *std::max_element(samples.begin(), samples.end());
}

std::optional<bool> Metric::Met() const {
  if (goal == Goal::kNone || samples.empty()) return std::nullopt;
  double m = Median();
  return goal == Goal::kAtLeast ? m >= target : m <= target;
}

void Report::Add(const std::string& key, const std::string& workload, const std::string& name,
                 const std::string& unit, double value, Goal goal, double target) {
  for (Metric& m : metrics_) {
    if (m.key == key) {
      m.samples.push_back(value);
      return;
    }
  }
  Metric m;
  m.key = key;
  m.workload = workload;
  m.name = name;
  m.unit = unit;
  m.goal = goal;
  m.target = target;
  m.samples.push_back(value);
  metrics_.push_back(std::move(m));
}

const Metric* Report::Find(const std::string& key) const {
  for (const Metric& m : metrics_) {
    if (m.key == key) return &m;
  }
  return nullptr;
}

std::optional<double> Report::MedianOf(const std::string& key) const {
  const Metric* m = Find(key);
  if (m == nullptr || m->samples.empty()) return std::nullopt;
  return m->Median();
}

std::optional<double> Report::LastOf(const std::string& key) const {
  const Metric* m = Find(key);
  if (m == nullptr || m->samples.empty()) return std::nullopt;
  return m->samples.back();
}

double Percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double rank = std::ceil(q * static_cast<double>(sorted.size()));
  size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(i, sorted.size() - 1)];
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  double a = std::fabs(v);
  if (a < 10) {
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
  }
  if (a < 100) {
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
  }
  std::snprintf(buf, sizeof buf, "%.0f", v);
  std::string digits = buf;
  std::string sign;
  if (!digits.empty() && digits[0] == '-') {
    sign = "-";
    digits.erase(0, 1);
  }
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return sign + out;
}

std::string RenderTable(const Report& report) {
  struct Row {
    std::string metric, median, range, target, met;
  };
  // Workloads in order of first appearance, each with its rows.
  std::vector<std::pair<std::string, std::vector<Row>>> groups;
  Row header{"metric (unit)", "median", "min..max", "target", "met"};
  size_t w[5] = {header.metric.size(), header.median.size(), header.range.size(),
                 header.target.size(), header.met.size()};
  for (const Metric& m : report.metrics()) {
    Row r;
    r.metric = m.name + " (" + m.unit + ")";
    r.median = FormatNumber(m.Median());
    r.range = m.samples.size() > 1 ? FormatNumber(m.Min()) + " .. " + FormatNumber(m.Max()) : "-";
    r.target = TargetText(m);
    std::optional<bool> met = m.Met();
    r.met = met ? (*met ? "yes" : "NO") : "";
    w[0] = std::max(w[0], r.metric.size());
    w[1] = std::max(w[1], r.median.size());
    w[2] = std::max(w[2], r.range.size());
    w[3] = std::max(w[3], r.target.size());
    w[4] = std::max(w[4], r.met.size());
    if (groups.empty() || groups.back().first != m.workload) groups.push_back({m.workload, {}});
    groups.back().second.push_back(std::move(r));
  }
  std::ostringstream out;
  auto line = [&](const Row& r) {
    out << "    " << Pad(r.metric, w[0]) << "  " << PadLeft(r.median, w[1]) << "  "
        << PadLeft(r.range, w[2]) << "  " << Pad(r.target, w[3]) << "  " << r.met << "\n";
  };
  line(header);
  out << "    " << std::string(w[0] + w[1] + w[2] + w[3] + w[4] + 8, '-') << "\n";
  for (const auto& [workload, rows] : groups) {
    out << workload << "\n";
    for (const Row& r : rows) line(r);
  }
  if (!report.notes().empty()) {
    out << "\n";
    for (const std::string& n : report.notes()) out << "* " << n << "\n";
  }
  return out.str();
}

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

std::string RenderJson(const Fields& machine, const Fields& parameters, const Report& report) {
  std::ostringstream out;
  auto object = [&](const Fields& f) {
    out << "{";
    for (size_t i = 0; i < f.size(); ++i) {
      out << (i ? "," : "") << "\"" << JsonEscape(f[i].first) << "\":\"" << JsonEscape(f[i].second)
          << "\"";
    }
    out << "}";
  };
  out << "{\"machine\":";
  object(machine);
  out << ",\"parameters\":";
  object(parameters);
  out << ",\"results\":[";
  for (size_t i = 0; i < report.metrics().size(); ++i) {
    const Metric& m = report.metrics()[i];
    out << (i ? "," : "") << "{\"key\":\"" << JsonEscape(m.key) << "\",\"workload\":\""
        << JsonEscape(m.workload) << "\",\"metric\":\"" << JsonEscape(m.name) << "\",\"unit\":\""
        << JsonEscape(m.unit) << "\",\"median\":" << JsonNumber(m.Median())
        << ",\"min\":" << JsonNumber(m.Min()) << ",\"max\":" << JsonNumber(m.Max())
        << ",\"samples\":[";
    for (size_t j = 0; j < m.samples.size(); ++j) {
      out << (j ? "," : "") << JsonNumber(m.samples[j]);
    }
    out << "]";
    if (m.goal != Goal::kNone) {
      out << ",\"target\":{\"goal\":\"" << (m.goal == Goal::kAtLeast ? "at_least" : "at_most")
          << "\",\"value\":" << JsonNumber(m.target)
          << "},\"met\":" << (m.Met().value_or(false) ? "true" : "false");
    }
    out << "}";
  }
  out << "],\"notes\":[";
  for (size_t i = 0; i < report.notes().size(); ++i) {
    out << (i ? "," : "") << "\"" << JsonEscape(report.notes()[i]) << "\"";
  }
  out << "]}\n";
  return out.str();
}

}  // namespace kiroku::bench
