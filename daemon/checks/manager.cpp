#include "checks/manager.hpp"

namespace tend::checks {

void Manager::start(const std::vector<config::CheckConfig>& checks, const state::Loaded& loaded) {
  std::map<std::string, state::RunRecord> last;
  for (const auto& r : loaded.last_results) {
    if (r.kind == "check") {
      last[r.entry] = r;
    }
  }
  const auto now = ctx_.clock.now();
  for (const auto& cfg : checks) {
    std::optional<state::RunRecord> prev;
    if (auto it = last.find(cfg.name); it != last.end()) {
      prev = it->second;
    }
    auto check = std::make_shared<Check>(ctx_, cfg, prev, now);
    checks_[cfg.name] = check;
    check->start();
  }
}

Diff Manager::apply(const std::vector<config::CheckConfig>& checks) {
  Diff diff;
  reconcile(
      checks_, checks,
      [this](const config::CheckConfig& cfg) {
        auto check = std::make_shared<Check>(ctx_, cfg, std::nullopt, ctx_.clock.now());
        check->start();
        return check;
      },
      diff);
  return diff;
}

void Manager::replan() {
  for (auto& [name, check] : checks_) {
    check->replan();
  }
}

void Manager::shutdown() {
  for (auto& [name, check] : checks_) {
    check->retire();
  }
}

std::shared_ptr<Check> Manager::find(const std::string& name) const {
  auto it = checks_.find(name);
  return it == checks_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Check>> Manager::all() const {
  std::vector<std::shared_ptr<Check>> out;
  out.reserve(checks_.size());
  for (const auto& [name, check] : checks_) {
    out.push_back(check);
  }
  return out;
}

}  // namespace tend::checks
