#include "entries/registry.hpp"

#include <algorithm>

namespace tend::entries {

Registry::Registry(Services& services, std::span<const KindSpec* const> kinds) : services_(services), kinds_(kinds) {}

Registry::~Registry() = default;

const KindSpec* Registry::kind_of(std::string_view kind) const {
  const auto it =
      std::find_if(kinds_.begin(), kinds_.end(), [&](const KindSpec* k) { return k->section.kind == kind; });
  return it == kinds_.end() ? nullptr : *it;
}

std::shared_ptr<Entry> Registry::make(const config::EntryConfig& cfg) const {
  const auto* kind = kind_of(cfg.kind);
  return kind != nullptr ? kind->make(services_, cfg) : nullptr;
}

int Registry::start(const std::vector<config::EntryConfig>& entries, const state::Loaded& loaded) {
  // What the previous instance saved, by entry: its newest record of the same kind, its last tick.
  std::map<std::pair<std::string_view, std::string_view>, const state::RunRecord*> last;
  for (const auto& r : loaded.last_results) {
    last[{r.kind, r.entry}] = &r;
  }
  std::map<std::string_view, std::optional<WallTime>> ticks;
  for (const auto& s : loaded.schedules) {
    ticks[s.entry] = s.last_tick;
  }
  int missed = 0;
  for (const auto& cfg : entries) {
    auto entry = make(cfg);
    if (!entry) {
      continue;
    }
    Saved saved;
    if (auto it = last.find({cfg.kind, cfg.name}); it != last.end()) {
      saved.last = *it->second;
    }
    if (auto it = ticks.find(cfg.name); it != ticks.end()) {
      saved.last_tick = it->second;
    }
    entries_[cfg.name] = entry;
    missed += entry->start(saved);
  }
  return missed;
}

Diff Registry::apply(const std::vector<config::EntryConfig>& entries) {
  Diff diff;
  std::map<std::string, std::shared_ptr<Entry>, std::less<>> next;
  Saved fresh;
  fresh.boot = false;
  for (const auto& cfg : entries) {
    auto it = entries_.find(cfg.name);
    if (it != entries_.end() && it->second->kind() == cfg.kind) {
      if (!it->second->settings().same_as(*cfg.settings)) {
        it->second->update(cfg);
        diff.changed.push_back(cfg.name);
      }
      next[cfg.name] = std::move(it->second);
      entries_.erase(it);
      continue;
    }
    if (it != entries_.end()) {
      // Same name, another kind: the old one goes, the new one starts afresh.
      it->second->retire();
      entries_.erase(it);
      diff.changed.push_back(cfg.name);
    } else {
      diff.added.push_back(cfg.name);
    }
    if (auto entry = make(cfg)) {
      entry->start(fresh);
      next[cfg.name] = std::move(entry);
    }
  }
  for (auto& [name, entry] : entries_) {
    entry->retire();
    diff.removed.push_back(name);
  }
  entries_ = std::move(next);
  return diff;
}

void Registry::replan() {
  for (auto& [name, entry] : entries_) {
    entry->replan();
  }
}

void Registry::shutdown(std::function<void()> done) {
  if (entries_.empty()) {
    done();
    return;
  }
  auto pending = std::make_shared<std::size_t>(entries_.size());
  for (auto& [name, entry] : entries_) {
    entry->shutdown([pending, done] {
      if (--*pending == 0) {
        done();
      }
    });
  }
}

Duration Registry::stop_grace() const {
  Duration longest{0};
  for (const auto& [name, entry] : entries_) {
    longest = std::max(longest, entry->stop_grace());
  }
  return longest;
}

std::shared_ptr<Entry> Registry::find(std::string_view name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Entry>> Registry::all() const {
  std::vector<std::shared_ptr<Entry>> out;
  out.reserve(entries_.size());
  for (const auto* kind : kinds_) {
    for (const auto& [name, entry] : entries_) {
      if (entry->kind() == kind->section.kind) {
        out.push_back(entry);
      }
    }
  }
  return out;
}

std::string_view Registry::kind_for(std::string_view command) const {
  for (const auto* kind : kinds_) {
    if (std::find(kind->commands.begin(), kind->commands.end(), command) != kind->commands.end()) {
      return kind->section.kind;
    }
  }
  return "entry";
}

std::size_t Registry::count(std::string_view kind) const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.second->kind() == kind; }));
}

}  // namespace tend::entries
