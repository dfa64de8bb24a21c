#pragma once
// The JSON documents of SPEC's "Status and history documents".

#include <boost/json/object.hpp>

#include "jobs/job.hpp"
#include "state/store.hpp"

namespace tend::core {

/// One entry of `history --json`: run_id, attempt, started_at, ended_at, duration_ms, outcome,
/// exit_code, signal, reason.
boost::json::object run_to_json(const state::RunRecord& r);

/// One entry of `status --json` for a job.
boost::json::object job_entry(const jobs::Job& job);

}  // namespace tend::core
