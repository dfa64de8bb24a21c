#include "entries/entry.hpp"

#include <spdlog/logger.h>

#include "entries/documents.hpp"
#include "metrics/exposition.hpp"
#include "util/text.hpp"

namespace tend::entries {

Entry::Entry(std::string_view kind, std::string name, Clock& clock, std::shared_ptr<spdlog::logger> logger)
    : kind_(kind), name_(std::move(name)), clock_(clock), logger_(std::move(logger)) {}

Entry::~Entry() = default;

void Entry::shutdown(std::function<void()> done) {
  retire();
  done();
}

void Entry::pause(std::optional<WallTime> until) {
  pause_.hold(clock_, until, lifetime_.guard([this] { resume(); }));
  logger_->info("{}={} event=PAUSE until={}", kind_, name_, until ? format_iso8601(*until) : "resume");
}

void Entry::resume() {
  if (pause_.release()) {
    logger_->info("{}={} event=RESUME", kind_, name_);
    on_resume();
  }
}

bool Entry::paused() const { return pause_.active(clock_.now()); }

std::string Entry::digest_line(const state::EntrySummary& s) const { return default_digest_line(kind_, s); }

Expected<std::int64_t> Entry::run_now(RunDone /*on_done*/) {
  return Error{"'" + name_ + "' is a " + std::string(kind_) + ": only entries with a command can be run"};
}

Expected<boost::json::object> Entry::report(const boost::json::object& /*request*/, WallTime /*now*/) {
  return Error{"'" + name_ + "' is a " + std::string(kind_) + " and takes no reports"};
}

boost::json::object Entry::status_head(std::string_view state) const {
  boost::json::object o;
  const bool held = paused();
  o["kind"] = kind_;
  o["name"] = name_;
  o["state"] = state;
  o["paused"] = held;
  o["paused_until"] = held ? time_or_null(pause_.until()) : boost::json::value(nullptr);
  o["silenced_until"] = nullptr;
  return o;
}

void Entry::entry_series(metrics::Collector& c, std::string_view state) const {
  c.family("tend_entry_state", "1 for the state the entry is in (one series per entry).", metrics::Type::gauge,
           {"kind", "name", "state"})
      .sample({kind_, name_, state}, 1);
  c.family("tend_entry_paused", "1 while the entry is paused (tend pause).", metrics::Type::gauge, {"kind", "name"})
      .sample({kind_, name_}, paused() ? 1 : 0);
}

}  // namespace tend::entries
