#include "cli/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <cstring>

namespace tend::cli {

Response call(const std::string& socket_path, const boost::json::object& request,
              std::optional<std::chrono::milliseconds> timeout) {
  Response r;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path) {
    r.exit = exit_usage;
    r.error = "socket path too long: " + socket_path;
    return r;
  }
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && timeout) {
    // Reports from `tend exec` must not hang on a stuck daemon: connect, send and receive give up.
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout->count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout->count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    r.exit = exit_unreachable;
    r.error = "cannot reach tendd at " + socket_path + ": " + std::strerror(errno) +
              " (is it running? set --socket or TEND_SOCKET)";
    if (fd >= 0) {
      ::close(fd);
    }
    return r;
  }
  // send() with MSG_NOSIGNAL: a daemon that closes first (it refused an oversized request, or
  // stopped) is an error to report, not a SIGPIPE that kills tend with status 141.
  std::string line = boost::json::serialize(request) + "\n";
  std::string write_error;
  for (std::size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      write_error = n < 0 ? std::strerror(errno) : "nothing written";
      ::shutdown(fd, SHUT_WR);
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  // Read the reply even after a failed send: the daemon may have answered before it closed
  // (a request over its size limit gets an error reply, then the connection is closed).
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  if (in.empty() && !write_error.empty()) {
    r.exit = exit_unreachable;
    r.error = "tendd at " + socket_path + " closed the connection before reading the request (" + write_error + ")";
    return r;
  }
  boost::system::error_code ec;
  auto v = boost::json::parse(in.substr(0, in.find('\n')), ec);
  if (ec || !v.is_object()) {
    r.exit = exit_unreachable;
    r.error = "no valid reply from tendd at " + socket_path +
              (in.empty() ? (timeout ? " (timed out or closed)" : " (it closed the connection)") : "");
    return r;
  }
  r.reply = std::move(v.as_object());
  const auto* ok = r.reply.if_contains("ok");
  r.exit = (ok != nullptr && ok->is_bool() && ok->as_bool()) ? exit_ok : exit_failed;
  return r;
}

}  // namespace tend::cli
