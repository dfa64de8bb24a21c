#pragma once
// The read-only status pages, rendered on the server from the documents tend already builds:
// the status document (`tend status --json`) and history records (`tend history --json`'s
// runs). Pure functions: documents and the time in, HTML out. No script anywhere (the pages
// work with JavaScript off and are served with a CSP that forbids it); one inline stylesheet,
// light and dark by prefers-color-scheme; a table that turns into cards on a phone.
//
// Everything taken from a document is HTML-escaped (names, reasons, summaries, paths), and
// every string that looks like a URL is cut to scheme://host first, whatever the document held.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "util/time.hpp"

namespace date {
class time_zone;
}

namespace tend::web {

struct PageContext {
  WallTime now;                           // "2h ago" is relative to this
  const date::time_zone* zone = nullptr;  // local times are shown in it (UTC when null)
  std::chrono::seconds refresh{15};       // the page reloads itself this often (0: never)
};

/// Recent history records (newest first) of an entry, for the status page's small charts;
/// nullptr when none are at hand.
using RecentRuns = std::function<const boost::json::array*(std::string_view name)>;

/// "/": every entry with its state, last and next run, last failure's reason; firing alerts,
/// silences, notifiers and the heartbeat. Entries that need attention come first.
std::string status_page(const boost::json::object& status, const PageContext& ctx, const RecentRuns& recent = {});

/// "/entry/NAME": one entry, its alerts, a chart and its recent history (`runs`, newest first).
/// nullopt when the status document has no entry of that name (answer 404 with not_found_page).
std::optional<std::string> entry_page(const boost::json::object& status, std::string_view name,
                                      const boost::json::array& runs, const PageContext& ctx);

/// The 404 page, naming the path asked for.
std::string not_found_page(std::string_view path, const PageContext& ctx);

/// The class of an entry's condition, from its state and last result whatever its kind:
/// bad, warn, ok, info (running) or none (nothing known yet).
const char* entry_health(const boost::json::object& entry);

}  // namespace tend::web
