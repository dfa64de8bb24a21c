// PagerDuty Events API v2: a firing alert triggers an incident, its resolve resolves it; both
// carry the same dedup_key (host, kind, name, event), so repeats and escalations update the one
// incident instead of opening new ones. The routing key (an integration key: a secret) goes in
// the body; the URL defaults to PagerDuty's global endpoint.
//
//   pager: {type: pagerduty, routing_key: "${env:PD_ROUTING_KEY}"}

#include <boost/json.hpp>

#include "alerts/notifier.hpp"
#include "config/values.hpp"
#include "util/text.hpp"

namespace tend::alerts {

namespace {

namespace json = boost::json;

constexpr const char* kEndpoint = "https://events.pagerduty.com/v2/enqueue";

struct Options : config::Settings<Options> {
  std::string routing_key;
  bool operator==(const Options&) const = default;
};

std::optional<std::string> check_routing_key(const std::string& key, const std::string& /*shown*/) {
  // Integration keys are 32 characters of [0-9a-z]; never echo one.
  const bool ok = key.size() == 32 && std::all_of(key.begin(), key.end(), [](char c) {
                    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                  });
  return ok ? std::nullopt : std::optional<std::string>("routing_key must be a 32-character integration key");
}

class PagerDuty final : public Notifier {
 public:
  explicit PagerDuty(std::string routing_key) : routing_key_(std::move(routing_key)) {}

  [[nodiscard]] std::string render(const Notification& n) const override {
    json::object body{{"routing_key", routing_key_}, {"dedup_key", dedup_key(n)}};
    if (n.status == "resolved") {
      body["event_action"] = "resolve";
      return json::serialize(body);
    }
    body["event_action"] = "trigger";
    json::object details{{"environment", n.environment},
                         {"occurrences", n.occurrences},
                         {"reason", n.reason},
                         {"started_at", format_iso8601(n.started_at)},
                         {"notification_id", n.id}};
    if (!n.detail.empty()) {
      details["detail"] = keep_tail(n.detail, 8000);
    }
    for (const auto& [k, v] : n.labels) {
      details["label_" + k] = v;
    }
    body["payload"] = json::object{{"summary", keep_tail(n.summary, 1000)},
                                   {"source", n.host},
                                   {"severity", n.severity},  // critical | warning | info: all PagerDuty's
                                   {"timestamp", format_iso8601(n.created_at)},
                                   {"component", n.name},
                                   {"group", n.kind},
                                   {"class", n.event},
                                   {"custom_details", std::move(details)}};
    body["client"] = "tend";
    return json::serialize(body);
  }

  [[nodiscard]] std::vector<std::string> secrets() const override { return {routing_key_}; }

 private:
  static std::string dedup_key(const Notification& n) {
    // Per alert, not per notification: the resolve must name the incident the trigger opened.
    // A test message gets its own, so it never touches a real incident.
    std::string key = "tend/" + n.host + "/" + n.kind + "/" + n.name + "/" + n.event;
    if (n.reason == "test" || n.reason == "digest") {
      key += "/" + n.id;
    }
    return key;
  }

  std::string routing_key_;
};

}  // namespace

extern const NotifierType pagerduty_type;
const NotifierType pagerduty_type{
    "pagerduty",
    [](config::MapReader& m, config::NotifierConfig& n) {
      n.url = kEndpoint;
      m.read("url", n.url, config::check_http_url);
      m.read("headers", n.headers, config::check_header_name, config::check_header_value);
      m.read("timeout", n.timeout);
      auto options = std::make_shared<Options>();
      m.require("routing_key");
      m.read("routing_key", options->routing_key, check_routing_key);
      n.options = std::move(options);
    },
    [](const config::NotifierConfig& cfg) -> std::unique_ptr<Notifier> {
      const auto* options = dynamic_cast<const Options*>(cfg.options.get());
      return std::make_unique<PagerDuty>(options != nullptr ? options->routing_key : std::string());
    },
    /*groups=*/false,  // an incident per alert, PagerDuty groups them itself
};

}  // namespace tend::alerts
