#include "jobs/config.hpp"

#include "config/fields.hpp"
#include "config/values.hpp"
#include "events/catalogue.hpp"
#include "util/names.hpp"

namespace tend::jobs {

namespace {

// `any`, `all` or `host NAME`; outside cluster mode only the default (all) means anything.
void read_run_on(config::MapReader& m, RunOn& out, bool clustered) {
  auto v = m.get("run_on");
  if (!v) {
    return;
  }
  auto word = v->string();
  if (!word) {
    return;
  }
  if (*word == "any") {
    out.mode = RunOn::Mode::any;
  } else if (*word == "all") {
    out.mode = RunOn::Mode::all;
  } else if (word->starts_with("host ") && valid_name(word->substr(5))) {
    out.mode = RunOn::Mode::host;
    out.host = word->substr(5);
  } else {
    v->error("expected any, all or host NAME (a node name: letters, digits, '_', '.', '-'), not '" + *word + "'");
    return;
  }
  if (!clustered && out.mode != RunOn::Mode::all) {
    v->error("run_on: " + to_string(out) +
             " needs a cluster: section (SPEC \"Cluster mode\"); without one every tick runs on this host");
  }
}

}  // namespace

std::string to_string(const RunOn& r) {
  switch (r.mode) {
    case RunOn::Mode::any:
      return "any";
    case RunOn::Mode::all:
      return "all";
    case RunOn::Mode::host:
      return "host " + r.host;
  }
  return "?";
}

config::SectionSpec section() { return {JobConfig::kKind, "jobs", read_job}; }

std::shared_ptr<const config::EntrySettings> read_job(config::MapReader& m, const std::string& name,
                                                      const config::ReadContext& ctx) {
  auto j = std::make_shared<JobConfig>();
  j->name = name;
  const date::time_zone* zone = config::read_timezone(m).value_or(ctx.daemon.timezone);
  m.require("schedule");
  if (auto s = config::read_schedule(m, zone)) {
    j->schedule = std::move(*s);
  }
  if (auto action = config::exactly_one(m, {"command", "shell", "builtin"})) {
    if (*action == "command") {
      m.read("command", j->command, /*non_empty=*/true);
    } else if (*action == "shell") {
      m.read("shell", j->shell, config::check_not_empty);
    } else {
      std::vector<std::string_view> names(ctx.plugins.builtins.begin(), ctx.plugins.builtins.end());
      m.read("builtin", j->builtin, config::Value::one_of("builtin", names));
    }
  }
  m.read("workdir", j->workdir, config::check_absolute_path);
  m.read("user", j->user, config::check_user_name);
  m.read("env", j->env, config::check_env_name);
  m.read("env_inherit", j->env_inherit, false, config::check_inherited_env_name);
  m.read("timeout", j->timeout);
  m.read("kill_grace", j->kill_grace, config::kAnyDuration);
  m.read("warn_after", j->warn_after);
  m.section("retries", [&](config::MapReader& r) {
    r.read("max", j->retries.max, 0, 100);
    r.read("delay", j->retries.delay, config::kAnyDuration);
    r.read("backoff", j->retries.backoff, {{"fixed", Backoff::fixed}, {"exponential", Backoff::exponential}});
  });
  m.read("concurrency", j->concurrency,
         {{"forbid", Concurrency::forbid}, {"allow", Concurrency::allow}, {"replace", Concurrency::replace}});
  m.read("catch_up", j->catch_up);
  m.read("jitter", j->jitter, config::kAnyDuration);
  // The job events of the catalogue that can be switched off (the others are reports).
  std::vector<std::string_view> events;
  for (const auto* t : events::catalogue()) {
    if (t->kind == JobConfig::kKind && !t->report) {
      events.push_back(t->name);
    }
  }
  m.read("alert_on", j->alert_on, false, config::Value::one_of("alert_on event", events));
  config::read_severity(m, j->severity);
  read_run_on(m, j->run_on, ctx.clustered);
  if (j->run_on.mode == RunOn::Mode::any && !std::holds_alternative<schedule::CronExpr>(j->schedule.kind) &&
      !j->schedule.text.empty()) {
    // A tick is claimed by its name, the scheduled wall-clock second: the same on every host only
    // for cron schedules (@every ticks have a phase of their own on each host).
    if (auto v = m.get("run_on")) {
      v->error(
          "run_on: any needs a cron schedule (its ticks are named by wall-clock time, the same on every "
          "host); '" +
          j->schedule.text + "' ticks differently on each host");
    }
  }
  return j;
}

}  // namespace tend::jobs
