#pragma once
// A job's settings (`jobs: NAME: {...}`) and their reader.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/plugins.hpp"
#include "schedule/schedule.hpp"

namespace tend::jobs {

using namespace std::chrono_literals;

enum class Backoff { fixed, exponential };
enum class Concurrency { forbid, allow, replace };

struct RetryConfig {
  int max = 0;  // retries after the first attempt
  Duration delay = 10s;
  Backoff backoff = Backoff::fixed;
  bool operator==(const RetryConfig&) const = default;
};

/// `run_on:` (cluster mode only): where each tick runs.
struct RunOn {
  enum class Mode { all, any, host };
  Mode mode = Mode::all;  // all: every host runs every tick (as without a cluster)
  std::string host;       // Mode::host: the node that runs it
  bool operator==(const RunOn&) const = default;
};

/// "any", "all", "host web-2".
std::string to_string(const RunOn& r);

struct JobConfig : config::Settings<JobConfig> {
  static constexpr std::string_view kKind = "job";

  std::string name;
  schedule::Schedule schedule;
  std::vector<std::string> command;  // argv form
  std::string shell;                 // or shell form (run by /bin/sh -c)
  std::string builtin;               // or a builtin job (digest)
  std::string workdir;
  std::string user;
  std::map<std::string, std::string> env;
  std::vector<std::string> env_inherit;  // daemon variables passed on by name
  std::optional<Duration> timeout;
  Duration kill_grace = 10s;
  std::optional<Duration> warn_after;
  RetryConfig retries;
  Concurrency concurrency = Concurrency::forbid;
  bool catch_up = false;
  Duration jitter = 0ms;
  std::vector<std::string> alert_on = {"failure", "timeout", "slow", "missed"};
  config::Severity severity = config::Severity::critical;
  RunOn run_on;
  bool operator==(const JobConfig&) const = default;
};

/// The `jobs:` section: kind "job", read by read_job.
config::SectionSpec section();

/// Read one job's mapping.
std::shared_ptr<const config::EntrySettings> read_job(config::MapReader& m, const std::string& name,
                                                      const config::ReadContext& ctx);

}  // namespace tend::jobs
