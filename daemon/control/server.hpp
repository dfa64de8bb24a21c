#pragma once
// The status socket: a Unix stream socket speaking one JSON object per line each way.
// Peer credentials (SO_PEERCRED) are attached to every request; the handler decides what the
// peer may do. Each connection is served in order; a slow, idle, oversized or garbled client
// gets an error or is dropped, and never holds up the loop or other clients.

#include <sys/types.h>

#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/expected.hpp"

namespace boost::asio {
class io_context;
}

namespace tend::control {

struct Peer {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  bool admin = false;  // root, the daemon's own user, or a member of admin_group
};

/// Send the reply (exactly once; may be called later, e.g. for `run --wait`).
using Reply = std::function<void(boost::json::object)>;
using Handler = std::function<void(const boost::json::object& request, const Peer& peer, Reply reply)>;

struct Options {
  std::string path;
  std::optional<gid_t> socket_group;  // chgrp the socket to this group (mode 0660 always)
  std::optional<gid_t> admin_group;
  std::size_t max_request = std::size_t{64} * 1024;
  std::size_t max_connections = 128;
  /// Connections one non-admin uid may hold at once: one user cannot crowd out the others.
  std::size_t max_per_uid = 8;
  /// Of max_connections, these only root and admins may take: `tend status`, `tend reload` and
  /// the like always get through, whatever other users do.
  std::size_t reserved_for_admin = 16;
  /// A connection that sends no request for this long is closed (empty lines are not requests).
  std::chrono::milliseconds idle_timeout{60'000};
};

/// Build an error reply {"ok":false,"error":message}.
boost::json::object error_reply(const std::string& message);

/// One request line (without its newline) -> the request, a JSON object with a string "cmd"; else
/// the error reply's message ("malformed request: ..."). What the server does with every line.
Expected<boost::json::object> parse_request(std::string_view line);

class Server {
 public:
  Server(boost::asio::io_context& io, Options options, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Bind and listen (replacing a stale socket file; refusing when another daemon answers there).
  /// Throws std::runtime_error with the path on failure (start-up).
  void start();
  /// Stop accepting and close every connection.
  void stop();
  /// A reload changed the groups: new connections are judged by the new admin group, and the
  /// socket's group is changed (the path stays; moving it needs a restart).
  void reconfigure(std::optional<gid_t> socket_group, std::optional<gid_t> admin_group);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace tend::control
