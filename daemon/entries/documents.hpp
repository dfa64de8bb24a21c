#pragma once
// Pieces of SPEC's "Status and history documents" that every kind's status entry and the history
// command share.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "state/store.hpp"
#include "util/time.hpp"

namespace tend::entries {

/// An ISO-8601 UTC time, or null.
boost::json::value time_or_null(const std::optional<WallTime>& t);

/// One record of `history --json`: run_id, attempt, started_at, ended_at, duration_ms, outcome,
/// exit_code, signal, reason.
boost::json::object run_to_json(const state::RunRecord& r);

/// The digest line of an entry with runs: "job backup: 3 run(s), 1 failed, avg 2s, max 5s, last
/// success 2026-...".
std::string default_digest_line(std::string_view kind, const state::EntrySummary& s);

}  // namespace tend::entries
