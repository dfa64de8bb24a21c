#include "core/systemd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <string>

namespace tend::core {

void notify_ready() { sd_notify(0, "READY=1\nSTATUS=running"); }

void notify_reloading() {
  // MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload to its READY=1.
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  auto usec =
      static_cast<unsigned long long>(ts.tv_sec) * 1000000ULL + static_cast<unsigned long long>(ts.tv_nsec) / 1000ULL;
  std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  sd_notify(0, msg.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

void notify_status(const std::string& text) { sd_notify(0, ("STATUS=" + text).c_str()); }

std::optional<std::chrono::microseconds> watchdog_interval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
    return std::chrono::microseconds(usec / 2);
  }
  return std::nullopt;
}

}  // namespace tend::core
