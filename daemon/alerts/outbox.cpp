#include "alerts/outbox.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <string_view>
#include <vector>

#include "util/log.hpp"
#include "util/redact.hpp"

namespace tend::alerts {

using std::chrono::milliseconds;

namespace {

std::shared_ptr<spdlog::logger> logger() { return log::get("alerts"); }

constexpr milliseconds kFirstBackoff{1000};
constexpr milliseconds kMaxBackoff{5 * 60 * 1000};
constexpr std::size_t kMaxReplyBody = std::size_t{64} * 1024;

std::string first_line(std::string_view s, std::size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  }
  return out;
}

std::string describe(const http::Response& r) {
  if (r.failure != http::Failure::none) {
    return r.error;
  }
  std::string s = "HTTP " + std::to_string(r.status);
  if (!r.body.empty()) {
    s += ": " + first_line(r.body, 200);
  }
  return s;
}

void replace_all(std::string& text, const std::string& what, const std::string& with) {
  if (what.empty()) {
    return;
  }
  for (std::size_t p = 0; (p = text.find(what, p)) != std::string::npos; p += with.size()) {
    text.replace(p, what.size(), with);
  }
}

}  // namespace

Outcome classify(const http::Response& r) {
  if (r.failure != http::Failure::none) {
    return Outcome::retry;
  }
  if (r.status >= 200 && r.status < 300) {
    return Outcome::delivered;
  }
  if (r.status == 408 || r.status == 425 || r.status == 429 || r.status >= 500) {
    return Outcome::retry;
  }
  return Outcome::final;
}

std::optional<milliseconds> retry_after(const http::Response& r, WallTime now) {
  auto it = r.headers.find("retry-after");
  if (it == r.headers.end()) {
    return std::nullopt;
  }
  const std::string& v = it->second;
  char* end = nullptr;
  const long secs = std::strtol(v.c_str(), &end, 10);
  if (end != v.c_str() && *end == '\0' && secs >= 0) {
    return milliseconds(std::min<long>(secs, 24L * 3600) * 1000);
  }
  std::tm tm{};
  if (::strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) != nullptr) {
    const auto at = std::chrono::system_clock::from_time_t(::timegm(&tm));
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(at - now));
  }
  return std::nullopt;
}

Outbox::Outbox(Context ctx, GiveUp on_give_up) : ctx_(std::move(ctx)), on_give_up_(std::move(on_give_up)) {}

Outbox::~Outbox() { shutdown(); }

void Outbox::shutdown() {
  stopped_ = true;
  *alive_ = false;
  for (auto& [name, l] : lanes_) {
    l->in_flight.reset();
    l->retry.reset();
  }
  direct_.clear();
}

Outbox::Lane& Outbox::lane(const std::string& name) {
  auto& l = lanes_[name];
  if (!l) {
    l = std::make_unique<Lane>();
    l->name = name;
    l->stats.name = name;
  }
  return *l;
}

void Outbox::configure(const std::vector<config::NotifierConfig>& notifiers, Duration max_age) {
  max_age_ = max_age;
  for (auto& [name, l] : lanes_) {
    l->cfg.reset();
    l->notifier.reset();
  }
  for (const auto& c : notifiers) {
    auto& l = lane(c.name);
    l.cfg = c;
    l.notifier = make_notifier(c.type);
    l.stats.type = c.type;
    l.stats.target = redact_url(c.url);
  }
  for (auto& [name, l] : lanes_) {
    pump(*l);
  }
}

void Outbox::restore(const std::vector<state::OutboxRecord>& rows) {
  for (const auto& r : rows) {
    seq_ = std::max(seq_, r.seq);
    auto n = from_storage(r.payload);
    if (!n) {
      logger()->error("outbox id={} event=UNREADABLE error={}; dropped", r.id, log::quote(n.error()));
      ctx_.store.outbox_failed(r.id, r.attempts, "unreadable: " + n.error());
      continue;
    }
    auto& l = lane(r.notifier);
    l.queue.push_back({std::move(*n), r.attempts});
  }
  if (!rows.empty()) {
    logger()->info("outbox event=RESTORED pending={}", rows.size());
  }
  for (auto& [name, l] : lanes_) {
    pump(*l);
  }
}

