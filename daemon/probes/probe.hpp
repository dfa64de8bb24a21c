#pragma once
// One HTTP probe at run time: its interval timer, the request in flight, the up/down state
// machine with thresholds, TLS expiry warnings, and the remedy with verification ("settle") and
// a circuit breaker.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "entries/entry.hpp"
#include "entries/kind.hpp"
#include "entries/services.hpp"
#include "events/event.hpp"
#include "http/client.hpp"
#include "metrics/exposition.hpp"
#include "probes/config.hpp"
#include "probes/evaluate.hpp"
#include "remedies/remedy.hpp"
#include "state/store.hpp"
#include "util/clock.hpp"
#include "util/spread.hpp"

namespace tend::probes {

/// What probes need from the daemon; every member is a seam.
struct Context {
  Clock& clock;
  http::Client& http;
  state::Store& store;
  events::Bus& bus;
  std::function<std::int64_t()> next_run_id;
  /// Builds a probe's remedy (remedies::make_remedy in the daemon).
  std::function<std::unique_ptr<remedies::Remedy>(const remedies::RemedyConfig&)> make_remedy;
  /// Phases of the probes over their interval; unset: each probe's grid goes through its first
  /// request.
  Spread* spread = nullptr;

  /// The probes' part of the daemon's services.
  static Context from(entries::Services& s);
};

enum class State { unknown, up, down };
const char* to_string(State s);

struct Status {
  State state = State::unknown;
  bool paused = false;
  std::optional<WallTime> paused_until;
  std::optional<WallTime> last_run;
  std::optional<WallTime> next_run;
  std::string last_result;  // up | down | ""
  std::string reason;
  std::int64_t latency_ms = -1;
  int consecutive_failures = 0;
  int restarts_in_window = 0;
  bool breaker_open = false;
  std::optional<WallTime> cert_expiry;
};

class Probe : public entries::Entry {
 public:
  Probe(Context ctx, std::shared_ptr<const ProbeConfig> cfg);
  ~Probe() override;
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // entries::Entry
  [[nodiscard]] const config::EntrySettings& settings() const override { return *cfg_; }
  /// Restore the last state seen, plan the first probe: soon (within 5 s, so status is known
  /// early), then on a grid whose phase spreads the probes over their whole interval.
  int start(const entries::Saved& saved) override;
  void update(const config::EntryConfig& cfg) override { update(cfg.shared<ProbeConfig>()); }
  /// Stop probing (removed, or shutdown); a request in flight is cancelled.
  void retire() override;
  [[nodiscard]] boost::json::object status_entry() const override;
  /// Probes report uptime rather than runs.
  [[nodiscard]] std::string digest_line(const state::EntrySummary& s) const override;
  /// tend_probe_*: up, latency, results, failures in a row, restarts, restart limit, cert expiry.
  void metrics(metrics::Collector& c) const override;

  /// New configuration (reload changed it): keep state, re-plan.
  void update(std::shared_ptr<const ProbeConfig> cfg);
  [[nodiscard]] Status status() const;
  [[nodiscard]] const ProbeConfig& config() const { return *cfg_; }

 private:
  void place();
  [[nodiscard]] MonoTime grid_after(MonoTime t) const;
  void schedule_next();
  void fire();
  void on_response(const http::Response& resp);
  void judge(const Verdict& v, const http::Response& resp);
  void check_certificate(const http::Response& resp);
  void maybe_restart();
  void on_remedy_done(const remedies::Outcome& outcome);
  void verify();
  void on_verified(bool up, const std::string& reason);
  void record_restart(const std::string& outcome, const std::string& reason, const std::string& output,
                      std::chrono::milliseconds duration);
  void record_result(const http::Response& resp, const Verdict& verdict, WallTime now);
  void publish(const events::EventType& type, events::Status status, std::string summary, std::string detail);
  void prune_restarts();
  [[nodiscard]] http::Request request() const;

  Context ctx_;
  std::shared_ptr<const ProbeConfig> cfg_;  // shared with the loaded config: not a copy per entry
  std::shared_ptr<BodyRegex> regex_;
  std::unique_ptr<remedies::Remedy> remedy_;
  std::unique_ptr<TimerHandle> timer_;
  std::unique_ptr<TimerHandle> remedy_timer_;  // settle wait, breaker cooldown
  std::unique_ptr<http::Handle> in_flight_;
  MonoTime next_at_{};
  Duration phase_{0};  // the grid: phase_ + k * interval on the monotonic clock
  bool retired_ = false;
  // The last result written to history (see record_result).
  std::string recorded_result_;
  std::string recorded_reason_;
  std::optional<MonoTime> recorded_at_;
  static constexpr std::chrono::seconds kHistorySample{60};

  State state_ = State::unknown;
  int failures_ = 0;   // consecutive
  int successes_ = 0;  // consecutive
  std::string last_result_;
  std::string reason_;
  std::int64_t latency_ms_ = -1;
  std::optional<WallTime> last_run_;
  std::optional<WallTime> cert_expiry_;
  bool cert_warning_ = false;

  // Remedy: restarting_ while the remedy runs, verifying_ during settle; restarts_ are the
  // monotonic times of restarts in the window; breaker_ while past max_restarts.
  bool restarting_ = false;
  bool verifying_ = false;
  bool breaker_ = false;
  // Oldest first, at most max_restarts. Not a deque: libstdc++'s allocates 576 bytes before its
  // first element, in every probe (issue 14).
  std::vector<MonoTime> restarts_;
  WallTime restart_started_{};
  std::string restart_detail_;
  std::string restart_output_;

  // Since the daemon started (Prometheus counters start at zero with the process).
  std::uint64_t results_up_ = 0;
  std::uint64_t results_down_ = 0;
  std::uint64_t restarts_ok_ = 0;
  std::uint64_t restarts_failed_ = 0;
  metrics::Histogram latency_{metrics::latency_buckets()};  // answered requests only
};

/// The kind "probe" as registered (daemon/plugins/).
const entries::KindSpec& kind();

}  // namespace tend::probes
