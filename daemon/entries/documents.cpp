#include "entries/documents.hpp"

#include "util/duration.hpp"

namespace tend::entries {

boost::json::value time_or_null(const std::optional<WallTime>& t) {
  if (!t) {
    return nullptr;
  }
  return boost::json::value(format_iso8601(*t));
}

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

std::string default_digest_line(std::string_view kind, const state::EntrySummary& r) {
  using std::chrono::milliseconds;
  std::string line = std::string(kind) + " " + r.entry + ": " + std::to_string(r.runs) + " run(s), " +
                     std::to_string(r.failures) + " failed";
  if (r.runs > 0) {
    line += ", avg " + format_duration(milliseconds(r.total_ms / r.runs)) + ", max " +
            format_duration(milliseconds(r.max_ms));
  }
  line += ", last success " + (r.last_success ? format_iso8601(*r.last_success) : std::string("never"));
  return line;
}

}  // namespace tend::entries
