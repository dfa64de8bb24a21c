#include "util/log.hpp"

#include <spdlog/async.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <cstdio>
#include <mutex>

namespace tend::log {
namespace {

struct State {
  std::mutex mutex;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
  std::string pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %n: %v";
};

void append(spdlog::memory_buf_t& dest, std::string_view text) { dest.append(text.data(), text.data() + text.size()); }

/// %* : the message escaped for a JSON string, so format: json stays valid JSON whatever a
/// job name or reason contains.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm& /*tm*/, spdlog::memory_buf_t& dest) override {
    for (char c : msg.payload) {
      switch (c) {
        case '"':
          append(dest, "\\\"");
          break;
        case '\\':
          append(dest, "\\\\");
          break;
        case '\n':
          append(dest, "\\n");
          break;
        case '\t':
          append(dest, "\\t");
          break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            append(dest, buf);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<JsonEscapedMessage>();
  }
};

constexpr std::size_t kQueuedLines = 256;

State& state() {
  static State s;
  return s;
}

spdlog::sink_ptr sink_locked(State& s) {
  if (!s.sink) {
    // One worker thread; overrun_oldest so a blocked stderr never blocks us. spdlog allocates and
    // constructs every slot up front (408 bytes each): 8,192 slots were 3.3 MB of resident memory,
    // half of tendd's own at 100 probes, and 1,024 still 412 kB (issue 14). 256 lines is a burst
    // far longer than the worker, which writes a line in a few microseconds, ever lets pile up
    // unless stderr blocks, and then no queue size helps.
    spdlog::init_thread_pool(kQueuedLines, 1);
    s.sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  }
  return s.sink;
}

std::unique_ptr<spdlog::formatter> make_formatter(const std::string& pattern) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  f->add_flag<JsonEscapedMessage>('*').set_pattern(pattern);
  return f;
}

}  // namespace

void configure(const std::string& level, const std::string& format) {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  s.level = spdlog::level::from_str(level == "warning" ? "warn" : level);
  if (format == "json") {
    s.pattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%e%z","level":"%l","module":"%n","msg":"%*"})";
  } else {
    s.pattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %n: %v";
  }
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->set_level(s.level);
    l->set_formatter(make_formatter(s.pattern));
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
  logger->set_formatter(make_formatter(s.pattern));
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
