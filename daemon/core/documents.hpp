#pragma once
// The JSON documents of SPEC's "Status and history documents".

#include <boost/json/object.hpp>

#include "checks/check.hpp"
#include "jobs/job.hpp"
#include "probes/probe.hpp"
#include "state/store.hpp"
#include "watches/watch.hpp"

namespace tend::core {

/// One entry of `history --json`: run_id, attempt, started_at, ended_at, duration_ms, outcome,
/// exit_code, signal, reason.
boost::json::object run_to_json(const state::RunRecord& r);

/// One entry of `status --json` for a job.
boost::json::object job_entry(const jobs::Job& job);

/// One entry of `status --json` for a watch: rate (percent), requests, errors and unparsed, and
/// where in its file it is.
/// One entry of `status --json` for a probe (latency_ms, reason, restarts_in_window).
boost::json::object probe_entry(const probes::Probe& probe);

boost::json::object watch_entry(const watches::Watch& watch);

/// One entry of `status --json` for a passive check: next_run is when the next report is due,
/// deadline when it is late without one.
boost::json::object check_entry(const checks::Check& check);

}  // namespace tend::core
