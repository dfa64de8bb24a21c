#pragma once
// All passive checks of the current configuration: builds them (restoring state from history),
// applies reloads (added / changed / removed; unchanged ones keep state and deadline), and finds
// them for `ping`.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "checks/check.hpp"
#include "util/entries.hpp"

namespace tend::checks {

using Diff = tend::Diff;

class Manager {
 public:
  explicit Manager(Context& ctx) : ctx_(ctx) {}

  /// First configuration at start-up; `loaded.last_results` restores each check's state.
  void start(const std::vector<config::CheckConfig>& checks, const state::Loaded& loaded);
  /// Apply a new, validated configuration.
  Diff apply(const std::vector<config::CheckConfig>& checks);
  /// Re-plan every deadline (the wall clock stepped).
  void replan();
  /// Stop every deadline (the daemon stops).
  void shutdown();

  /// The check named `name`, or nullptr.
  [[nodiscard]] std::shared_ptr<Check> find(const std::string& name) const;
  /// Checks in name order.
  [[nodiscard]] std::vector<std::shared_ptr<Check>> all() const;

 private:
  Context& ctx_;
  std::map<std::string, std::shared_ptr<Check>> checks_;
};

}  // namespace tend::checks
