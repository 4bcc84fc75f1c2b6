#include "client/connection_string.h"

#include <algorithm>
#include <cctype>

namespace kiroku {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Status Bad(const std::string& text, const std::string& why) {
  return Status::InvalidArgument("connection string '" + text + "': " + why);
}

Result<bool> ParseBool(const std::string& text, const std::string& key, const std::string& v) {
  std::string l = Lower(v);
  if (l == "true") return true;
  if (l == "false") return false;
  return Bad(text, key + " must be true or false, not '" + v + "'");
}

Result<int64_t> ParseInt(const std::string& text, const std::string& key, const std::string& v) {
  if (v.empty() ||
      !std::all_of(v.begin(), v.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return Bad(text, key + " must be a non-negative integer, not '" + v + "'");
  }
  try {
    return static_cast<int64_t>(std::stoll(v));
  } catch (...) {
    return Bad(text, key + " is out of range");
  }
}

}  // namespace

Result<ConnectionSettings> ParseConnectionString(const std::string& text) {
  ConnectionSettings cs;
  size_t sep = text.find("://");
  if (sep == std::string::npos) return Bad(text, "missing '://'");
  std::string scheme = Lower(text.substr(0, sep));
  const std::string suffix = "+discover";
  if (scheme.size() > suffix.size() && scheme.ends_with(suffix)) {
    cs.discover = true;
    scheme.resize(scheme.size() - suffix.size());
  }
  if (scheme != "esdb" && scheme != "kurrentdb" && scheme != "kdb" && scheme != "kurrent") {
    return Bad(text, "unknown scheme '" + scheme + "' (use esdb:// or kurrentdb://)");
  }
  cs.scheme = scheme;
  std::string rest = text.substr(sep + 3);
  std::string query;
  if (size_t q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q + 1);
    rest.resize(q);
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = userinfo.find(':');
    if (colon == std::string::npos) return Bad(text, "user info needs user:password");
    cs.username = PercentDecode(userinfo.substr(0, colon));
    cs.password = PercentDecode(userinfo.substr(colon + 1));
  }
  if (rest.empty()) return Bad(text, "no host");
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    std::string hp =
        rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (hp.empty()) return Bad(text, "empty host");
    Endpoint ep;
    size_t colon = hp.rfind(':');
    if (hp.front() == '[') {  // [ipv6]:port
      size_t close = hp.find(']');
      if (close == std::string::npos) return Bad(text, "unclosed '[' in host");
      ep.host = hp.substr(1, close - 1);
      colon = hp.size() > close + 1 && hp[close + 1] == ':' ? close + 1 : std::string::npos;
    } else {
      ep.host = hp.substr(0, colon);
    }
    if (colon != std::string::npos) {
      KIROKU_ASSIGN_OR_RETURN(int64_t port, ParseInt(text, "port", hp.substr(colon + 1)));
      if (port < 1 || port > 65535) return Bad(text, "port out of range");
      ep.port = static_cast<uint16_t>(port);
    }
    if (ep.host.empty()) return Bad(text, "empty host");
    cs.hosts.push_back(ep);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  size_t qs = 0;
  while (!query.empty() && qs <= query.size()) {
    size_t amp = query.find('&', qs);
    std::string kv = query.substr(qs, amp == std::string::npos ? std::string::npos : amp - qs);
    qs = amp == std::string::npos ? query.size() + 1 : amp + 1;
    if (kv.empty()) continue;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) return Bad(text, "option '" + kv + "' has no value");
    std::string key = Lower(kv.substr(0, eq));
    std::string value = PercentDecode(kv.substr(eq + 1));
    auto ms = [&](std::chrono::milliseconds* out) -> Status {
      KIROKU_ASSIGN_OR_RETURN(int64_t v, ParseInt(text, key, value));
      *out = std::chrono::milliseconds(v);
      return Status::Ok();
    };
    if (key == "tls") {
      KIROKU_ASSIGN_OR_RETURN(cs.tls, ParseBool(text, key, value));
    } else if (key == "tlsverifycert") {
      KIROKU_ASSIGN_OR_RETURN(cs.tls_verify_cert, ParseBool(text, key, value));
    } else if (key == "tlscafile") {
      cs.tls_ca_file = value;
    } else if (key == "connectionname") {
      cs.connection_name = value;
    } else if (key == "nodepreference") {
      std::string l = Lower(value);
      if (l != "leader" && l != "follower" && l != "random" && l != "readonlyreplica") {
        return Bad(text, "nodePreference must be leader, follower, random or readOnlyReplica");
      }
      cs.node_preference = l;
    } else if (key == "defaultdeadline") {
      KIROKU_RETURN_IF_ERROR(ms(&cs.default_deadline));
    } else if (key == "keepaliveinterval") {
      KIROKU_RETURN_IF_ERROR(ms(&cs.keep_alive_interval));
    } else if (key == "keepalivetimeout") {
      KIROKU_RETURN_IF_ERROR(ms(&cs.keep_alive_timeout));
    } else if (key == "gossiptimeout") {
      KIROKU_RETURN_IF_ERROR(ms(&cs.gossip_timeout));
    } else if (key == "maxdiscoverattempts") {
      KIROKU_ASSIGN_OR_RETURN(int64_t v, ParseInt(text, key, value));
      cs.max_discover_attempts = static_cast<int>(v);
    } else if (key == "maxretries") {
      KIROKU_ASSIGN_OR_RETURN(int64_t v, ParseInt(text, key, value));
      if (v < 0 || v > 100) return Bad(text, "maxRetries must be between 0 and 100");
      cs.max_retries = static_cast<int>(v);
    } else if (key == "retrybackoff") {
      KIROKU_RETURN_IF_ERROR(ms(&cs.retry_backoff));
    } else if (key == "discoveryinterval" || key == "throwonappendfailure" ||
               key == "usercertfile" || key == "userkeyfile") {
      // Accepted for compatibility; not used by kiroku's own clients yet.
    } else {
      return Bad(text, "unknown option '" + kv.substr(0, eq) + "'");
    }
  }
  return cs;
}

}  // namespace kiroku
