#include "alerts/heartbeat.hpp"

#include <algorithm>

#include "http/url.hpp"
#include "util/log.hpp"

namespace tend::alerts {

namespace {
std::shared_ptr<spdlog::logger> logger() { return log::get("alerts"); }
}  // namespace

Heartbeat::Heartbeat(Clock& clock, http::Client& http) : clock_(clock), http_(http) {}

Heartbeat::~Heartbeat() { stop(); }

void Heartbeat::stop() {
  timer_.reset();
  in_flight_.reset();
}

void Heartbeat::configure(const std::optional<config::HeartbeatConfig>& cfg) {
  if (cfg == cfg_) {
    return;
  }
  stop();
  cfg_ = cfg;
  if (!cfg_) {
    return;
  }
  logger()->info("heartbeat target={} interval={} event=CONFIGURED", http::redact_url(cfg_->url),
                 format_duration(cfg_->interval));
  next_ = clock_.mono_now();
  ping();
}

void Heartbeat::ping() {
  next_ += std::chrono::duration_cast<MonoTime::duration>(cfg_->interval);
  http::Request req;
  req.method = "GET";
  req.url = cfg_->url;
  // Never longer than the interval (pings must not pile up), never longer than 10 s.
  req.timeout = std::min(std::chrono::duration_cast<std::chrono::milliseconds>(cfg_->interval),
                         std::chrono::milliseconds(10'000));
  req.max_body = 4096;
  req.headers["User-Agent"] = "tend";
  in_flight_ = http_.send(std::move(req), [this](http::Response r) {
    in_flight_.reset();
    const bool ok = r.failure == http::Failure::none && r.status >= 200 && r.status < 300;
    if (ok) {
      ++sent_;
      last_ok_ = clock_.now();
      if (failing_) {
        logger()->info("heartbeat target={} event=OK again", http::redact_url(cfg_->url));
      }
      failing_ = false;
      last_error_.clear();
    } else {
      ++failed_;
      last_error_ = r.failure != http::Failure::none ? r.error : "HTTP " + std::to_string(r.status);
      if (!failing_) {
        logger()->warn("heartbeat target={} event=FAILED error={}", http::redact_url(cfg_->url),
                       log::quote(last_error_));
      }
      failing_ = true;
    }
    schedule();
  });
}

void Heartbeat::schedule() {
  // Fixed rate on the monotonic clock; a ping that overran the tick goes out at once.
  const auto now = clock_.mono_now();
  if (next_ < now) {
    next_ = now;
  }
  timer_ = clock_.call_at(next_, [this] {
    timer_.reset();
    ping();
  });
}

boost::json::object Heartbeat::status() const {
  if (!cfg_) {
    return {{"enabled", false}};
  }
  return {{"enabled", true},
          {"target", http::redact_url(cfg_->url)},
          {"interval", format_duration(cfg_->interval)},
          {"sent", sent_},
          {"failed", failed_},
          {"last_ok", last_ok_ ? boost::json::value(format_iso8601(*last_ok_)) : boost::json::value(nullptr)},
          {"last_error", last_error_.empty() ? boost::json::value(nullptr) : boost::json::value(last_error_)}};
}

}  // namespace tend::alerts
