#pragma once
// This host's membership of the cluster: a lease of lease_ttl, kept alive from the loop every
// ttl/3, and PREFIX/members/NODE bound to it. The lease is what every claim of this host is bound
// to, so its loss is the loss of every claim: listeners hear `degraded` and must treat claims made
// under the old lease as gone; `rejoined` comes with a new lease (never the old one again).
//
// "Held" is judged conservatively on the monotonic clock: from the moment the grant or keepalive
// that confirmed the lease was *sent*, for the TTL etcd answered. Past that without a renewal the
// lease counts as lost even if etcd cannot be asked (it is then, or soon will be). Etcd's own
// verdict (fenced compares, "lease not found") is what the guarantees rest on; this local view only
// makes losing it visible without a round trip.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/etcd.hpp"
#include "cluster/keys.hpp"
#include "cluster/settings.hpp"
#include "util/clock.hpp"

namespace spdlog {
class logger;
}

namespace tend::cluster {

/// What the member record says about this host besides its node name.
struct Identity {
  std::string host;     // daemon.host
  std::string version;  // tendd's version
};

struct Member {
  std::string node;
  std::string host;
  std::string version;
  std::string started_at;  // ISO-8601
  LeaseId lease = 0;
  std::optional<std::chrono::seconds> ttl_left;  // nothing: the lease is gone (the key is about to go)
};

enum class State { joining, joined, degraded, stopped };
const char* to_string(State s);

struct Change {
  enum class Kind { joined, degraded, rejoined };
  Kind kind = Kind::joined;
  std::string reason;  // degraded: why ("etcd unreachable: ...", "lease lost: ...")
  LeaseId lease = 0;   // joined, rejoined: the new lease
};
const char* to_string(Change::Kind k);

class Membership {
 public:
  using Listener = std::function<void(const Change&)>;

  /// `settings` is resolved (cluster::resolve) here; `etcd` and `clock` must outlive this.
  Membership(Etcd& etcd, Clock& clock, const Settings& settings, Identity identity);
  ~Membership();
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  /// Add a listener of state changes (called on the loop, in the order added).
  void subscribe(Listener listener);
  /// Grant, register, keep alive; retries on its own (every ttl/3) for as long as this lives.
  void start();
  /// Stop renewing and revoke the lease (the member key and every claim go with it at once, so
  /// other hosts take over without waiting a TTL); `done` runs when etcd answered or gave up.
  void stop(std::function<void()> done);

  [[nodiscard]] State state() const { return state_; }
  /// Why the state is what it is ("" when joined).
  [[nodiscard]] const std::string& reason() const { return reason_; }
  /// The lease held now (0: none).
  [[nodiscard]] LeaseId lease() const { return lease_; }
  /// Joined, under `lease`, and that lease not past its local deadline.
  [[nodiscard]] bool holds(LeaseId lease) const;
  /// Time left on the lease by the local (conservative) deadline; 0 when none is held.
  [[nodiscard]] std::chrono::milliseconds lease_left() const;
  [[nodiscard]] const std::string& node() const { return settings_.node; }
  [[nodiscard]] const Keys& keys() const { return keys_; }

  /// Every member of the cluster with its lease time left (etcd's view), sorted by node.
  void members(Etcd::Done<std::vector<Member>> done);

 private:
  void step();
  void schedule_step(std::chrono::milliseconds delay);
  void do_grant();
  void do_register();
  void do_keepalive();
  void joined();
  void join_failed(const std::string& reason, bool name_conflict);
  void lease_lost(const std::string& reason);
  void arm_deadline();
  void revoke_previous();
  void set_state(State s, std::string reason, std::optional<Change::Kind> event);
  [[nodiscard]] std::string member_value() const;
  template <class F>
  auto guard(F f);

  Etcd& etcd_;
  Clock& clock_;
  Settings settings_;
  Identity identity_;
  Keys keys_;
  std::shared_ptr<spdlog::logger> log_;
  std::vector<Listener> listeners_;

  State state_ = State::joining;
  std::string reason_ = "not started";
  bool ever_joined_ = false;
  bool busy_ = false;  // a grant/register/keepalive is in flight
  LeaseId lease_ = 0;
  bool registered_ = false;
  std::uint64_t epoch_ = 0;  // bumped when a lease is dropped: late answers about it are ignored
  MonoTime deadline_{};
  MonoTime first_attempt_{};
  std::string started_at_;
  std::string last_error_;
  std::vector<LeaseId> previous_;  // leases given up, revoked once etcd answers again
  std::unique_ptr<TimerHandle> step_timer_;
  std::unique_ptr<TimerHandle> deadline_timer_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tend::cluster
