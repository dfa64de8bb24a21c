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
  std::string line = boost::json::serialize(request) + "\n";
  for (std::size_t off = 0; off < line.size();) {
    ssize_t n = ::write(fd, line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      r.exit = exit_unreachable;
      r.error = "write to " + socket_path + " failed: " + std::strerror(errno);
      ::close(fd);
      return r;
    }
    off += static_cast<std::size_t>(n);
  }
  std::string in;
  char buf[65536];
  while (in.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    in.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  boost::system::error_code ec;
  auto v = boost::json::parse(in.substr(0, in.find('\n')), ec);
  if (ec || !v.is_object()) {
    r.exit = exit_unreachable;
    r.error = "no valid reply from tendd at " + socket_path + (in.empty() && timeout ? " (timed out)" : "");
    return r;
  }
  r.reply = std::move(v.as_object());
  const auto* ok = r.reply.if_contains("ok");
  r.exit = (ok != nullptr && ok->is_bool() && ok->as_bool()) ? exit_ok : exit_failed;
  return r;
}

}  // namespace tend::cli
