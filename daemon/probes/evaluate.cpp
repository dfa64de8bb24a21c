#include "probes/evaluate.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>

#include "util/text.hpp"

namespace tend::probes {

Expected<std::shared_ptr<BodyRegex>> BodyRegex::compile(const std::string& pattern) {
  std::shared_ptr<BodyRegex> r(new BodyRegex());
  int rc = ::regcomp(&r->re_, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
  r->compiled_ = rc == 0;
  if (rc != 0) {
    char buf[256];
    ::regerror(rc, &r->re_, buf, sizeof buf);
    return Error{std::string("invalid body_regex: ") + buf};
  }
  return r;
}

BodyRegex::~BodyRegex() {
  if (compiled_) {
    ::regfree(&re_);
  }
}

bool BodyRegex::search(const std::string& text) const { return ::regexec(&re_, text.c_str(), 0, nullptr, 0) == 0; }

std::string format_latency(std::chrono::milliseconds ms) {
  if (ms < std::chrono::seconds(1)) {
    return std::to_string(ms.count()) + "ms";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms.count()) / 1000.0);
  return buf;
}

namespace {

std::string json_text(const boost::json::value& v) {
  if (v.is_string()) {
    return std::string(v.as_string());
  }
  return boost::json::serialize(v);
}

}  // namespace

Verdict evaluate(const ProbeConfig& cfg, const BodyRegex* regex, const http::Response& resp) {
  if (resp.failure != http::Failure::none) {
    return {false, resp.error};
  }
  bool status_ok = false;
  for (const auto& r : cfg.expect.status) {
    status_ok = status_ok || (resp.status >= r.low && resp.status <= r.high);
  }
  if (!status_ok) {
    return {false, "status " + std::to_string(resp.status)};
  }
  if (!cfg.expect.body_contains.empty() && resp.body.find(cfg.expect.body_contains) == std::string::npos) {
    return {false, "body mismatch: no '" + head_utf8(cfg.expect.body_contains, 80) + "'"};
  }
  if (regex != nullptr && !regex->search(resp.body)) {
    return {false, "body mismatch: /" + head_utf8(cfg.expect.body_regex, 80) + "/ does not match"};
  }
  if (cfg.expect.json) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(resp.body, ec);
    if (ec) {
      return {false, "body mismatch: not JSON (" + ec.message() + ")"};
    }
    const auto* v = doc.find_pointer(cfg.expect.json->path, ec);
    if (v == nullptr) {
      return {false, "body mismatch: no " + cfg.expect.json->path};
    }
    auto got = json_text(*v);
    if (got != cfg.expect.json->equals) {
      return {false, "body mismatch: " + cfg.expect.json->path + " is '" + head_utf8(got, 80) + "', expected '" +
                         cfg.expect.json->equals + "'"};
    }
  }
  if (cfg.expect.max_latency && resp.latency > *cfg.expect.max_latency) {
    return {false, "latency " + format_latency(resp.latency) + " > " + format_duration(*cfg.expect.max_latency)};
  }
  return {true, ""};
}

}  // namespace tend::probes
