#include "control/server.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "util/log.hpp"

namespace tend::control {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// How soon to accept again after running out of descriptors.
constexpr std::chrono::milliseconds kAcceptRetry{100};

const auto& logger() {
  static auto l = log::get("control");
  return l;
}

/// The peer's supplementary groups as the kernel recorded them at connect (SO_PEERGROUPS, Linux
/// 4.13): not the racy /proc/PID/status of a process that may have exec'd or died meanwhile.
std::optional<std::set<gid_t>> peer_groups(int fd) {
  std::vector<gid_t> groups(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    auto len = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &len) == 0) {
      groups.resize(len / sizeof(gid_t));
      return std::set<gid_t>(groups.begin(), groups.end());
    }
    if (errno != ERANGE) {
      return std::nullopt;
    }
    groups.resize(len / sizeof(gid_t) + 1);
  }
  return std::nullopt;
}

/// Supplementary groups of a live process, from /proc: only where SO_PEERGROUPS is missing.
std::set<gid_t> process_groups(pid_t pid) {
  std::set<gid_t> groups;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("Groups:", 0) == 0) {
      std::istringstream ls(line.substr(7));
      gid_t g = 0;
      while (ls >> g) {
        groups.insert(g);
      }
    }
  }
  return groups;
}

/// Who is on the other end: SO_PEERCRED, and admin rights from root, our own uid, or the admin
/// group (primary or supplementary). nullopt when the kernel will not say.
std::optional<Peer> identify(int fd, const std::optional<gid_t>& admin_group) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return std::nullopt;
  }
  Peer peer;
  peer.pid = cred.pid;
  peer.uid = cred.uid;
  peer.gid = cred.gid;
  peer.admin = cred.uid == 0 || cred.uid == ::geteuid();
  if (!peer.admin && admin_group) {
    auto groups = peer_groups(fd);
    peer.admin = cred.gid == *admin_group ||
                 (groups ? groups->count(*admin_group) > 0 : process_groups(cred.pid).count(*admin_group) > 0);
  }
  return peer;
}

/// Descriptors of ours must not reach children (Asio opens sockets without SOCK_CLOEXEC).
void set_cloexec(int fd) {
  const int flags = ::fcntl(fd, F_GETFD);
  if (flags >= 0) {
    ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
  }
}

}  // namespace

boost::json::object error_reply(const std::string& message) {
  boost::json::object o;
  o["ok"] = false;
  o["error"] = message;
  return o;
}

