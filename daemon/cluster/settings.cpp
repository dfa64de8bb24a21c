#include "cluster/settings.hpp"

#include <algorithm>

#include "cluster/etcd.hpp"
#include "util/names.hpp"

namespace tend::cluster {
namespace {

using std::chrono::milliseconds;

template <class T>
T clamp_ms(T v, T lo, T hi) {
  return std::max(lo, std::min(v, hi));
}

}  // namespace

std::optional<std::string> endpoint_problem(const std::string& e) {
  if (e.rfind("http://", 0) != 0 && e.rfind("https://", 0) != 0) {
    return "\"" + e + "\" is not an http:// or https:// URL";
  }
  if (e.find_first_of(" \t\r\n?#") != std::string::npos) {
    return "\"" + e + "\" is not a base URL";
  }
  return std::nullopt;
}

std::vector<Problem> problems(const Settings& s) {
  std::vector<Problem> out;
  if (s.endpoints.empty()) {
    out.push_back({"etcd", "at least one endpoint is needed"});
  }
  for (const auto& e : s.endpoints) {
    if (auto why = endpoint_problem(e)) {
      out.push_back({"etcd", *why});
    }
  }
  if (s.prefix.empty() || s.prefix.front() != '/') {
    out.push_back({"prefix", "must start with / (e.g. /tend/prod/)"});
  }
  if (!valid_name(s.node)) {
    out.push_back({"node", "\"" + s.node + "\" is not a valid name ([A-Za-z0-9_.-]+)"});
  }
  if (s.lease_ttl < std::chrono::seconds(2) || s.lease_ttl % std::chrono::seconds(1) != milliseconds(0)) {
    out.push_back({"lease_ttl", "must be whole seconds, at least 2s (etcd's minimum lease)"});
  } else if (s.lease_ttl > std::chrono::hours(1)) {
    out.push_back({"lease_ttl", "at most 1h (a dead host's ticks wait that long)"});
  }
  if (!s.tls.key.empty() && s.tls.cert.empty()) {
    out.push_back({"tls.key", "key without cert"});
  }
  if (!s.tls.cert.empty() && s.tls.key.empty()) {
    out.push_back({"tls.cert", "cert without key"});
  }
  if (s.run_retention < std::chrono::minutes(1)) {
    out.push_back({"", "run records must be kept at least 1m"});
  }
  return out;
}

std::optional<std::string> validate(const Settings& s) {
  auto all = problems(s);
  if (all.empty()) {
    return std::nullopt;
  }
  return (all.front().key.empty() ? std::string("cluster") : "cluster." + all.front().key) + ": " + all.front().message;
}

Settings resolve(Settings s) {
  if (s.prefix.empty() || s.prefix.back() != '/') {
    s.prefix += '/';
  }
  const milliseconds ttl = s.lease_ttl;
  if (s.request_timeout == milliseconds(0)) {
    s.request_timeout = clamp_ms(ttl / 5, milliseconds(500), milliseconds(5000));
  }
  if (s.op_timeout == milliseconds(0)) {
    s.op_timeout = std::max(ttl / 3, s.request_timeout);
  }
  if (s.sweep_interval == milliseconds(0)) {
    s.sweep_interval = clamp_ms(ttl / 10, milliseconds(100), milliseconds(1000));
  }
  if (s.claim_grace == milliseconds(0)) {
    s.claim_grace = ttl / 2;
  }
  return s;
}

GatewayOptions gateway_options(const Settings& settings) {
  const Settings s = resolve(settings);
  GatewayOptions o;
  o.endpoints = s.endpoints;
  o.tls = s.tls;
  o.request_timeout = s.request_timeout;
  o.op_timeout = s.op_timeout;
  return o;
}

}  // namespace tend::cluster
