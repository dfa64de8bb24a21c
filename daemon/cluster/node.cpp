#include "cluster/node.hpp"

#include <utility>

namespace tend::cluster {

Node::Node(http::Client& http, Clock& clock, const Settings& settings, Identity identity)
    : settings_(resolve(settings)),
      etcd_(make_gateway(http, clock, gateway_options(settings_))),
      membership_(*etcd_, clock, settings_, std::move(identity)),
      claims_(*etcd_, clock, membership_, settings_),
      janitor_(*etcd_, clock, settings_) {}

// Members go in reverse: janitor, claims and membership before the client they call through.
Node::~Node() = default;

void Node::start() {
  membership_.start();
  claims_.start();
  janitor_.start();
}

void Node::stop(std::function<void()> done) {
  janitor_.stop();
  membership_.stop(std::move(done));  // the sweep stops by itself: it needs a held lease
}

}  // namespace tend::cluster
