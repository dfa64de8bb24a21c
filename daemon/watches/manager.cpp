#include "watches/manager.hpp"

namespace tend::watches {

void Manager::start(const std::vector<config::WatchConfig>& watches) {
  for (const auto& cfg : watches) {
    auto watch = std::make_shared<Watch>(ctx_, cfg);
    watches_[cfg.name] = watch;
    watch->start();
  }
}

Diff Manager::apply(const std::vector<config::WatchConfig>& watches) {
  Diff diff;
  std::map<std::string, std::shared_ptr<Watch>> next;
  for (const auto& cfg : watches) {
    auto it = watches_.find(cfg.name);
    if (it == watches_.end()) {
      auto watch = std::make_shared<Watch>(ctx_, cfg);
      watch->start();
      next[cfg.name] = watch;
      diff.added.push_back(cfg.name);
    } else {
      if (!(it->second->config() == cfg)) {
        it->second->update(cfg);
        diff.changed.push_back(cfg.name);
      }
      next[cfg.name] = it->second;
      watches_.erase(it);
    }
  }
  for (auto& [name, watch] : watches_) {
    watch->retire();
    diff.removed.push_back(name);
  }
  watches_ = std::move(next);
  return diff;
}

void Manager::shutdown() {
  for (auto& [name, watch] : watches_) {
    watch->retire();
  }
}

std::shared_ptr<Watch> Manager::find(const std::string& name) const {
  auto it = watches_.find(name);
  return it == watches_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Watch>> Manager::all() const {
  std::vector<std::shared_ptr<Watch>> out;
  out.reserve(watches_.size());
  for (const auto& [name, watch] : watches_) {
    out.push_back(watch);
  }
  return out;
}

}  // namespace tend::watches
