#pragma once
// What every entry manager (jobs, probes, watches, checks) does on reload, written once.

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tend {

/// What a reload changed, by entry name.
struct Diff {
  std::vector<std::string> added;
  std::vector<std::string> changed;
  std::vector<std::string> removed;
};

/// Bring `entries` to `configs`: unchanged entries are kept as they are (state, timers, phase),
/// changed ones get update(cfg), new ones come from make(cfg) (already started), and the rest are
/// retire()d. Entry needs config(), update(Config), retire(); Config needs `name` and ==.
template <class Entry, class Config, class Make>
void reconcile(std::map<std::string, std::shared_ptr<Entry>>& entries, const std::vector<Config>& configs, Make make,
               Diff& diff) {
  std::map<std::string, std::shared_ptr<Entry>> next;
  for (const auto& cfg : configs) {
    auto it = entries.find(cfg.name);
    if (it == entries.end()) {
      next[cfg.name] = make(cfg);
      diff.added.push_back(cfg.name);
      continue;
    }
    if (!(it->second->config() == cfg)) {
      it->second->update(cfg);
      diff.changed.push_back(cfg.name);
    }
    next[cfg.name] = std::move(it->second);
    entries.erase(it);
  }
  for (auto& [name, entry] : entries) {
    entry->retire();
    diff.removed.push_back(name);
  }
  entries = std::move(next);
}

}  // namespace tend
