#include "jobs/manager.hpp"

namespace tend::jobs {

int Manager::start(const std::vector<config::JobConfig>& jobs, const state::Loaded& loaded) {
  std::map<std::string, std::optional<WallTime>> ticks;
  for (const auto& s : loaded.schedules) {
    ticks[s.entry] = s.last_tick;
  }
  std::map<std::string, state::RunRecord> last;
  for (const auto& r : loaded.last_results) {
    if (r.kind == "job") {
      last[r.entry] = r;
    }
  }
  int missed = 0;
  for (const auto& cfg : jobs) {
    std::optional<state::RunRecord> prev;
    if (auto it = last.find(cfg.name); it != last.end()) {
      prev = it->second;
    }
    auto job = std::make_shared<Job>(ctx_, cfg, prev);
    jobs_[cfg.name] = job;
    auto tick = ticks.find(cfg.name);
    missed += job->start(tick == ticks.end() ? std::nullopt : tick->second, true);
  }
  return missed;
}

Diff Manager::apply(const std::vector<config::JobConfig>& jobs) {
  Diff diff;
  reconcile(
      jobs_, jobs,
      [this](const config::JobConfig& cfg) {
        auto job = std::make_shared<Job>(ctx_, cfg, std::nullopt);
        job->start(std::nullopt, false);
        return job;
      },
      diff);
  return diff;
}

void Manager::replan() {
  for (auto& [name, job] : jobs_) {
    job->replan();
  }
}

void Manager::shutdown(std::function<void()> done) {
  if (jobs_.empty()) {
    done();
    return;
  }
  auto pending = std::make_shared<std::size_t>(jobs_.size());
  for (auto& [name, job] : jobs_) {
    job->shutdown([pending, done] {
      if (--*pending == 0) {
        done();
      }
    });
  }
}

std::shared_ptr<Job> Manager::find(const std::string& name) const {
  auto it = jobs_.find(name);
  return it == jobs_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<Job>> Manager::all() const {
  std::vector<std::shared_ptr<Job>> out;
  out.reserve(jobs_.size());
  for (const auto& [name, job] : jobs_) {
    out.push_back(job);
  }
  return out;
}

}  // namespace tend::jobs
