// Generic webhook: SPEC's payload version 1, as is. Custom headers come from the config and are
// added by the outbox.
#include <boost/json.hpp>

#include "alerts/notifier.hpp"

namespace tend::alerts {

namespace {

class Webhook final : public Notifier {
 public:
  [[nodiscard]] std::string render(const Notification& n) const override {
    return boost::json::serialize(payload_v1(n));
  }
};

}  // namespace

std::unique_ptr<Notifier> make_webhook() { return std::make_unique<Webhook>(); }

}  // namespace tend::alerts
