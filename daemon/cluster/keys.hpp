#pragma once
// The key layout under the cluster's prefix (docs/cluster.md, "Keys"). Ticks are named by their
// scheduled second in ISO-8601 UTC ("2026-11-21T10:00:03Z"), which sorts as time does, so "every
// run of a job before T" is one key range.
//
//   PREFIX/members/NODE            member record; bound to NODE's session lease
//   PREFIX/ticks/JOB/TICK          the claim of a tick; bound to the claimer's session lease
//   PREFIX/open/JOB/TICK           claimed or started, not finished: node, state; no lease (outlives its host)
//   PREFIX/runs/JOB/TICK           the run's record: started, then its result (or interrupted); no lease
//   PREFIX/jobs/JOB/last_tick      the latest tick of JOB ever claimed (catch-up); no lease
//   PREFIX/notifications/ID        the claim of a notification; bound to a retention lease

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "util/time.hpp"

namespace tend::cluster {

/// The name of the tick at `t`: its second, ISO-8601 UTC.
std::string tick_id(WallTime t);

class Keys {
 public:
  explicit Keys(std::string prefix);  // "/tend/prod" and "/tend/prod/" are the same prefix

  [[nodiscard]] const std::string& prefix() const { return prefix_; }
  [[nodiscard]] std::string members() const { return prefix_ + "members/"; }
  [[nodiscard]] std::string member(std::string_view node) const { return members() + std::string(node); }
  [[nodiscard]] std::string ticks() const { return prefix_ + "ticks/"; }
  [[nodiscard]] std::string tick(std::string_view job, std::string_view tick) const { return in(ticks(), job, tick); }
  [[nodiscard]] std::string opens() const { return prefix_ + "open/"; }
  [[nodiscard]] std::string open(std::string_view job, std::string_view tick) const { return in(opens(), job, tick); }
  [[nodiscard]] std::string runs() const { return prefix_ + "runs/"; }
  [[nodiscard]] std::string runs(std::string_view job) const { return runs() + std::string(job) + "/"; }
  [[nodiscard]] std::string run(std::string_view job, std::string_view tick) const { return in(runs(), job, tick); }
  [[nodiscard]] std::string jobs() const { return prefix_ + "jobs/"; }
  [[nodiscard]] std::string last_tick(std::string_view job) const { return jobs() + std::string(job) + "/last_tick"; }
  [[nodiscard]] std::string notifications() const { return prefix_ + "notifications/"; }
  [[nodiscard]] std::string notification(std::string_view id) const { return notifications() + std::string(id); }

  /// (JOB, TICK) of "SECTION" + "JOB/TICK" (SECTION is ticks(), opens() or runs()); nothing otherwise.
  [[nodiscard]] static std::optional<std::pair<std::string, std::string>> split(std::string_view key,
                                                                                std::string_view section);
  /// JOB of jobs() + "JOB/last_tick"; nothing otherwise.
  [[nodiscard]] std::optional<std::string> job_of_marker(std::string_view key) const;

 private:
  static std::string in(const std::string& section, std::string_view job, std::string_view tick) {
    std::string k = section;
    k.append(job).append("/").append(tick);
    return k;
  }
  std::string prefix_;
};

}  // namespace tend::cluster
