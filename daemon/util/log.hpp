#pragma once
// Named loggers (one per module: "jobs", "control", "state", ...) sharing one stderr sink.
// Lines are greppable key=value text, or one JSON object per line. Logging goes through spdlog's
// async logger with overrun_oldest: a slow stderr (a stuck journald) drops old lines rather
// than stalling the loop.

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace tend::log {

/// Configure level ("info", ...) and format ("text" | "json"); applies to every logger, also
/// those created later. Safe to call again on reload.
void configure(const std::string& level, const std::string& format);

/// The logger for a module, created on first use.
std::shared_ptr<spdlog::logger> get(const std::string& module);

/// Flush and stop the async worker (end of main).
void shutdown();

/// `"text"` quoted for a key=value line when it has spaces or quotes; as-is otherwise.
std::string quote(const std::string& text);

}  // namespace tend::log
