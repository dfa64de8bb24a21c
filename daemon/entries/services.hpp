#pragma once
// Everything entries may use, in one place: the daemon fills it once and each kind's factory takes
// what it needs. Every member is a seam (tests give a kind's own Context instead).

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "util/clock.hpp"
#include "util/duration.hpp"
#include "util/spread.hpp"

namespace boost::asio {
class io_context;
}
namespace tend::events {
class Bus;
}
namespace tend::http {
class Client;
}
namespace tend::process {
class Launcher;
}
namespace tend::remedies {
struct Context;
}
namespace tend::state {
class Store;
}
namespace tend::config {
struct DaemonConfig;
}

namespace tend::entries {

/// A builtin job's result: ok, one-line reason, output (the report it produced).
using BuiltinDone = std::function<void(bool ok, std::string reason, std::string output)>;

/// Runs `builtin: NAME` jobs (daemon/builtins/).
class Builtins {
 public:
  virtual ~Builtins() = default;
  /// Run builtin `builtin` for job `job`; `done` runs on the loop exactly once.
  virtual void run(const std::string& builtin, const std::string& job, BuiltinDone done) = 0;
};

/// Cluster mode's say over the ticks of `run_on: any` jobs (core adapts daemon/cluster to it);
/// absent outside cluster mode.
class Cluster {
 public:
  /// A tick this host won: the run is recorded in etcd as started (fenced) before the grant is
  /// given; its end goes through finished().
  class Grant {
   public:
    Grant() = default;
    Grant(const Grant&) = delete;
    Grant& operator=(const Grant&) = delete;
    virtual ~Grant() = default;
    /// The run ended: record its result where every host sees it (fenced: refused, and logged,
    /// when the claim was lost meanwhile).
    virtual void finished(std::int64_t run_id, const std::string& outcome, const std::string& reason,
                          std::int64_t duration_ms) = 0;
  };
  /// A grant (run the tick), or nullptr: another host has it, or etcd cannot be asked (not run).
  using Granted = std::function<void(std::shared_ptr<Grant>)>;
  /// A tick given to a job without it asking (taken over from a host that was lost).
  using Given = std::function<void(WallTime tick, std::shared_ptr<Grant>)>;
  /// What a `run_on: any` job hears from the cluster without asking.
  struct Listener {
    Given given;
    /// A run of this job that had started on `node` lost its host (host_lost). The cluster has
    /// recorded it as interrupted; exactly one host of the cluster hears it, and tells it.
    std::function<void(WallTime tick, const std::string& node)> interrupted;
  };

  Cluster() = default;
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;
  virtual ~Cluster() = default;

  /// This host's node name (`run_on: host NAME` compares with it).
  [[nodiscard]] virtual const std::string& node() const = 0;
  /// Race for `job`'s tick (`catch_up`: a missed tick, won once per job across the cluster);
  /// `done` runs on the loop, never before this returns.
  virtual void claim(const std::string& job, WallTime tick, bool catch_up, Granted done) = 0;
  /// `job` takes ticks of lost hosts, and hears of its runs they took with them, until detach().
  virtual void attach(const std::string& job, Listener listener) = 0;
  virtual void detach(const std::string& job) = 0;
};

struct Services {
  boost::asio::io_context& io;
  Clock& clock;
  state::Store& store;
  events::Bus& bus;
  process::Launcher& launcher;
  http::Client& http;
  remedies::Context& remedies;
  Builtins& builtins;
  Spread& spread;
  /// The daemon section in force (children's `daemon.env`); the daemon keeps it current on reload.
  const config::DaemonConfig& daemon;
  MonoTime started_mono;  // anchor of @every schedules
  std::function<std::int64_t()> next_run_id;
  std::function<Duration(Duration max)> random_delay;  // jitter
  Cluster* cluster = nullptr;                          // cluster mode; null: a single host
};

}  // namespace tend::entries
