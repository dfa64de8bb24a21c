// The alerting engine's series (declared in engine.hpp).

#include <array>
#include <chrono>

#include "alerts/engine.hpp"
#include "alerts/heartbeat.hpp"
#include "events/severity.hpp"
#include "metrics/exposition.hpp"

namespace tend::alerts {

void Engine::metrics(metrics::Collector& c) const {
  using metrics::Type;
  const auto now = ctx_.clock.now();
  std::array<std::uint64_t, events::kSeverities.size()> firing{};
  std::uint64_t silenced = 0;
  std::uint64_t inhibited = 0;
  for (const auto& [key, a] : lifecycle_.alerts()) {
    if (a->instant) {
      continue;  // a moment, not a condition that fires
    }
    for (std::size_t i = 0; i < events::kSeverities.size(); ++i) {
      if (events::kSeverities[i].second == a->severity) {
        ++firing[i];
      }
    }
    silenced += silences_.muted(a->name, now) ? 1 : 0;
    inhibited += a->inhibited ? 1 : 0;
  }
  auto& f = c.family("tend_alerts_firing", "Alerts firing now, by severity.", Type::gauge, {"severity"});
  for (std::size_t i = 0; i < events::kSeverities.size(); ++i) {
    f.sample({events::kSeverities[i].first}, firing[i]);
  }
  c.family("tend_alerts_silenced", "Firing alerts whose notifications a silence holds back.", Type::gauge)
      .sample({}, silenced);
  c.family("tend_alerts_inhibited", "Firing alerts held back by an inhibit rule.", Type::gauge).sample({}, inhibited);
  std::uint64_t silences = 0;
  for (const auto& [target, s] : silences_.all()) {
    silences += s.until > now ? 1 : 0;
  }
  c.family("tend_silences_active", "Silences in force.", Type::gauge).sample({}, silences);

  const auto lanes = outbox_.status();
  auto& sent = c.family("tend_notifications_total",
                        "Delivery attempts by notifier and result: sent, retried (failed, will retry), given_up (past "
                        "delivery.max_age); since tendd started.",
                        Type::counter, {"notifier", "result"});
  for (const auto& l : lanes) {
    sent.sample({l.name, "sent"}, l.sent);
    sent.sample({l.name, "retried"}, l.retries);
    sent.sample({l.name, "given_up"}, l.given_up);
  }
  auto& pending = c.family("tend_outbox_pending", "Notifications waiting in the outbox.", Type::gauge, {"notifier"});
  for (const auto& l : lanes) {
    pending.sample({l.name}, l.pending);
  }
  auto& oldest = c.family("tend_outbox_oldest_age_seconds", "Age of the oldest notification waiting (0 when none).",
                          Type::gauge, {"notifier"});
  for (const auto& l : lanes) {
    oldest.sample({l.name}, l.oldest ? std::chrono::duration<double>(now - *l.oldest).count() : 0.0);
  }
  c.family("tend_notifications_given_up_total", "Notifications given up (past delivery.max_age), since tendd started.",
           Type::counter)
      .sample({}, outbox_.given_up());
}

void Heartbeat::metrics(metrics::Collector& c) const {
  if (!cfg_) {
    return;
  }
  auto& pings = c.family("tend_heartbeat_pings_total", "Heartbeat pings by result, since tendd started.",
                         metrics::Type::counter, {"result"});
  pings.sample({"success"}, sent_);
  pings.sample({"failure"}, failed_);
  if (last_ok_) {
    c.family("tend_heartbeat_last_success_timestamp_seconds", "When a heartbeat ping last succeeded.",
             metrics::Type::gauge)
        .sample({}, metrics::unix_seconds(*last_ok_));
  }
}

}  // namespace tend::alerts
