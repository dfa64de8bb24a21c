#pragma once
// All probes of the current configuration: build, reload (added / changed / removed; unchanged
// ones keep their state and phase), shut down.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "probes/probe.hpp"
#include "util/entries.hpp"

namespace tend::probes {

class Manager {
 public:
  explicit Manager(Context& ctx) : ctx_(ctx) {}

  /// First configuration; `loaded` restores each probe's last state.
  void start(const std::vector<config::ProbeConfig>& probes, const state::Loaded& loaded);
  /// Apply a new, validated configuration; the names go into `diff`.
  void apply(const std::vector<config::ProbeConfig>& probes, Diff& diff);
  /// Stop every probe (requests in flight are cancelled).
  void shutdown();

  [[nodiscard]] std::shared_ptr<Probe> find(const std::string& name) const;
  [[nodiscard]] std::vector<std::shared_ptr<Probe>> all() const;

 private:
  Context& ctx_;
  std::map<std::string, std::shared_ptr<Probe>> probes_;
};

}  // namespace tend::probes
