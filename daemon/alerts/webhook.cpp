// Generic webhook: SPEC's payload version 1, as is (a group: payload v1 with "group"). Custom headers come from the
// config and are added by the outbox.
#include <boost/json.hpp>

#include "alerts/notifier.hpp"
#include "util/text.hpp"

namespace tend::alerts {

namespace {

class Webhook final : public Notifier {
 public:
  [[nodiscard]] std::string render(const Notification& n) const override {
    return boost::json::serialize(payload_v1(n));
  }
  [[nodiscard]] std::string render_group(const GroupMessage& g) const override {
    return boost::json::serialize(group_payload_v1(g));
  }
};

}  // namespace

extern const NotifierType webhook_type;
const NotifierType webhook_type{
    "webhook",
    config::read_http_notifier,
    [](const config::NotifierConfig& /*cfg*/) -> std::unique_ptr<Notifier> { return std::make_unique<Webhook>(); },
};

}  // namespace tend::alerts
