#include "alerts/outbox.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <string_view>
#include <vector>

#include "http/url.hpp"
#include "util/log.hpp"

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

Outbox::Outbox(Context ctx, GiveUp on_give_up, Flushed on_flushed)
    : ctx_(std::move(ctx)), on_give_up_(std::move(on_give_up)), on_flushed_(std::move(on_flushed)) {}

Outbox::~Outbox() { shutdown(); }

void Outbox::shutdown() {
  stopped_ = true;
  lifetime_.renew();  // replies and timers of before the stop do nothing
  for (auto& [name, l] : lanes_) {
    l->in_flight.reset();
    l->retry.reset();
    l->wake.reset();
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
    l.notifier = make_notifier(c);
    l.stats.type = c.type;
    l.stats.target = http::redact_url(c.url);
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
    push(l, {std::move(*n), r.attempts});
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
  // Once stopped, a write that commits is simply there for the next start to deliver.
  ctx_.store.put_outbox(std::move(rec), lifetime_.guard([this, n = std::move(n)](bool committed) mutable {
    if (!committed) {
      // Disk full or broken: delivering without durability beats not delivering.
      logger()->error("outbox id={} notifier={} event=NOT_DURABLE (state database write failed); delivering anyway",
                      n.id, n.notifier);
    }
    auto& ln = lane(n.notifier);
    --ln.writing;
    push(ln, {std::move(n), 0});
    pump(ln);
  }));
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

http::Request Outbox::request_for(const Lane& l) const {
  if (l.batch.size() == 1) {
    return request_for(l, l.batch.front().n);  // a group of one is sent as a single alert
  }
  GroupMessage g;
  g.id = l.batch_id;
  g.key = l.batch.front().n.group_key;
  for (const auto& item : l.batch) {
    g.members.push_back(item.n);
  }
  auto req = request_for(l, l.batch.front().n);
  req.body = l.notifier->render_group(g);
  return req;
}

std::string Outbox::scrub(const Lane& l, std::string text) const {
  if (!l.cfg) {
    return text;
  }
  // Errors come from curl and from the receiver's reply: neither may carry the URL's secrets
  // (Slack and Discord tokens live in the path), a header value (Authorization) or a secret of
  // the notifier's own (a routing key), whole or in parts, as servers echo them.
  if (auto url = http::Url::parse(l.cfg->url)) {
    text = url->scrub(std::move(text));
  }
  std::vector<std::string> secrets;
  for (const auto& [k, v] : l.cfg->headers) {
    secrets.push_back(v);
  }
  if (l.notifier) {
    for (auto& s : l.notifier->secrets()) {
      secrets.push_back(std::move(s));
    }
  }
  std::vector<std::string> parts;  // secret pieces, replaced longest first
  for (const auto& v : secrets) {
    if (v.size() >= 4) {
      parts.push_back(v);
    }
    for (std::size_t b = 0; b < v.size();) {
      const auto e = std::min(v.find_first_of(" \t,;=", b), v.size());
      if (e - b >= 6) {
        parts.push_back(v.substr(b, e - b));
      }
      b = e + 1;
    }
  }
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const auto& p : parts) {
    replace_all(text, p, "***");
  }
  return text;
}

void Outbox::pump(Lane& l) {
  if (stopped_ || l.in_flight || l.retry) {
    return;
  }
  if (!l.cfg || !l.notifier) {
    // Removed by a reload (or never configured: rows of a previous configuration).
    while (!l.batch.empty() || !l.queue.empty()) {
      if (l.batch.empty()) {
        l.batch.push_back(std::move(l.queue.front()));
        l.queue.pop_front();
      }
      give_up(l, "notifier '" + l.name + "' is not configured");
    }
    return;
  }
  if (l.batch.empty() && !form_batch(l)) {
    return;
  }
  for (auto& item : l.batch) {
    ++item.attempts;
  }
  l.next_attempt.reset();
  l.in_flight = ctx_.http.send(request_for(l), lifetime_.guard([this, name = l.name](http::Response resp) {
    on_response(name, std::move(resp));
  }));
}

void Outbox::push(Lane& l, Item item) {
  // Due at once (no not_before): the queue is no longer quiet.
  const WallTime at = item.n.not_before.value_or(WallTime::min());
  if (l.queue.empty() || (l.quiet_until && at < *l.quiet_until)) {
    l.quiet_until = at;
  }
  l.queue.push_back(std::move(item));
}

bool Outbox::form_batch(Lane& l) {
  const auto now = ctx_.clock.now();
  if (l.queue.empty()) {
    l.wake.reset();
    return false;
  }
  auto due = [&](const Item& item) { return !item.n.not_before || *item.n.not_before <= now; };
  const auto arm = [&](WallTime at) {
    // Rounded up: a timer that fires before `at` finds nothing due and would go round again.
    const auto in = std::chrono::ceil<milliseconds>(std::max(at - now, WallTime::duration::zero()));
    l.wake_at = at;
    l.wake = ctx_.clock.call_after(in, lifetime_.guard([this, name = l.name] { pump(lane(name)); }));
  };
  if (l.quiet_until && *l.quiet_until > now) {
    if (!l.wake || *l.quiet_until < l.wake_at) {
      arm(*l.quiet_until);  // a member that arrived wants an earlier flush than the one armed
    }
    return false;  // only group members waiting for their group_wait / group_interval
  }
  l.wake.reset();
  const auto first = std::find_if(l.queue.begin(), l.queue.end(), due);
  if (first == l.queue.end()) {
    std::optional<WallTime> earliest;
    for (const auto& item : l.queue) {
      earliest = earliest ? std::min(*earliest, *item.n.not_before) : item.n.not_before;
    }
    l.quiet_until = earliest;
    if (earliest) {
      arm(*earliest);
    }
    return false;
  }
  const std::string key = first->n.group_key;
  if (key.empty() && first == l.queue.begin()) {
    // A single notification at the head (the usual case): no pass over the queue.
    l.batch.push_back(std::move(l.queue.front()));
    l.queue.pop_front();
  } else {
    std::deque<Item> rest;
    bool taken_first = false;
    std::optional<WallTime> quiet;
    for (auto it = l.queue.begin(); it != l.queue.end(); ++it) {
      const bool take = it == first || (!key.empty() && taken_first && it->n.group_key == key && due(*it));
      if (it == first) {
        taken_first = true;
      }
      if (take) {
        l.batch.push_back(std::move(*it));
      } else {
        const WallTime at = it->n.not_before.value_or(WallTime::min());
        quiet = quiet ? std::min(*quiet, at) : at;
        rest.push_back(std::move(*it));
      }
    }
    // Members of the group queued before the first due one are due too (their not_before is the
    // same flush), so nothing of the group is left behind out of order.
    l.queue = std::move(rest);
    l.quiet_until = quiet;
    l.wake.reset();
  }
  if (l.queue.empty()) {
    l.quiet_until.reset();
  }
  std::vector<Notification> members;
  for (const auto& item : l.batch) {
    members.push_back(item.n);
  }
  l.batch_id = l.batch.size() == 1 ? l.batch.front().n.id : group_id(members);
  return true;
}

void Outbox::on_response(const std::string& lane_name, http::Response resp) {
  auto& l = lane(lane_name);
  l.in_flight.reset();
  if (l.batch.empty()) {
    return;
  }
  const auto& head = l.batch.front();
  const auto now = ctx_.clock.now();
  const auto outcome = classify(resp);
  if (outcome == Outcome::delivered) {
    logger()->info(
        "notifier={} target={} id={} event=SENT status={} attempts={} latency_ms={} alert={}/{}/{} ({}) members={}",
        l.name, l.stats.target, l.batch_id, resp.status, head.attempts, resp.latency.count(), head.n.kind, head.n.name,
        head.n.event, head.n.reason, l.batch.size());
    for (const auto& item : l.batch) {
      ctx_.store.outbox_sent(item.n.id);
    }
    l.stats.sent += l.batch.size();
    l.stats.last_sent = now;
    l.backoff = milliseconds(0);
    const std::string key = head.n.group_key;
    l.batch.clear();
    l.batch_id.clear();
    if (!key.empty() && on_flushed_) {
      on_flushed_(l.name, key, now);
    }
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
  WallTime oldest = head.n.created_at;
  for (const auto& item : l.batch) {
    oldest = std::min(oldest, item.n.created_at);
  }
  const auto age = now - oldest;
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
  for (const auto& item : l.batch) {
    ctx_.store.outbox_attempted(item.n.id, item.attempts, error);
  }
  logger()->warn("notifier={} target={} id={} event=RETRY attempts={} error={} next_in={}", l.name, l.stats.target,
                 l.batch_id, head.attempts, log::quote(error), format_duration(delay));
  l.retry = ctx_.clock.call_after(delay, lifetime_.guard([this, name = l.name] {
    auto& ln = lane(name);
    ln.retry.reset();
    pump(ln);
  }));
}

void Outbox::give_up(Lane& l, const std::string& error) {
  auto batch = std::move(l.batch);
  l.batch.clear();
  l.batch_id.clear();
  l.stats.last_error = error;
  l.backoff = milliseconds(0);
  for (auto& item : batch) {
    ++given_up_;
    ++l.stats.given_up;
    ctx_.store.outbox_failed(item.n.id, item.attempts, error);
    logger()->error("notifier={} target={} id={} event=GAVE_UP attempts={} alert={}/{}/{} error={}", l.name,
                    l.stats.target, item.n.id, item.attempts, item.n.kind, item.n.name, item.n.event,
                    log::quote(error));
    if (on_give_up_) {
      on_give_up_(item.n, error);
    }
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
  direct_[key] = ctx_.http.send(
      request_for(l, n),
      lifetime_.guard([this, key, name = l.name, done = std::move(done)](http::Response resp) mutable {
        direct_.erase(key);
        const auto& ln = lane(name);
        if (classify(resp) == Outcome::delivered) {
          done(true, "delivered to " + name + " (" + ln.stats.target + "): HTTP " + std::to_string(resp.status) +
                         " in " + std::to_string(resp.latency.count()) + " ms");
        } else {
          done(false, "delivery to " + name + " (" + ln.stats.target + ") failed: " + scrub(ln, describe(resp)));
        }
      }));
}

std::size_t Outbox::in_flight() const {
  std::size_t n = 0;
  const auto now = ctx_.clock.now();
  for (const auto& [name, l] : lanes_) {
    // Waiting for a retry or for their group's time does not count: they are durable.
    const auto due = static_cast<std::size_t>(std::count_if(
        l->queue.begin(), l->queue.end(), [&](const Item& i) { return !i.n.not_before || *i.n.not_before <= now; }));
    n += l->writing + (l->in_flight ? l->batch.size() : 0) + (!l->retry && !l->in_flight && l->cfg ? due : 0);
  }
  return n;
}

std::vector<LaneStatus> Outbox::status() const {
  std::vector<LaneStatus> out;
  for (const auto& [name, l] : lanes_) {
    auto s = l->stats;
    s.pending = l->queue.size() + l->batch.size() + l->writing;
    s.next_attempt = l->next_attempt;
    for (const auto& item : l->batch) {
      s.oldest = s.oldest ? std::min(*s.oldest, item.n.created_at) : item.n.created_at;
    }
    for (const auto& item : l->queue) {
      s.oldest = s.oldest ? std::min(*s.oldest, item.n.created_at) : item.n.created_at;
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace tend::alerts
