#pragma once
// Cluster mode's parts wired together: what the daemon builds when its config has a `cluster:`
// section, and tears down (stop(), then destruction) before the HTTP client and the loop.
//
//   cluster::Node node(http, clock, settings, {host, version});
//   node.membership().subscribe(...);   // joined / degraded / rejoined → status, cluster_degraded
//   node.claims().set_handlers(...);    // runs_job, taken_over, interrupted → jobs
//   node.start();
//   ... node.claims().claim(job, tick, ...) at each tick of a run_on: any job ...
//   node.stop([] { /* lease revoked: this host's claims are free for the others */ });

#include <functional>
#include <memory>

#include "cluster/claims.hpp"
#include "cluster/etcd.hpp"
#include "cluster/janitor.hpp"
#include "cluster/membership.hpp"
#include "cluster/settings.hpp"

namespace tend {
class Clock;
namespace http {
class Client;
}
}  // namespace tend

namespace tend::cluster {

class Node {
 public:
  /// `settings` must have passed validate(); `http` and `clock` must outlive this.
  Node(http::Client& http, Clock& clock, const Settings& settings, Identity identity);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// Join (and keep retrying), sweep for take-overs, clean up old records.
  void start();
  /// Revoke the lease (the member key and every claim of this host go at once); `done` runs when
  /// etcd answered or gave up (bounded by the operation timeout).
  void stop(std::function<void()> done);

  [[nodiscard]] Etcd& etcd() { return *etcd_; }
  [[nodiscard]] Membership& membership() { return membership_; }
  [[nodiscard]] Claims& claims() { return claims_; }
  [[nodiscard]] Janitor& janitor() { return janitor_; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
  std::unique_ptr<Etcd> etcd_;
  Membership membership_;
  Claims claims_;
  Janitor janitor_;
};

}  // namespace tend::cluster
