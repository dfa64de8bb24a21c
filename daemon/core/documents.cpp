#include "core/documents.hpp"

#include <cmath>

#include "util/redact.hpp"

namespace tend::core {
namespace {

boost::json::value time_or_null(const std::optional<WallTime>& t) {
  if (!t) {
    return nullptr;
  }
  return boost::json::value(format_iso8601(*t));
}

/// The fields every status entry starts with (SPEC: kind, name, state, paused, silenced_until;
/// the daemon fills silenced_until, which alerting owns).
boost::json::object entry_head(const char* kind, const std::string& name, const char* state, bool paused,
                               const std::optional<WallTime>& paused_until) {
  boost::json::object o;
  o["kind"] = kind;
  o["name"] = name;
  o["state"] = state;
  o["paused"] = paused;
  o["paused_until"] = paused ? time_or_null(paused_until) : boost::json::value(nullptr);
  o["silenced_until"] = nullptr;
  return o;
}

}  // namespace

boost::json::object run_to_json(const state::RunRecord& r) {
  boost::json::object o;
  o["run_id"] = r.run_id;
  o["attempt"] = r.attempt;
  o["started_at"] = format_iso8601(r.started_at);
  o["ended_at"] = time_or_null(r.ended_at);
  o["duration_ms"] = r.duration_ms;
  o["outcome"] = r.outcome;
  o["exit_code"] = r.exit_code ? boost::json::value(*r.exit_code) : boost::json::value(nullptr);
  o["signal"] = r.signal ? boost::json::value(*r.signal) : boost::json::value(nullptr);
  o["reason"] = r.reason;
  return o;
}

boost::json::object job_entry(const jobs::Job& job) {
  const auto s = job.status();
  auto o = entry_head("job", job.config().name, s.running ? "running" : "idle", s.paused, s.paused_until);
  o["last_result"] = s.last ? boost::json::value(s.last->outcome) : boost::json::value(nullptr);
  o["last_reason"] = s.last ? boost::json::value(s.last->reason) : boost::json::value(nullptr);
  o["last_run"] = s.last ? time_or_null(s.last->started_at) : boost::json::value(nullptr);
  o["last_duration_ms"] = s.last ? boost::json::value(s.last->duration_ms) : boost::json::value(nullptr);
  o["next_run"] = time_or_null(s.next_run);
  o["consecutive_failures"] = s.consecutive_failures;
  o["running"] = s.running;
  o["runs_in_progress"] = s.running_count;
  o["schedule"] = job.config().schedule.text;
  return o;
}

boost::json::object probe_entry(const probes::Probe& probe) {
  const auto s = probe.status();
  auto o = entry_head("probe", probe.config().name, probes::to_string(s.state), s.paused, s.paused_until);
  o["last_result"] = s.last_result.empty() ? boost::json::value(nullptr) : boost::json::value(s.last_result);
  o["last_run"] = time_or_null(s.last_run);
  o["next_run"] = s.paused ? boost::json::value(nullptr) : time_or_null(s.next_run);
  o["consecutive_failures"] = s.consecutive_failures;
  o["latency_ms"] = s.latency_ms >= 0 ? boost::json::value(s.latency_ms) : boost::json::value(nullptr);
  o["reason"] = s.reason;
  o["restarts_in_window"] = s.restarts_in_window;
  o["restart_limit"] = s.breaker_open;
  o["cert_expires_at"] = time_or_null(s.cert_expiry);
  o["url"] = redact_url(probe.config().url);
  return o;
}

boost::json::object watch_entry(const watches::Watch& watch) {
  const auto s = watch.status();
  const auto& cfg = watch.config();
  auto o = entry_head("watch", cfg.name, watches::to_string(s.state), s.paused, s.paused_until);
  o["last_result"] = s.last_evaluated ? boost::json::value(watches::to_string(s.state)) : boost::json::value(nullptr);
  o["last_reason"] = s.summary;
  o["last_run"] = time_or_null(s.last_evaluated);
  o["next_run"] = nullptr;
  o["consecutive_failures"] = 0;
  o["rate"] = std::round(s.rate * 100) / 100;  // percent, two decimals
  o["requests"] = s.requests;
  o["errors"] = s.errors;
  o["unparsed"] = s.unparsed;
  o["lines"] = s.lines;
  o["total_requests"] = s.total_requests;
  o["state_since"] = time_or_null(s.state_since);
  o["file"] = cfg.file;
  o["format"] = cfg.format == config::LogFormat::json ? "json" : "combined";
  o["window"] = format_duration(cfg.window);
  o["min_requests"] = cfg.min_requests;
  o["warning"] = cfg.warning;
  o["critical"] = cfg.critical;
  o["following"] = s.file.open;
  o["offset"] = s.file.offset;
  o["inode"] = s.file.inode;
  o["rotations"] = s.file.rotations;
  o["truncations"] = s.file.truncations;
  o["inotify"] = s.file.inotify;
  o["follow_error"] = s.file.error.empty() ? boost::json::value(nullptr) : boost::json::value(s.file.error);
  return o;
}

boost::json::object check_entry(const checks::Check& check) {
  const auto s = check.status();
  const auto& cfg = check.config();
  auto o = entry_head("check", cfg.name, checks::to_string(s.state), s.paused, s.paused_until);
  o["last_result"] = s.last ? boost::json::value(s.last->outcome) : boost::json::value(nullptr);
  o["last_reason"] = !s.reason.empty() ? boost::json::value(s.reason)
                     : s.last          ? boost::json::value(s.last->reason)
                                       : boost::json::value(nullptr);
  o["last_run"] = s.last ? time_or_null(s.last->started_at) : boost::json::value(nullptr);
  o["last_duration_ms"] = s.last ? boost::json::value(s.last->duration_ms) : boost::json::value(nullptr);
  o["last_exit_code"] =
      s.last && s.last->exit_code ? boost::json::value(*s.last->exit_code) : boost::json::value(nullptr);
  o["next_run"] = time_or_null(s.expected);
  o["deadline"] = time_or_null(s.deadline);
  o["last_success"] = time_or_null(s.last_success);
  o["running"] = s.running_since.has_value();
  o["running_since"] = time_or_null(s.running_since);
  o["consecutive_failures"] = s.consecutive_failures;
  o["schedule"] = cfg.schedule ? cfg.schedule->text : "every " + format_duration(cfg.every.value_or(Duration(0)));
  o["grace"] = format_duration(cfg.grace);
  return o;
}

}  // namespace tend::core
