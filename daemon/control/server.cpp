#include "control/server.hpp"

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
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#include "util/log.hpp"

namespace tend::control {
namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

const auto& logger() {
  static auto l = log::get("control");
  return l;
}

/// Supplementary groups of a live process, from /proc (SO_PEERCRED carries only the primary).
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

}  // namespace

boost::json::object error_reply(const std::string& message) {
  boost::json::object o;
  o["ok"] = false;
  o["error"] = message;
  return o;
}

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(asio::io_context& io, Options o, Handler h)
      : io_(io), options_(std::move(o)), handler_(std::move(h)), acceptor_(io) {}

  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(std::shared_ptr<Impl> server, stream::socket socket)
        : server_(std::move(server)), socket_(std::move(socket)), timer_(socket_.get_executor()) {}

    void start() {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
        close();
        return;
      }
      peer_.pid = cred.pid;
      peer_.uid = cred.uid;
      peer_.gid = cred.gid;
      peer_.admin = cred.uid == 0 || cred.uid == ::geteuid();
      if (!peer_.admin && server_->options_.admin_group) {
        const gid_t admin = *server_->options_.admin_group;
        peer_.admin = cred.gid == admin || process_groups(cred.pid).count(admin) > 0;
      }
      read_next();
    }

    void close() {
      boost::system::error_code ec;
      timer_.cancel();
      socket_.shutdown(stream::socket::shutdown_both, ec);
      socket_.close(ec);
    }

   private:
    void read_next() {
      arm_timer();
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
      timer_.cancel();
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
        read_next();
        return;
      }
      boost::system::error_code jec;
      auto value = boost::json::parse(line, jec);
      if (jec || !value.is_object()) {
        respond(error_reply(jec ? "malformed request: " + jec.message() : "malformed request: expected a JSON object"),
                false);
        return;
      }
      auto& request = value.as_object();
      auto* cmd = request.if_contains("cmd");
      if (cmd == nullptr || !cmd->is_string()) {
        respond(error_reply("malformed request: missing \"cmd\""), false);
        return;
      }
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
                            self->read_next();
                          }
                        });
    }

    void finish() {
      close();
      server_->sessions_.erase(this);
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
        if (self->sessions_.size() >= self->options_.max_connections) {
          auto reply = boost::json::serialize(error_reply("too many connections")) + "\n";
          boost::system::error_code wec;
          socket.non_blocking(true, wec);
          asio::write(socket, asio::buffer(reply), wec);  // non-blocking: best effort
          socket.close(wec);
        } else {
          auto session = std::make_shared<Session>(self, std::move(socket));
          self->sessions_[session.get()] = session;
          session->start();
        }
      } else {
        logger()->warn("accept failed: {}", ec.message());
      }
      self->accept();
    });
  }

  asio::io_context& io_;
  Options options_;
  Handler handler_;
  stream::acceptor acceptor_;
  std::map<Session*, std::shared_ptr<Session>> sessions_;
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
    stream::socket probe(impl_->io_);
    boost::system::error_code ec;
    probe.connect(stream::endpoint(path), ec);
    if (!ec) {
      throw std::runtime_error("another daemon is listening on " + path);
    }
    ::unlink(path.c_str());
  }
  const mode_t old_mask = ::umask(0117);  // 0660 from the start: no window with a wider mode
  boost::system::error_code ec;
  impl_->acceptor_.open(stream(), ec);
  if (!ec) {
    impl_->acceptor_.bind(stream::endpoint(path), ec);
  }
  ::umask(old_mask);
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

void Server::stop() {
  if (!impl_) {
    return;
  }
  boost::system::error_code ec;
  if (impl_->acceptor_.is_open()) {
    impl_->acceptor_.close(ec);
    ::unlink(impl_->options_.path.c_str());
  }
  auto sessions = std::move(impl_->sessions_);
  for (auto& [ptr, session] : sessions) {
    session->close();
  }
}

}  // namespace tend::control
