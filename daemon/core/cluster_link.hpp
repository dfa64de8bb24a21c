#pragma once
// Cluster mode in the daemon: a cluster::Node (etcd client, membership, claims, janitor) behind
// the seams the rest of the daemon sees. Jobs claim ticks through entries::Cluster; membership
// changes become the typed `cluster_degraded` event on the bus (so alerting treats it like any
// other); notifications are claimed so one host sends each; the socket commands read the cluster
// documents from here. Built only when the config has `cluster:`.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "alerts/notification.hpp"
#include "cluster/node.hpp"
#include "entries/services.hpp"
#include "events/event.hpp"
#include "util/clock.hpp"

namespace tend::core {

class ClusterLink final : public entries::Cluster {
 public:
  /// `settings` passed config validation; everything referenced must outlive this.
  ClusterLink(http::Client& http, Clock& clock, const cluster::Settings& settings, cluster::Identity identity,
              events::Bus& bus);
  ~ClusterLink() override;
  ClusterLink(const ClusterLink&) = delete;
  ClusterLink& operator=(const ClusterLink&) = delete;

  /// Join and keep the membership from the loop; take over lost hosts' ticks.
  void start();
  /// Revoke the lease (this host's claims go at once); `done` when etcd answered or gave up.
  void stop(std::function<void()> done);

  // entries::Cluster
  [[nodiscard]] const std::string& node() const override { return node_->settings().node; }
  void claim(const std::string& job, WallTime tick, bool catch_up, Granted done) override;
  void attach(const std::string& job, Listener listener) override;
  void detach(const std::string& job) override;

  /// Whether this host sends `n` (alerts::Engine::Claim): claimed in etcd by its id; sent anyway
  /// when etcd cannot be asked (a duplicate beats a lost alert).
  void claim_notification(const alerts::Notification& n, std::function<void(bool send)> send);
  /// The same id on every host for the same notification (no host in it).
  static std::string notification_id(const alerts::Notification& n);

  /// The status document's `cluster` section.
  [[nodiscard]] boost::json::object status() const;
  /// `tend cluster`: members, lease time left, the last ticks of each job and who ran them.
  void document(std::function<void(boost::json::object)> done);
  /// The newest `n` runs of `job` in etcd as history rows (with "host"); nothing when unreachable.
  void runs(const std::string& job, std::size_t n, std::function<void(std::optional<boost::json::array>)> done);

 private:
  class TickGrant;
  void on_change(const cluster::Change& c);
  void start_claimed(const cluster::Claim& c, Granted done);
  void on_taken_over(const cluster::Claim& c);
  void on_interrupted(const cluster::RunRecord& run);

  Clock& clock_;
  events::Bus& bus_;
  std::shared_ptr<cluster::Node> node_;   // grants hold it weakly: a run may end after a stop
  std::map<std::string, Listener> jobs_;  // run_on: any jobs of this host
  bool degraded_ = false;
  std::vector<std::function<void()>> waiting_join_;  // catch-up claims made before the first join
};

}  // namespace tend::core