void Outbox::enqueue(Notification n) {
  auto& l = lane(n.notifier);
  ++l.writing;
  state::OutboxRecord rec;
  rec.id = n.id;
  rec.seq = ++seq_;
  rec.notifier = n.notifier;
  rec.created_at = n.created_at;
  rec.payload = to_storage(n);
  ctx_.store.put_outbox(std::move(rec), [this, alive = alive_, n = std::move(n)](bool committed) mutable {
    if (!*alive) {
      return;  // written; the next start delivers it
    }
    if (!committed) {
      // Disk full or broken: delivering without durability beats not delivering.
      logger()->error("outbox id={} notifier={} event=NOT_DURABLE (state database write failed); delivering anyway",
                      n.id, n.notifier);
    }
    auto& ln = lane(n.notifier);
    --ln.writing;
    ln.queue.push_back({std::move(n), 0});
    pump(ln);
  });
}

http::Request Outbox::request_for(const Lane& l, const Notification& n) const {
  http::Request req;
  req.method = "POST";
  req.url = l.cfg->url;
  req.headers = l.cfg->headers;
  req.headers.try_emplace("Content-Type", "application/json");
  req.headers.try_emplace("User-Agent", ctx_.user_agent);
  req.body = l.notifier->render(n);
  req.timeout = std::chrono::duration_cast<milliseconds>(l.cfg->timeout);
  req.verify_tls = true;
  req.max_body = kMaxReplyBody;
  return req;
}

std::string Outbox::scrub(const Lane& l, std::string text) const {
  if (!l.cfg) {
    return text;
  }
  // Errors come from curl and from the receiver's reply: neither may carry the URL's userinfo,
  // path or query (Slack and Discord tokens live in the path) or a header value (Authorization),
  // whole or in parts, as servers echo them ("Cannot POST /hook/TOKEN", "invalid token TOKEN").
  const std::string& url = l.cfg->url;
  replace_all(text, url, redact_url(url));
  std::vector<std::string> parts;  // secret pieces, replaced longest first
  auto pieces = [&parts](const std::string& s, std::string_view separators) {
    for (std::size_t b = 0; b < s.size();) {
      const auto e = std::min(s.find_first_of(separators, b), s.size());
      if (e - b >= 6) {
        parts.push_back(s.substr(b, e - b));
      }
      b = e + 1;
    }
  };
  const auto scheme_end = url.find("://");
  if (scheme_end != std::string::npos) {
    const auto authority = scheme_end + 3;
    const auto path = std::min(url.find_first_of("/?#", authority), url.size());
    const auto at = url.rfind('@', path);
    if (at != std::string::npos && at >= authority) {
      pieces(url.substr(authority, at - authority), ":");
    }
    if (url.size() - path > 4) {
      replace_all(text, url.substr(path), "/***");
      pieces(url.substr(path), "/?&=#;");
    }
  }
  for (const auto& [k, v] : l.cfg->headers) {
    if (v.size() >= 4) {
      replace_all(text, v, "***");
    }
    pieces(v, " \t,;=");
  }
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& p : parts) {
    replace_all(text, p, "***");
  }
  return text;
}

void Outbox::pump(Lane& l) {
  if (stopped_ || l.in_flight || l.retry || l.queue.empty()) {
    return;
  }
  if (!l.cfg || !l.notifier) {
    // Removed by a reload (or never configured: rows of a previous configuration).
    while (!l.queue.empty()) {
      give_up(l, "notifier '" + l.name + "' is not configured");
    }
    return;
  }
  auto& item = l.queue.front();
  ++item.attempts;
  l.next_attempt.reset();
  l.in_flight = ctx_.http.send(request_for(l, item.n), [this, alive = alive_, name = l.name](http::Response resp) {
    if (*alive) {
      on_response(name, std::move(resp));
    }
  });
}