Expected<boost::json::object> parse_request(std::string_view line) {
  boost::system::error_code ec;
  auto value = boost::json::parse(line, ec);
  if (ec) {
    return Error{"malformed request: " + ec.message()};
  }
  if (!value.is_object()) {
    return Error{"malformed request: expected a JSON object"};
  }
  auto* cmd = value.as_object().if_contains("cmd");
  if (cmd == nullptr || !cmd->is_string()) {
    return Error{"malformed request: missing \"cmd\""};
  }
  return std::move(value.as_object());
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, Options o, Handler h)
      : io_(io), options_(std::move(o)), handler_(std::move(h)), acceptor_(io), retry_(io) {}

  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(std::shared_ptr<Impl> server, stream::socket socket, Peer peer)
        : server_(std::move(server)), socket_(std::move(socket)), timer_(socket_.get_executor()), peer_(peer) {}

    [[nodiscard]] const Peer& peer() const { return peer_; }

    void start() {
      arm_timer();
      read_next();
    }

    void close() {
      boost::system::error_code ec;
      timer_.cancel();
      socket_.shutdown(stream::socket::shutdown_both, ec);
      socket_.close(ec);
    }

   private:
    // The idle timer is armed when the connection opens and after each answer, not per line read:
    // a client sending empty lines (or nothing) is closed idle_timeout after its last request.
    void read_next() {
      auto self = shared_from_this();
      asio::async_read_until(socket_, asio::dynamic_buffer(buffer_, server_->options_.max_request + 1), '\n',
                             [self](const boost::system::error_code& ec, std::size_t n) { self->on_line(ec, n); });
    }

    void arm_timer() {
      timer_.expires_after(server_->options_.idle_timeout);
      std::weak_ptr<Session> weak = shared_from_this();
      timer_.async_wait([weak](const boost::system::error_code& ec) {
        if (auto self = weak.lock(); self && !ec) {
          self->close();
        }
      });
    }

    void on_line(const boost::system::error_code& ec, std::size_t n) {
      if (ec == asio::error::not_found) {
        // More than max_request bytes without a newline: answer, then drop the connection, since
        // the rest of that line cannot be framed.
        respond(error_reply("request too large (limit " + std::to_string(server_->options_.max_request) + " bytes)"),
                true);
        return;
      }
      if (ec) {
        finish();
        return;
      }
      std::string line = buffer_.substr(0, n - 1);
      buffer_.erase(0, n);
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      if (line.empty()) {
        read_next();  // not a request: the idle timer keeps running
        return;
      }
      timer_.cancel();
      auto parsed = parse_request(line);
      if (!parsed) {
        respond(error_reply(parsed.error()), false);
        return;
      }
      const auto& request = *parsed;
      const auto* cmd = request.if_contains("cmd");
      auto self = shared_from_this();
      auto replied = std::make_shared<bool>(false);
      try {
        server_->handler_(request, peer_, [self, replied](boost::json::object reply) {
          if (*replied) {
            return;
          }
          *replied = true;
          self->respond(std::move(reply), false);
        });
      } catch (const std::exception& e) {
        // A handler bug must cost one request, not the daemon.
        logger()->error("cmd={} handler error: {}", log::quote(std::string(cmd->as_string())), e.what());
        if (!*replied) {
          *replied = true;
          respond(error_reply(std::string("internal error: ") + e.what()), false);
        }
      }
    }

    void respond(boost::json::object reply, bool close_after) {
      out_ = boost::json::serialize(reply);
      out_ += '\n';
      // A client that stops reading gets the idle timeout on the write too.
      arm_timer();
      auto self = shared_from_this();
      asio::async_write(socket_, asio::buffer(out_),
                        [self, close_after](const boost::system::error_code& ec, std::size_t) {
                          self->timer_.cancel();
                          if (ec || close_after) {
                            self->finish();
                          } else {
                            self->arm_timer();
                            self->read_next();
                          }
                        });
    }

    void finish() {
      close();
      server_->forget(this);
    }

    std::shared_ptr<Impl> server_;
    stream::socket socket_;
    asio::steady_timer timer_;
    std::string buffer_;
    std::string out_;
    Peer peer_;
  };

  void accept() {
    auto self = shared_from_this();
    acceptor_.async_accept([self](const boost::system::error_code& ec, stream::socket socket) {
      if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
        return;
      }
      if (!ec) {
        self->starved_ = false;
        self->admit(std::move(socket));
      } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
                 ec == asio::error::no_memory || ec.value() == ENFILE) {
        // Out of descriptors (or memory): the pending client stays in the backlog and the listening
        // socket stays readable, so accepting again at once would spin. Try again shortly, and say
        // so once per streak rather than thousands of times a second.
        if (!self->starved_) {
          logger()->warn("accept failed: {}; retrying every {} ms", ec.message(), kAcceptRetry.count());
          self->starved_ = true;
        }
        self->retry_.expires_after(kAcceptRetry);
        self->retry_.async_wait([self](const boost::system::error_code& wec) {
          if (!wec && self->acceptor_.is_open()) {
            self->accept();
          }
        });
        return;
      } else {
        logger()->warn("accept failed: {}", ec.message());
      }
      self->accept();
    });
  }

  // Abuse from one user degrades only that user: each uid holds at most max_per_uid connections,
  // and the last reserved_for_admin slots are for root and admins only.
  void admit(stream::socket socket) {
    set_cloexec(socket.native_handle());
    auto peer = identify(socket.native_handle(), options_.admin_group);
    std::string refusal;
    if (!peer) {
      refusal = "cannot read the peer's credentials";
    } else if (sessions_.size() >= options_.max_connections) {
      refusal = "too many connections";
    } else if (!peer->admin) {
      const std::size_t others = sessions_.size() - admins_;
      if (others + options_.reserved_for_admin >= options_.max_connections) {
        refusal = "too many connections (the rest are kept for root and the admin group)";
      } else if (per_uid_[peer->uid] >= options_.max_per_uid) {
        refusal = "too many connections from uid " + std::to_string(peer->uid) + " (at most " +
                  std::to_string(options_.max_per_uid) + " at once)";
      }
    }
    if (!refusal.empty()) {
      auto reply = boost::json::serialize(error_reply(refusal)) + "\n";
      boost::system::error_code wec;
      socket.non_blocking(true, wec);
      asio::write(socket, asio::buffer(reply), wec);  // non-blocking: best effort
      socket.close(wec);
      return;
    }
    auto session = std::make_shared<Session>(shared_from_this(), std::move(socket), *peer);
    sessions_[session.get()] = session;
    ++per_uid_[peer->uid];
    admins_ += peer->admin ? 1 : 0;
    session->start();
  }

  void forget(Session* session) {
    auto it = sessions_.find(session);
    if (it == sessions_.end()) {
      return;
    }
    const Peer& peer = session->peer();
    if (auto n = per_uid_.find(peer.uid); n != per_uid_.end() && --n->second == 0) {
      per_uid_.erase(n);
    }
    admins_ -= peer.admin ? 1 : 0;
    sessions_.erase(it);
  }

  asio::io_context& io_;
  Options options_;
  Handler handler_;
  stream::acceptor acceptor_;
  asio::steady_timer retry_;  // accept again after running out of descriptors
  bool starved_ = false;      // said so already in this streak
  std::map<Session*, std::shared_ptr<Session>> sessions_;
  std::map<uid_t, std::size_t> per_uid_;
  std::size_t admins_ = 0;
};

