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
  reconcile(
      watches_, watches,
      [this](const config::WatchConfig& cfg) {
        auto watch = std::make_shared<Watch>(ctx_, cfg);
        watch->start();
        return watch;
      },
      diff);
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
