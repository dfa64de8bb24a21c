#pragma once
// The socket's commands: one table of {name, who may run it, handler} rows (table.cpp). Admin
// rights and dispatch both read the row, so they cannot disagree. Handlers act on the entries
// through the registry and never name a kind.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "control/server.hpp"

namespace tend::alerts {
class Engine;
class Heartbeat;
}  // namespace tend::alerts
namespace tend::entries {
class Registry;
}
namespace tend::state {
class Store;
}
namespace tend {
class Clock;
}

namespace tend::commands {

/// What the commands act on (the daemon's components).
struct Services {
  Clock& clock;
  entries::Registry& entries;
  state::Store& store;
  alerts::Engine& alerts;
  alerts::Heartbeat& heartbeat;
  /// The `daemon` section of the status document (version, config, ...), from the daemon.
  std::function<boost::json::object()> daemon_section;
  /// Reload the configuration; the reply lists what changed.
  std::function<void(control::Reply)> reload;
  /// The Prometheus text exposition (`tend metrics`, the same text as GET /metrics).
  std::function<std::string()> metrics_text;

  // Cluster mode (all empty outside it).
  /// The `cluster` section of the status document: node, state, lease time left.
  std::function<boost::json::object()> cluster_section;
  /// `tend cluster`: members with their lease time left, the last ticks of each job and who ran them.
  std::function<void(std::function<void(boost::json::object)>)> cluster_document;
  /// The newest `n` runs of `job` as the cluster recorded them, every host's (run rows with "host"),
  /// or nothing when etcd cannot be asked.
  std::function<void(const std::string& job, std::size_t n, std::function<void(std::optional<boost::json::array>)>)>
      cluster_runs;
};

/// Who may run a command: anyone who can open the socket, or root and `admin_group` only.
enum class Access { anyone, admin };

using Handler =
    std::function<void(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply)>;

struct Command {
  std::string_view name;
  Access access;
  Handler run;
};

/// Every command, in table order.
std::span<const Command> table();

/// Run the row of `req`'s "cmd", if the peer may; otherwise an error reply.
void dispatch(Services& s, const boost::json::object& req, const control::Peer& peer, control::Reply reply);

/// `tend status --json`: the daemon section, every entry, alerts, heartbeat.
boost::json::object status_document(Services& s);

}  // namespace tend::commands
