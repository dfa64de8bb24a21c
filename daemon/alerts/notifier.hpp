#pragma once
// A notifier turns a notification into the HTTP body its service expects. Delivery (the outbox:
// HTTP, retries, ordering) is shared; a notifier type is one file defining one NotifierType (its
// `type:` name, the reader of its keys, its factory), listed once in registry.cpp.

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "alerts/notification.hpp"
#include "config/model.hpp"
#include "config/plugins.hpp"

namespace tend::alerts {

class Notifier {
 public:
  virtual ~Notifier() = default;
  /// The JSON body to POST.
  [[nodiscard]] virtual std::string render(const Notification& n) const = 0;
  /// The body of one message for a group of notifications (types whose NotifierType says
  /// `groups`).
  [[nodiscard]] virtual std::string render_group(const GroupMessage& g) const { return render(g.members.front()); }
  /// Secrets of its own besides the URL and header values (a routing key in the body), scrubbed
  /// from every error text as those are.
  [[nodiscard]] virtual std::vector<std::string> secrets() const { return {}; }
};

struct NotifierType {
  std::string_view type;  // `type: NAME`
  /// Read the notifier's keys besides `type` (url, headers, timeout, its own) into `out`.
  std::function<void(config::MapReader& m, config::NotifierConfig& out)> read;
  std::function<std::unique_ptr<Notifier>(const config::NotifierConfig& cfg)> make;
  /// Whether its messages can carry a group (alerts.group_by); a type that cannot (PagerDuty,
  /// whose incidents are per alert) gets every notification on its own.
  bool groups = true;
};

/// Whether notifications for notifier type `type` may be grouped.
bool groups_messages(const std::string& type);

/// Every notifier type, in table order.
std::span<const NotifierType* const> notifier_types();

/// The notifier `cfg` describes; nullptr for a type no file defines (config rejects those first).
std::unique_ptr<Notifier> make_notifier(const config::NotifierConfig& cfg);

/// The notifier types as the config reader takes them (config::Plugins::notifiers).
std::vector<config::NotifierType> config_types();

/// The facts every chat message lists, in order: label -> value (empty values left out).
std::vector<std::pair<std::string, std::string>> facts(const Notification& n);

}  // namespace tend::alerts
