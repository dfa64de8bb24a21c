#pragma once
// Small inline SVG charts drawn from history records (the `runs` of `tend history --json`,
// newest first). They are plain SVG elements styled by the page's stylesheet (classes ok, bad,
// warn, info, none), so they follow light and dark mode and need no script; each mark carries a
// <title> that browsers show on hover.

#include <boost/json/array.hpp>
#include <string>

#include "util/time.hpp"

namespace date {
class time_zone;
}

namespace tend::web {

struct ChartContext {
  WallTime now;
  const date::time_zone* zone = nullptr;  // for times in titles (UTC when null)
};

struct Chart {
  std::string svg;      // empty when there was nothing to draw
  std::string summary;  // one line of text saying what the chart shows ("up 99.2% ...")
};

/// True when the records are probe results (outcomes up/down) rather than runs.
bool is_availability(const boost::json::array& runs);

/// Probe latency (line) and up/down (strip below it) over the 24 hours before now; restarts
/// are marked on the strip. Time without records is left grey.
Chart availability_chart(const boost::json::array& runs, const ChartContext& ctx);

/// Duration and outcome of each of the last `max_runs` runs, one bar each, oldest left.
Chart runs_chart(const boost::json::array& runs, const ChartContext& ctx, std::size_t max_runs = 60);

/// A small chart for a row of the status page: the 24 h up/down strip, or the last 20 runs.
std::string sparkline(const boost::json::array& runs, const ChartContext& ctx);

/// The page class of an outcome: ok (success, up), bad (failure, timeout, interrupted, down,
/// restart_failed), warn (skipped, missed, restarted), info (running), none (anything else).
const char* outcome_class(std::string_view outcome);

}  // namespace tend::web
