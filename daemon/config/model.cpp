#include "config/model.hpp"

namespace tend::config {

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

// These lists are what config validation accepts; config sits below the alerting and remedy modules,
// so it cannot ask their registries. Each registry should hold one implementation per name here.
const std::vector<std::string>& notifier_types() {
  static const std::vector<std::string> types = {"slack", "discord", "webhook"};
  return types;
}

const std::vector<std::string>& remedy_types() {
  static const std::vector<std::string> types = {"pm2", "systemd", "exec"};
  return types;
}

}  // namespace tend::config
