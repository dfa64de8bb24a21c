#include "util/log.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <mutex>

namespace tend::log {
namespace {

struct State {
  std::mutex mutex;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %n: %v";
};

State& state() {
  static State s;
  return s;
}

spdlog::sink_ptr sink_locked(State& s) {
  if (!s.sink) {
    // 8192 queued lines, one worker thread; overrun_oldest so a blocked stderr never blocks us.
    spdlog::init_thread_pool(8192, 1);
    s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  return s.sink;
}

}  // namespace

void configure(const std::string& level, const std::string& format) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.level = spdlog::level::from_str(level == "warning" ? "warn" : level);
  if (format == "json") {
    s.pattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","module":"%n","msg":"%v"})";
  } else {
    s.pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %n: %v";
  }
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->set_level(s.level);
    l->set_pattern(s.pattern);
  });
}

std::shared_ptr<spdlog::logger> get(const std::string& module) {
  if (auto existing = spdlog::get(module)) {
    return existing;
  }
  auto& s = state();
  std::lock_guard lock(s.mutex);
  if (auto existing = spdlog::get(module)) {
    return existing;
  }
  auto sink = sink_locked(s);
  auto logger = std::make_shared<spdlog::async_logger>(module, sink, spdlog::thread_pool(),
                                                       spdlog::async_overflow_policy::overrun_oldest);
  logger->set_level(s.level);
  logger->set_pattern(s.pattern);
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

void shutdown() { spdlog::shutdown(); }

std::string quote(const std::string& text) {
  bool plain = !text.empty();
  for (char c : text) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t' || c == '\\') {
      plain = false;
      break;
    }
  }
  if (plain) {
    return text;
  }
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

}  // namespace tend::log
