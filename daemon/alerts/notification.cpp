#include "alerts/notification.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <stdexcept>

namespace tend::alerts {

namespace json = boost::json;

namespace {

json::value time_or_null(const std::optional<WallTime>& t) {
  if (!t) {
    return nullptr;
  }
  return json::string(format_iso8601(*t));
}

WallTime time_at(const json::object& o, const char* key) {
  auto t = parse_iso8601(json::value_to<std::string>(o.at(key)));
  if (!t) {
    throw std::invalid_argument(std::string("'") + key + "' is not an ISO-8601 time");
  }
  return *t;
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

void tag_invoke(json::value_from_tag, json::value& v, const Notification& n) {
  auto o = payload_v1(n);
  o["notifier"] = n.notifier;
  o["reason"] = n.reason;
  o["created_at"] = format_iso8601(n.created_at);
  if (!n.group_key.empty()) {
    o["group_key"] = n.group_key;
  }
  if (n.not_before) {
    o["not_before"] = format_iso8601(*n.not_before);
  }
  v = std::move(o);
}

Notification tag_invoke(json::value_to_tag<Notification>, const json::value& v) {
  const auto& o = v.as_object();
  Notification n;
  n.id = json::value_to<std::string>(o.at("id"));
  n.notifier = json::value_to<std::string>(o.at("notifier"));
  n.status = json::value_to<std::string>(o.at("status"));
  n.event = json::value_to<std::string>(o.at("event"));
  n.severity = json::value_to<std::string>(o.at("severity"));
  n.kind = json::value_to<std::string>(o.at("kind"));
  n.name = json::value_to<std::string>(o.at("name"));
  n.summary = json::value_to<std::string>(o.at("summary"));
  n.detail = json::value_to<std::string>(o.at("detail"));
  n.host = json::value_to<std::string>(o.at("host"));
  n.environment = json::value_to<std::string>(o.at("environment"));
  n.reason = json::value_to<std::string>(o.at("reason"));
  n.started_at = time_at(o, "started_at");
  n.created_at = time_at(o, "created_at");
  if (!o.at("ended_at").is_null()) {
    n.ended_at = time_at(o, "ended_at");
  }
  n.occurrences = json::value_to<int>(o.at("occurrences"));
  n.labels = json::value_to<std::map<std::string, std::string>>(o.at("labels"));
  if (const auto* g = o.if_contains("group_key")) {
    n.group_key = json::value_to<std::string>(*g);
  }
  if (o.contains("not_before")) {
    n.not_before = time_at(o, "not_before");
  }
  if (n.id.empty() || n.notifier.empty()) {
    throw std::invalid_argument("id and notifier must not be empty");
  }
  return n;
}

std::string to_storage(const Notification& n) { return json::serialize(json::value_from(n)); }

Expected<Notification> from_storage(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  if (ec) {
    return Error{"stored notification is not JSON: " + ec.message()};
  }
  try {
    return json::value_to<Notification>(v);
  } catch (const std::exception& e) {
    return Error{std::string("stored notification is not one: ") + e.what()};
  }
}

std::string group_id(const std::vector<Notification>& members) {
  std::vector<std::string> ids;
  ids.reserve(members.size());
  for (const auto& m : members) {
    ids.push_back(m.id);
  }
  std::sort(ids.begin(), ids.end());
  // Two FNV-1a runs with different offsets: 128 bits, as the members' own ids.
  std::uint64_t a = 1469598103934665603ULL;
  std::uint64_t b = 0x6c62272e07bb0142ULL;
  for (const auto& id : ids) {
    for (unsigned char c : id + "\n") {
      a = (a ^ c) * 1099511628211ULL;
      b = (b ^ c) * 0x100000001b3ULL + 0x9e3779b97f4a7c15ULL;
    }
  }
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return out;
}

Notification group_top(const GroupMessage& g) {
  const auto& first = g.members.front();
  auto rank = [](const std::string& sev) { return sev == "critical" ? 2 : sev == "warning" ? 1 : 0; };
  std::string severity = first.severity;
  std::size_t firing = 0;
  std::size_t resolved = 0;
  for (const auto& m : g.members) {
    if (rank(m.severity) > rank(severity)) {
      severity = m.severity;
    }
    (m.status == "resolved" ? resolved : firing) += 1;
  }
  auto common = [&](auto field) {
    const std::string& v = field(first);
    return std::all_of(g.members.begin(), g.members.end(), [&](const Notification& m) { return field(m) == v; })
               ? v
               : std::string();
  };
  Notification top = first;
  top.id = g.id;
  top.status = firing > 0 ? "firing" : "resolved";
  top.severity = severity;
  top.kind = common([](const Notification& m) -> const std::string& { return m.kind; });
  top.event = common([](const Notification& m) -> const std::string& { return m.event; });
  top.name = common([](const Notification& m) -> const std::string& { return m.name; });
  top.reason = common([](const Notification& m) -> const std::string& { return m.reason; });
  top.summary = std::to_string(g.members.size()) + " alerts" + (top.kind.empty() ? "" : " of " + top.kind + "s") +
                (top.event.empty() ? "" : " (" + top.event + ")") + ": " + std::to_string(firing) + " firing, " +
                std::to_string(resolved) + " resolved";
  top.detail.clear();
  top.occurrences = 0;
  for (const auto& m : g.members) {
    top.occurrences += m.occurrences;
  }
  top.started_at = std::min_element(g.members.begin(), g.members.end(), [](const auto& x, const auto& y) {
                     return x.started_at < y.started_at;
                   })->started_at;
  top.ended_at = firing > 0 ? std::nullopt : first.ended_at;
  top.labels.clear();
  return top;
}

json::object group_payload_v1(const GroupMessage& g, std::size_t max_bytes) {
  json::array members;
  std::size_t bytes = 0;
  std::size_t listed = 0;
  for (const auto& m : g.members) {
    auto member = payload_v1(m);
    member.erase("version");
    // The first member always; the rest while the body stays within max_bytes. A receiver's body
    // limit (nginx: 1 MiB) answers 413, which is final: a 4 MB group (10,000 members) would be
    // given up whole, and every alert in it lost.
    const std::size_t size = json::serialize(member).size() + 1;
    if (listed > 0 && bytes + size > max_bytes) {
      break;
    }
    bytes += size;
    ++listed;
    members.push_back(std::move(member));
  }
  auto o = payload_v1(group_top(g));
  o["group"] = json::object{{"key", g.key},
                            {"count", g.members.size()},
                            {"omitted", g.members.size() - listed},
                            {"members", std::move(members)}};
  return o;
}

std::string member_lines(const GroupMessage& g, std::size_t max_chars,
                         const std::function<std::string(const std::string&)>& escape) {
  std::string out;
  for (std::size_t i = 0; i < g.members.size(); ++i) {
    const auto& m = g.members[i];
    std::string line = std::string(emoji(m)) + " " + escape(m.summary);
    if (m.occurrences > 1 && m.status != "resolved") {
      line += " (×" + std::to_string(m.occurrences) + ")";
    }
    line += "\n";
    const std::size_t left = g.members.size() - i - 1;
    // Room for this line and, unless it is the last, for the "and N more" that may follow.
    const std::string more = "… and " + std::to_string(g.members.size() - i) + " more\n";
    if (out.size() + line.size() + (left > 0 ? more.size() : 0) > max_chars) {
      return out + more;
    }
    out += line;
  }
  return out;
}

std::string new_id() {
  std::array<unsigned char, 16> bytes{};
  std::size_t got = 0;
  while (got < bytes.size()) {
    // getrandom never blocks once the pool is initialised (always true after early boot).
    const auto n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n > 0) {
      got += static_cast<std::size_t>(n);
    } else if (n < 0 && errno != EINTR) {
      // No getrandom (ENOSYS, a seccomp filter's EPERM): never spin the loop on it. Ids need to be
      // unique, not secret: the clock, the pid and a counter, mixed (SplitMix64).
      static std::atomic<std::uint64_t> counter{0};
      const auto seed = static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) ^
                        (static_cast<std::uint64_t>(::getpid()) << 40U);
      std::uint64_t x = seed + 0x9e3779b97f4a7c15ULL * (counter.fetch_add(1) + 1);
      for (std::size_t i = got; i < bytes.size(); ++i) {
        if ((i - got) % 8 == 0) {
          x += 0x9e3779b97f4a7c15ULL;
          x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
          x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
          x ^= x >> 31U;
        }
        bytes[i] = static_cast<unsigned char>(x >> (8U * ((i - got) % 8)));
      }
      got = bytes.size();
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
  } else if (n.status == "flapping") {
    what = "FLAPPING";
  } else {
    what = "FIRING";
  }
  std::string line = std::string(emoji(n)) + " [" + n.environment + "] " + what + " " + n.severity + " · " + n.summary;
  if (n.occurrences > 1 && n.status != "resolved") {
    line += " (×" + std::to_string(n.occurrences) + ")";
  }
  return line;
}

}  // namespace tend::alerts
