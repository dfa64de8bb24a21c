#include "probes/manager.hpp"

namespace tend::probes {

void Manager::start(const std::vector<config::ProbeConfig>& probes, const state::Loaded& loaded) {
  std::map<std::string, state::RunRecord> last;
  for (const auto& r : loaded.last_results) {
    if (r.kind == "probe") {
      last[r.entry] = r;
    }
  }
  for (const auto& cfg : probes) {
    std::optional<state::RunRecord> prev;
    if (auto it = last.find(cfg.name); it != last.end()) {
      prev = it->second;
    }
    auto p = std::make_shared<Probe>(ctx_, cfg, prev);
    p->start();
    probes_[cfg.name] = p;
  }
}

void Manager::apply(const std::vector<config::ProbeConfig>& probes, Diff& diff) {
  reconcile(
      probes_, probes,
      [this](const config::ProbeConfig& cfg) {
        auto p = std::make_shared<Probe>(ctx_, cfg, std::nullopt);
        p->start();
        return p;
      },
      diff);
}

void Manager::shutdown() {
  for (auto& [name, p] : probes_) {
    p->retire();
  }
}

std::shared_ptr<Probe> Manager::find(const std::string& name) const {
  auto it = probes_.find(name);
  return it == probes_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Probe>> Manager::all() const {
  std::vector<std::shared_ptr<Probe>> out;
  out.reserve(probes_.size());
  for (const auto& [name, p] : probes_) {
    out.push_back(p);
  }
  return out;
}

}  // namespace tend::probes
