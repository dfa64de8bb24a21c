#include "core/documents.hpp"

namespace tend::core {
namespace {

boost::json::value time_or_null(const std::optional<WallTime>& t) {
  if (!t) {
    return nullptr;
  }
  return boost::json::value(format_iso8601(*t));
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
  boost::json::object o;
  o["kind"] = "job";
  o["name"] = job.config().name;
  o["state"] = s.running ? "running" : "idle";
  o["paused"] = s.paused;
  o["paused_until"] = s.paused ? time_or_null(s.paused_until) : boost::json::value(nullptr);
  o["silenced_until"] = nullptr;
  o["last_result"] = s.last ? boost::json::value(s.last->outcome) : boost::json::value(nullptr);
  o["last_reason"] = s.last ? boost::json::value(s.last->reason) : boost::json::value(nullptr);
  o["last_run"] = s.last ? time_or_null(s.last->started_at) : boost::json::value(nullptr);
  o["last_duration_ms"] = s.last ? boost::json::value(s.last->duration_ms) : boost::json::value(nullptr);
  o["next_run"] = time_or_null(s.next_run);
  o["consecutive_failures"] = s.consecutive_failures;
  o["running"] = s.running_count;
  o["schedule"] = job.config().schedule.text;
  return o;
}

}  // namespace tend::core
