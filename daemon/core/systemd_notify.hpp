#pragma once
// sd_notify(3) messages for Type=notify, and the watchdog interval systemd asks for.

#include <chrono>
#include <optional>
#include <string>

namespace tend::core {

void notify_ready();
void notify_reloading();
void notify_stopping();
void notify_watchdog();
void notify_status(const std::string& text);
/// The interval at which WATCHDOG=1 must be sent (half of WatchdogSec=), when enabled.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace tend::core
