#pragma once
// All jobs of the current configuration: builds them, applies reloads (added / changed /
// removed, unchanged ones untouched), and answers the control socket's job commands.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "jobs/job.hpp"
#include "util/entries.hpp"

namespace tend::jobs {

using Diff = tend::Diff;

class Manager {
 public:
  explicit Manager(Context& ctx) : ctx_(ctx) {}

  /// First configuration at start-up. Returns the number of missed ticks (for unclean_start).
  int start(const std::vector<config::JobConfig>& jobs, const state::Loaded& loaded);
  /// Apply a new, validated configuration.
  Diff apply(const std::vector<config::JobConfig>& jobs);
  /// Re-plan every timer (wall clock stepped).
  void replan();
  /// Stop every run; `done` once all are gone.
  void shutdown(std::function<void()> done);

  /// The job named `name`, or nullptr.
  [[nodiscard]] std::shared_ptr<Job> find(const std::string& name) const;
  /// Jobs in name order.
  [[nodiscard]] std::vector<std::shared_ptr<Job>> all() const;

 private:
  Context& ctx_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
};

}  // namespace tend::jobs
