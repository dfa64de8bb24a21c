// `builtin: digest`: a daily health report — per entry over the last 24 h its runs, failures,
// durations and last success (probes: uptime) — sent through the routes an info report of the job
// takes, and kept as the run's output.

#include <algorithm>

#include "alerts/engine.hpp"
#include "builtins/builtins.hpp"
#include "config/model.hpp"
#include "entries/documents.hpp"
#include "events/catalogue.hpp"
#include "state/store.hpp"

namespace tend::builtins {

namespace {

void run_digest(Context& ctx, const std::string& job, entries::BuiltinDone done) {
  const auto now = ctx.clock.now();
  ctx.store.summarize(
      now - std::chrono::hours(24), [&ctx, job, done = std::move(done)](std::vector<state::EntrySummary> rows) {
        std::erase_if(rows, [&](const state::EntrySummary& r) { return r.entry == job; });
        std::string text;
        int failing = 0;
        for (const auto& r : rows) {
          // The entry describes its own figures (a probe reports uptime); one no longer configured
          // is described by the common form.
          const auto entry = ctx.find_entry(r.entry);
          std::string line =
              entry && entry->kind() == r.kind ? entry->digest_line(r) : entries::default_digest_line(r.kind, r);
          failing += r.failures > 0 ? 1 : 0;
          text += (r.failures > 0 ? "✗ " : "✓ ") + line + "\n";
        }
        if (rows.empty()) {
          text = "no history yet\n";
        }
        const auto& type = events::types::job_digest;
        std::string summary = "daily digest for " + ctx.daemon.host + ": " + std::to_string(failing) + " of " +
                              std::to_string(rows.size()) + " entries had failures in the last 24h";
        const auto to = ctx.alerts.send_report(type, job, summary, text);
        std::string reason;
        if (to.empty()) {
          reason = "no route for the digest (no notifiers configured)";
        } else {
          reason = "digest queued for ";
          for (std::size_t i = 0; i < to.size(); ++i) {
            reason += (i == 0 ? "" : ",") + to[i];
          }
        }
        done(!to.empty(), reason, summary + "\n" + text);
      });
}

}  // namespace

extern const Builtin digest;
const Builtin digest{"digest", run_digest};

}  // namespace tend::builtins
