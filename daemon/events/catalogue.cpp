#include "events/catalogue.hpp"

#include <algorithm>
#include <array>

namespace tend::events {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::info:
      return "info";
    case Severity::warning:
      return "warning";
    case Severity::critical:
      return "critical";
  }
  return "critical";
}

std::optional<Severity> parse_severity(std::string_view text) {
  for (const auto& [name, s] : kSeverities) {
    if (name == text) {
      return s;
    }
  }
  return std::nullopt;
}

namespace types {
using S = Severity;
// clang-format off
const EventType job_failure               {"job",    "failure",            S::critical};
const EventType job_timeout               {"job",    "timeout",            S::critical};
const EventType job_slow                  {"job",    "slow",               S::warning};
const EventType job_missed                {"job",    "missed",             S::warning,  /*instant=*/true};
const EventType job_digest                {"job",    "digest",             S::info,     false, false, /*report=*/true};
const EventType probe_down                {"probe",  "down",               S::critical};
const EventType probe_restarted           {"probe",  "restarted",          S::info,     /*instant=*/true};
const EventType probe_restart_failed      {"probe",  "restart_failed",     S::critical, /*instant=*/true};
const EventType probe_restart_limit       {"probe",  "restart_limit",      S::critical};
const EventType probe_cert_expiring       {"probe",  "cert_expiring",      S::warning};
const EventType watch_error_rate          {"watch",  "error_rate",         S::warning,  false, /*resets_on_restart=*/true};
const EventType check_late                {"check",  "late",               S::critical};
const EventType check_failure             {"check",  "failure",            S::critical};
const EventType daemon_unclean_start      {"daemon", "unclean_start",      S::warning,  /*instant=*/true};
const EventType daemon_config_rejected    {"daemon", "config_rejected",    S::critical};
const EventType daemon_delivery_failed    {"daemon", "delivery_failed",    S::critical, /*instant=*/true};
const EventType daemon_state_reset        {"daemon", "state_reset",        S::critical, /*instant=*/true};
const EventType daemon_state_write_failed {"daemon", "state_write_failed", S::critical};
const EventType daemon_cluster_degraded   {"daemon", "cluster_degraded",   S::critical};
const EventType daemon_test               {"daemon", "test",               S::info,     false, false, /*report=*/true};
// clang-format on
}  // namespace types

namespace {

const std::array<const EventType*, 20> kAll = {
    &types::job_failure,
    &types::job_timeout,
    &types::job_slow,
    &types::job_missed,
    &types::job_digest,
    &types::probe_down,
    &types::probe_restarted,
    &types::probe_restart_failed,
    &types::probe_restart_limit,
    &types::probe_cert_expiring,
    &types::watch_error_rate,
    &types::check_late,
    &types::check_failure,
    &types::daemon_unclean_start,
    &types::daemon_config_rejected,
    &types::daemon_delivery_failed,
    &types::daemon_state_reset,
    &types::daemon_state_write_failed,
    &types::daemon_cluster_degraded,
    &types::daemon_test,
};

}  // namespace

std::span<const EventType* const> catalogue() { return kAll; }

const EventType* find_type(std::string_view kind, std::string_view name) {
  const auto it =
      std::find_if(kAll.begin(), kAll.end(), [&](const EventType* t) { return t->kind == kind && t->name == name; });
  return it == kAll.end() ? nullptr : *it;
}

const std::vector<std::string_view>& kinds() {
  static const std::vector<std::string_view> out = [] {
    std::vector<std::string_view> k;
    for (const auto* t : kAll) {
      if (std::find(k.begin(), k.end(), t->kind) == k.end()) {
        k.push_back(t->kind);
      }
    }
    return k;
  }();
  return out;
}

Severity severity_for(const EventType& type, Severity entry_severity) {
  return type.severity == Severity::critical ? entry_severity : type.severity;
}

}  // namespace tend::events
