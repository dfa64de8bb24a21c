#include "core/systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace tend::core {
namespace {

/// One datagram to the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" in the abstract
/// namespace), as sd_notify(3) documents the protocol. systemd calls that protocol, not
/// libsystemd's wrapper of it, the interface, and suggests this over linking libsystemd for it:
/// tendd then maps libsystemd (and lz4, zstd, lzma, gcrypt behind it) only once a systemd remedy
/// needs its sd-bus (remedies/sd_bus_api). Without $NOTIFY_SOCKET, or on a socket type other than
/// AF_UNIX (vsock), nothing is sent, as libsystemd's sd_notify does outside a notify service.
void send(std::string_view message) {
  const char* socket_path = std::getenv("NOTIFY_SOCKET");
  if (socket_path == nullptr || (socket_path[0] != '/' && socket_path[0] != '@')) {
    return;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t length = std::strlen(socket_path);
  if (length < 2 || length >= sizeof addr.sun_path) {
    return;
  }
  std::memcpy(addr.sun_path, socket_path, length);
  if (addr.sun_path[0] == '@') {
    addr.sun_path[0] = '\0';
  }
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return;
  }
  // Blocking, as libsystemd's: the manager reads its queue at once, and a dropped READY=1 would
  // fail the start.
  (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&addr),
                 static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length));
  ::close(fd);
}

/// A decimal environment variable, if set and whole.
std::optional<unsigned long long> env_number(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) {
    return std::nullopt;
  }
  unsigned long long value = 0;
  const char* end = text + std::strlen(text);
  const auto [ptr, ec] = std::from_chars(text, end, value);
  if (ec != std::errc() || ptr != end || ptr == text) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

void notify_ready() { send("READY=1\nSTATUS=running"); }

void notify_reloading() {
  // MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload to its READY=1.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec =
      static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping() { send("STOPPING=1"); }

void notify_watchdog() { send("WATCHDOG=1"); }

void notify_status(const std::string& text) { send("STATUS=" + text); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  // sd_watchdog_enabled(3): WATCHDOG_USEC, for this process only if WATCHDOG_PID names another.
  const auto usec = env_number("WATCHDOG_USEC");
  if (!usec || *usec == 0) {
    return std::nullopt;
  }
  if (const auto pid = env_number("WATCHDOG_PID"); pid && *pid != static_cast<unsigned long long>(::getpid())) {
    return std::nullopt;
  }
  return std::chrono::microseconds(*usec / 2);
}

}  // namespace tend::core
