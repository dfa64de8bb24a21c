#pragma once
// A probe's settings (`probes: NAME: {...}`) and their reader.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/plugins.hpp"
#include "remedies/remedy.hpp"

namespace tend::probes {

using namespace std::chrono_literals;

/// An accepted status: a code (200) or a class ("2xx" -> 200..299).
struct StatusRange {
  int low = 200;
  int high = 299;
  bool operator==(const StatusRange&) const = default;
};

struct JsonExpect {
  std::string path;    // JSON pointer, e.g. /status
  std::string equals;  // compared with the value's text form
  bool operator==(const JsonExpect&) const = default;
};

struct ProbeExpect {
  std::vector<StatusRange> status = {StatusRange{200, 299}};
  std::string body_contains;
  std::string body_regex;
  std::optional<JsonExpect> json;
  std::optional<Duration> max_latency;
  bool operator==(const ProbeExpect&) const = default;
};

struct TlsConfig {
  bool verify = true;
  Duration expiry_warning = 14 * 24h;
  bool operator==(const TlsConfig&) const = default;
};

struct ProbeConfig : config::Settings<ProbeConfig> {
  static constexpr std::string_view kKind = "probe";

  std::string name;
  std::string url;
  std::string unix_socket;
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  std::string body;
  bool follow_redirects = false;
  bool reuse_connection = true;  // false: a new connection per probe, as Monit
  Duration interval = 30s;
  Duration timeout = 10s;
  ProbeExpect expect;
  TlsConfig tls;
  int failure_threshold = 3;
  int success_threshold = 1;
  std::optional<remedies::RemedyConfig> remedy;
  config::Severity severity = config::Severity::critical;
  bool operator==(const ProbeConfig&) const = default;
};

/// The `probes:` section: kind "probe", read by read_probe.
config::SectionSpec section();

/// Read one probe's mapping.
std::shared_ptr<const config::EntrySettings> read_probe(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& ctx);

/// "200" -> 200..200, "2xx" -> 200..299, "200-204" -> 200..204.
Expected<StatusRange> parse_status(std::string_view text);

}  // namespace tend::probes
