#pragma once
// A notifier turns a notification into the HTTP body its service expects. Delivery (the outbox:
// HTTP, retries, ordering) is shared; a notifier type is one file with one render function,
// listed in registry.cpp.

#include <map>
#include <memory>
#include <string>

#include "alerts/notification.hpp"
#include "config/model.hpp"

namespace tend::alerts {

class Notifier {
 public:
  virtual ~Notifier() = default;
  /// The JSON body to POST.
  [[nodiscard]] virtual std::string render(const Notification& n) const = 0;
};

/// The notifier for a config type ("slack", "discord", "webhook"); nullptr for an unknown type
/// (config validation rejects those first: config::notifier_types() is checked against this
/// table by a unit test).
std::unique_ptr<Notifier> make_notifier(const std::string& type);

// One per file.
std::unique_ptr<Notifier> make_slack();
std::unique_ptr<Notifier> make_discord();
std::unique_ptr<Notifier> make_webhook();

/// The facts every chat message lists, in order: label -> value (empty values left out).
std::vector<std::pair<std::string, std::string>> facts(const Notification& n);

}  // namespace tend::alerts
