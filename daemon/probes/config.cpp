#include "probes/config.hpp"

#include <charconv>

#include "config/fields.hpp"
#include "config/values.hpp"

namespace tend::probes {
namespace {

std::optional<int> to_int(std::string_view s) {
  int n = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return n;
}

void read_statuses(const config::Value& v, std::vector<StatusRange>& out) {
  // `status: 200` is as clear as `status: [200]`.
  std::vector<config::Value> items;
  if (v.node().IsScalar()) {
    items.push_back(v);
  } else if (auto list = v.items()) {
    items = std::move(*list);
  } else {
    return;
  }
  std::vector<StatusRange> statuses;
  for (const auto& item : items) {
    auto text = item.scalar("a status code or class (200, \"2xx\")");
    if (!text) {
      return;
    }
    auto range = parse_status(text->value);
    if (!range) {
      item.error(text->expanded ? text->shown() + " is not a status code or class" : range.error());
      return;
    }
    statuses.push_back(*range);
  }
  if (statuses.empty()) {
    v.error("must not be empty");
    return;
  }
  out = std::move(statuses);
}

void read_expect(config::MapReader& e, ProbeExpect& x) {
  if (auto v = e.get("status")) {
    read_statuses(*v, x.status);
  }
  e.read("body_contains", x.body_contains);
  e.read("body_regex", x.body_regex, config::check_regex);
  e.section("json", [&](config::MapReader& j) {
    JsonExpect json;
    j.require("path");
    j.require("equals");
    j.read("path", json.path, config::check_json_pointer);
    j.read("equals", json.equals);
    x.json = json;
  });
  e.read("max_latency", x.max_latency);
}

}  // namespace

config::SectionSpec section() { return {ProbeConfig::kKind, "probes", read_probe}; }

std::shared_ptr<const config::EntrySettings> read_probe(config::MapReader& m, const std::string& name,
                                                        const config::ReadContext& /*ctx*/) {
  auto p = std::make_shared<ProbeConfig>();
  p->name = name;
  // The url gives scheme, host and path even when the request goes over unix_socket.
  m.require("url");
  m.read("url", p->url, config::check_http_url);
  m.read("unix_socket", p->unix_socket, config::check_absolute_path);
  m.read("method", p->method,
         config::Value::one_of("method", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}));
  m.read("headers", p->headers, config::check_header_name, config::check_header_value);
  m.read("body", p->body);
  m.read("follow_redirects", p->follow_redirects);
  m.read("reuse_connection", p->reuse_connection);
  m.read("interval", p->interval);
  m.read("timeout", p->timeout);
  m.section("expect", [&](config::MapReader& e) { read_expect(e, p->expect); });
  m.section("tls", [&](config::MapReader& t) {
    t.read("verify", p->tls.verify);
    t.read("expiry_warning", p->tls.expiry_warning, config::kAnyDuration);
  });
  m.read("failure_threshold", p->failure_threshold, 1, 1000);
  m.read("success_threshold", p->success_threshold, 1, 1000);
  m.section("remedy", [&](config::MapReader& r) { p->remedy = remedies::read_remedy(r); });
  config::read_severity(m, p->severity);
  return p;
}

Expected<StatusRange> parse_status(std::string_view text) {
  const Error error{"expected a status code 100-599 or a class like 2xx, got '" + std::string(text) + "'"};
  const auto in_range = [](int n) { return n >= 100 && n <= 599; };
  if (text.size() == 3 && (text.substr(1) == "xx" || text.substr(1) == "XX") && text[0] >= '1' && text[0] <= '5') {
    const int low = (text[0] - '0') * 100;
    return StatusRange{low, low + 99};
  }
  if (const auto dash = text.find('-'); dash != std::string_view::npos) {
    const auto low = to_int(text.substr(0, dash));
    const auto high = to_int(text.substr(dash + 1));
    if (!low || !high || !in_range(*low) || !in_range(*high) || *low > *high) {
      return error;
    }
    return StatusRange{*low, *high};
  }
  const auto code = to_int(text);
  if (!code || !in_range(*code)) {
    return error;
  }
  return StatusRange{*code, *code};
}

}  // namespace tend::probes