void Outbox::on_response(const std::string& lane_name, http::Response resp) {
  auto& l = lane(lane_name);
  l.in_flight.reset();
  if (l.queue.empty()) {
    return;
  }
  auto& item = l.queue.front();
  const auto now = ctx_.clock.now();
  const auto outcome = classify(resp);
  if (outcome == Outcome::delivered) {
    logger()->info("notifier={} target={} id={} event=SENT status={} attempts={} latency_ms={} alert={}/{}/{} ({})",
                   l.name, l.stats.target, item.n.id, resp.status, item.attempts, resp.latency.count(), item.n.kind,
                   item.n.name, item.n.event, item.n.reason);
    ctx_.store.outbox_sent(item.n.id);
    ++l.stats.sent;
    l.stats.last_sent = now;
    l.backoff = milliseconds(0);
    l.queue.pop_front();
    pump(l);
    return;
  }
  const std::string error = scrub(l, describe(resp));
  l.stats.last_error = error;
  if (outcome == Outcome::final) {
    give_up(l, error + " (not retried: the receiver rejected the request)");
    pump(l);
    return;
  }
  const auto age = now - item.n.created_at;
  if (age >= max_age_) {
    give_up(l, error + " (still failing after " + format_duration(std::chrono::duration_cast<milliseconds>(age)) +
                   ", delivery.max_age " + format_duration(max_age_) + ")");
    pump(l);
    return;
  }
  l.backoff = l.backoff.count() == 0 ? kFirstBackoff : std::min(kMaxBackoff, l.backoff * 2);
  milliseconds delay = l.backoff;
  if (auto ra = retry_after(resp, now)) {
    delay = std::max(*ra, milliseconds(100));
  }
  // One last attempt at the deadline rather than a wait past it.
  const auto left = std::chrono::duration_cast<milliseconds>(max_age_ - age);
  delay = std::min(delay, left);
  ++l.stats.retries;
  l.next_attempt = now + delay;
  ctx_.store.outbox_attempted(item.n.id, item.attempts, error);
  logger()->warn("notifier={} target={} id={} event=RETRY attempts={} error={} next_in={}", l.name, l.stats.target,
                 item.n.id, item.attempts, log::quote(error), format_duration(delay));
  l.retry = ctx_.clock.call_after(delay, [this, alive = alive_, name = l.name] {
    if (!*alive) {
      return;
    }
    auto& ln = lane(name);
    ln.retry.reset();
    pump(ln);
  });
}

void Outbox::give_up(Lane& l, const std::string& error) {
  auto item = std::move(l.queue.front());
  l.queue.pop_front();
  ++given_up_;
  ++l.stats.given_up;
  l.stats.last_error = error;
  l.backoff = milliseconds(0);
  ctx_.store.outbox_failed(item.n.id, item.attempts, error);
  logger()->error("notifier={} target={} id={} event=GAVE_UP attempts={} alert={}/{}/{} error={}", l.name,
                  l.stats.target, item.n.id, item.attempts, item.n.kind, item.n.name, item.n.event, log::quote(error));
  if (on_give_up_) {
    on_give_up_(item.n, error);
  }
}

void Outbox::send_now(const Notification& n, std::function<void(bool, std::string)> done) {
  auto it = lanes_.find(n.notifier);
  if (it == lanes_.end() || !it->second->cfg) {
    done(false, "no notifier named '" + n.notifier + "'");
    return;
  }
  const auto& l = *it->second;
  const int key = ++next_direct_;
  direct_[key] = ctx_.http.send(request_for(l, n), [this, alive = alive_, key, name = l.name,
                                                    done = std::move(done)](http::Response resp) mutable {
    if (!*alive) {
      return;
    }
    direct_.erase(key);
    const auto& ln = lane(name);
    if (classify(resp) == Outcome::delivered) {
      done(true, "delivered to " + name + " (" + ln.stats.target + "): HTTP " + std::to_string(resp.status) + " in " +
                     std::to_string(resp.latency.count()) + " ms");
    } else {
      done(false, "delivery to " + name + " (" + ln.stats.target + ") failed: " + scrub(ln, describe(resp)));
    }
  });
}

std::size_t Outbox::in_flight() const {
  std::size_t n = 0;
  for (const auto& [name, l] : lanes_) {
    n += l->writing + (l->in_flight ? 1 : 0) + (!l->retry && !l->in_flight && l->cfg ? l->queue.size() : 0);
  }
  return n;
}

std::vector<LaneStatus> Outbox::status() const {
  std::vector<LaneStatus> out;
  for (const auto& [name, l] : lanes_) {
    auto s = l->stats;
    s.pending = l->queue.size() + l->writing;
    s.next_attempt = l->next_attempt;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tend::alerts
