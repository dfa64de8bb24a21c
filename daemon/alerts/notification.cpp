#include "alerts/notification.hpp"

#include <sys/random.h>

#include <array>
#include <boost/json.hpp>
#include <cstdio>

namespace tend::alerts {

namespace json = boost::json;

namespace {

json::value time_or_null(const std::optional<WallTime>& t) {
  if (!t) {
    return nullptr;
  }
  return json::string(format_iso8601(*t));
}

std::string str(const json::object& o, const char* key) {
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    return std::string(v->as_string());
  }
  return {};
}

std::optional<WallTime> time_of(const json::object& o, const char* key) {
  if (const auto* v = o.if_contains(key); v != nullptr && v->is_string()) {
    return parse_iso8601(v->as_string());
  }
  return std::nullopt;
}

}  // namespace

json::object payload_v1(const Notification& n) {
  json::object labels;
  for (const auto& [k, v] : n.labels) {
    labels[k] = v;
  }
  return json::object{{"version", 1},
                      {"id", n.id},
                      {"status", n.status},
                      {"event", n.event},
                      {"severity", n.severity},
                      {"kind", n.kind},
                      {"name", n.name},
                      {"summary", n.summary},
                      {"detail", n.detail},
                      {"host", n.host},
                      {"environment", n.environment},
                      {"started_at", format_iso8601(n.started_at)},
                      {"ended_at", time_or_null(n.ended_at)},
                      {"occurrences", n.occurrences},
                      {"labels", std::move(labels)}};
}

std::string to_storage(const Notification& n) {
  auto o = payload_v1(n);
  o["notifier"] = n.notifier;
  o["reason"] = n.reason;
  o["created_at"] = format_iso8601(n.created_at);
  return json::serialize(o);
}

Expected<Notification> from_storage(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec || !v.is_object()) {
    return Error{"stored notification is not a JSON object"};
  }
  const auto& o = v.as_object();
  Notification n;
  n.id = str(o, "id");
  n.notifier = str(o, "notifier");
  n.status = str(o, "status");
  n.event = str(o, "event");
  n.severity = str(o, "severity");
  n.kind = str(o, "kind");
  n.name = str(o, "name");
  n.summary = str(o, "summary");
  n.detail = str(o, "detail");
  n.host = str(o, "host");
  n.environment = str(o, "environment");
  n.reason = str(o, "reason");
  auto started = time_of(o, "started_at");
  auto created = time_of(o, "created_at");
  if (n.id.empty() || n.notifier.empty() || !started || !created) {
    return Error{"stored notification lacks id, notifier or times"};
  }
  n.started_at = *started;
  n.created_at = *created;
  n.ended_at = time_of(o, "ended_at");
  if (const auto* occ = o.if_contains("occurrences"); occ != nullptr && occ->is_int64()) {
    n.occurrences = static_cast<int>(occ->as_int64());
  }
  if (const auto* labels = o.if_contains("labels"); labels != nullptr && labels->is_object()) {
    for (const auto& [k, val] : labels->as_object()) {
      if (val.is_string()) {
        n.labels[std::string(k)] = std::string(val.as_string());
      }
    }
  }
  return n;
}

std::string new_id() {
  std::array<unsigned char, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    // getrandom never blocks once the pool is initialised (always true after early boot).
    const auto n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    }
  }
  std::string out;
  out.reserve(32);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

const char* emoji(const Notification& n) {
  if (n.status == "resolved") {
    return "✅";
  }
  if (n.severity == "critical") {
    return "🚨";
  }
  if (n.severity == "warning") {
    return "⚠️";
  }
  return "ℹ️";
}

std::string headline(const Notification& n) {
  std::string what;
  if (n.reason == "test") {
    what = "TEST";
  } else if (n.status == "resolved") {
    what = "RESOLVED";
  } else if (n.reason == "repeat") {
    what = "STILL FIRING";
  } else if (n.reason == "escalation") {
    what = "ESCALATED";
  } else if (n.reason == "digest") {
    what = "DIGEST";
  } else {
    what = "FIRING";
  }
  std::string line = std::string(emoji(n)) + " [" + n.environment + "] " + what + " " + n.severity + " · " + n.summary;
  if (n.occurrences > 1 && n.status != "resolved") {
    line += " (×" + std::to_string(n.occurrences) + ")";
  }
  return line;
}

std::string keep_tail(const std::string& text, std::size_t max) {
  if (text.size() <= max) {
    return text;
  }
  static constexpr std::string_view kMark = "…\n";
  const std::size_t keep = max > kMark.size() ? max - kMark.size() : 0;
  std::size_t start = text.size() - keep;
  // Step forward past UTF-8 continuation bytes so no character is cut in half.
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0U) == 0x80U) {
    ++start;
  }
  return std::string(kMark) + text.substr(start);
}

}  // namespace tend::alerts
