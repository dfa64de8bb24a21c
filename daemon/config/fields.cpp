#include "config/fields.hpp"

#include <date/tz.h>

#include <algorithm>
#include <sstream>

#include "config/plugins.hpp"
#include "config/values.hpp"

namespace tend::config {

std::string percent_text(double v) {
  std::ostringstream out;
  out << v << '%';
  return out.str();
}

std::optional<const date::time_zone*> read_timezone(MapReader& m) {
  auto v = m.get("timezone");
  auto name = v ? v->string() : std::nullopt;
  if (!name) {
    return std::nullopt;
  }
  auto zone = schedule::find_zone(*name);
  if (!zone) {
    v->error(zone.error());
    return std::nullopt;
  }
  return *zone;
}

std::optional<schedule::Schedule> read_schedule(MapReader& m, const date::time_zone* zone) {
  auto v = m.get("schedule");
  auto text = v ? v->string() : std::nullopt;
  if (!text) {
    return std::nullopt;
  }
  auto parsed = schedule::parse_schedule(*text, zone);
  if (!parsed) {
    v->error(parsed.error());
    return std::nullopt;
  }
  return std::move(*parsed);
}

std::optional<std::string_view> exactly_one(MapReader& m, const std::vector<std::string_view>& keys) {
  std::string listed;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    listed += (i == 0 ? "" : i + 1 == keys.size() ? " or " : ", ") + std::string(keys[i]);
  }
  std::vector<std::pair<std::string_view, Value>> present;
  for (auto key : keys) {
    if (auto v = m.get(key)) {
      present.emplace_back(key, *v);
    }
  }
  std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) {
    return std::pair(a.second.key_mark().line, a.second.key_mark().column) <
           std::pair(b.second.key_mark().line, b.second.key_mark().column);
  });
  if (present.size() > 1) {
    const Value& second = present[1].second;
    m.self().context().error(
        second.key_mark(), second.path(),
        "exactly one of " + listed + " is allowed ('" + std::string(present[0].first) + "' is also set)");
    return std::nullopt;
  }
  if (present.empty()) {
    if (m.valid()) {
      m.self().context().error(m.self().key_mark(), m.self().path(), "exactly one of " + listed + " is required");
    }
    return std::nullopt;
  }
  return present[0].first;
}

void read_http_notifier(MapReader& m, NotifierConfig& n) {
  m.require("url");
  m.read("url", n.url, check_http_url);
  m.read("headers", n.headers, check_header_name, check_header_value);
  m.read("timeout", n.timeout);
}

bool read_severity(MapReader& m, Severity& out) { return m.read("severity", out, events::kSeverities); }

}  // namespace tend::config
