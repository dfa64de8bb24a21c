#include "plugins/plugins.hpp"

#include <vector>

#include "alerts/notifier.hpp"
#include "builtins/builtins.hpp"
#include "checks/check.hpp"
#include "jobs/job.hpp"
#include "probes/probe.hpp"
#include "watches/watch.hpp"

namespace tend::plugins {

std::span<const entries::KindSpec* const> kinds() {
  // Adding an entry kind: its folder, and one line here.
  static const entries::KindSpec* const kinds[] = {
      &jobs::kind(),
      &probes::kind(),
      &watches::kind(),
      &checks::kind(),
  };
  return kinds;
}

const config::Plugins& config() {
  static const config::Plugins plugins = [] {
    config::Plugins p;
    for (const auto* k : kinds()) {
      p.sections.push_back(k->section);
    }
    p.notifiers = alerts::config_types();
    p.builtins = builtins::names();
    return p;
  }();
  return plugins;
}

}  // namespace tend::plugins