Server::Server(asio::io_context& io, Options options, Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(options), std::move(handler))) {}

Server::~Server() { stop(); }

void Server::start() {
  const auto& path = impl_->options_.path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      throw std::runtime_error("socket path " + path + " exists and is not a socket");
    }
    // A socket file is left by a dead daemon, unless one still answers there.
    stream::socket tester(impl_->io_);
    boost::system::error_code ec;
    tester.connect(stream::endpoint(path), ec);
    if (!ec) {
      throw std::runtime_error("another daemon is listening on " + path);
    }
    ::unlink(path.c_str());
  }
  boost::system::error_code ec;
  impl_->acceptor_.open(stream(), ec);
  if (!ec) {
    set_cloexec(impl_->acceptor_.native_handle());
    impl_->acceptor_.bind(stream::endpoint(path), ec);
  }
  // 0660 before listen(): until then a connect is refused whatever the mode, so there is no window
  // with a wider one. (Not umask(): it is the process's, and the spawner thread may be starting a
  // child at this moment, which would inherit it.)
  if (!ec && ::chmod(path.c_str(), 0660) != 0) {
    ec.assign(errno, boost::system::system_category());
  }
  if (!ec) {
    impl_->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  }
  if (ec) {
    throw std::runtime_error("cannot listen on " + path + ": " + ec.message());
  }
  if (impl_->options_.socket_group) {
    if (::chown(path.c_str(), static_cast<uid_t>(-1), *impl_->options_.socket_group) != 0) {
      logger()->warn("cannot chgrp {}: {}", path, std::strerror(errno));
    }
  }
  impl_->accept();
}

void Server::reconfigure(std::optional<gid_t> socket_group, std::optional<gid_t> admin_group) {
  impl_->options_.admin_group = admin_group;
  if (socket_group != impl_->options_.socket_group) {
    impl_->options_.socket_group = socket_group;
    // Without a group the socket goes back to ours: only root (and our user) keep access.
    const gid_t gid = socket_group ? *socket_group : ::getegid();
    if (::chown(impl_->options_.path.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      logger()->warn("cannot chgrp {}: {}", impl_->options_.path, std::strerror(errno));
    }
  }
}

void Server::stop() {
  if (!impl_) {
    return;
  }
  boost::system::error_code ec;
  impl_->retry_.cancel();
  if (impl_->acceptor_.is_open()) {
    impl_->acceptor_.close(ec);
    ::unlink(impl_->options_.path.c_str());
  }
  auto sessions = std::move(impl_->sessions_);
  impl_->per_uid_.clear();
  impl_->admins_ = 0;
  for (auto& [ptr, session] : sessions) {
    session->close();
  }
}

}  // namespace tend::control
