// What each tend command does: build the request, send it, print the reply.

#include "cli/commands.hpp"

#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "cli/app.hpp"
#include "cli/client.hpp"
#include "cli/exec.hpp"
#include "cli/table.hpp"
#include "cli/text.hpp"
#include "crontab/convert.hpp"
#include "schedule/schedule.hpp"
#include "util/duration.hpp"
#include "util/time.hpp"

namespace tend::cli {
namespace json = boost::json;
namespace {

int usage(const Invocation& inv, const std::string& message) { return usage_error(*inv.program, inv.command, message); }

/// A daemon's message on stderr: one line, control characters shown escaped. Multi-line
/// errors (a rejected reload lists every config error) keep their line breaks.
void print_error(const std::string& message) { std::cerr << "tend: " << printable(message, Keep::line_ends) << "\n"; }

/// Send, print errors; returns the exit code and leaves the reply in `out`.
int send(const Invocation& inv, const json::object& req, json::object& out,
         std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  auto r = call(socket_path(inv), req, timeout);
  if (!r.error.empty()) {
    print_error(r.error);
    return r.exit;
  }
  out = std::move(r.reply);
  if (r.exit != exit_ok) {
    const auto* e = out.if_contains("error");
    print_error(e != nullptr && e->is_string() ? std::string(e->as_string()) : "request failed");
  }
  return r.exit;
}

/// Send; print the reply as one JSON line with --json, else with `print` (the table).
int send_and_show(const Invocation& inv, const json::object& req, void (*print)(std::ostream&, const json::object&)) {
  json::object reply;
  const int code = send(inv, req, reply);
  if (code == exit_ok) {
    if (inv.has("json")) {
      std::cout << json::serialize(reply) << "\n";
    } else {
      print(std::cout, reply);
    }
  }
  return code;
}

/// A string member of the reply, or "".
std::string member(const json::object& o, const char* key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

/// Output from outside, written as is to a pipe or file, made harmless on a terminal.
void print_output(const std::string& text) {
  if (::isatty(STDOUT_FILENO) != 0) {
    std::cout << printable(text, Keep::line_ends);
  } else {
    std::cout << text;
  }
}

/// A count from 1 to `max`, or 0 when `text` is not one.
long parse_count(const std::string& text, long max) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < 1 || v > max) {
    return 0;
  }
  return v;
}

/// Copy `-n` into the request as "n"; false (after saying why) when it is not a count.
bool put_count(const Invocation& inv, json::object& req, int& code) {
  if (inv.has("n")) {
    const long n = parse_count(inv.get("n"), 10000);
    if (n < 1) {
      code = usage(inv, "-n must be a number from 1 to 10000");
      return false;
    }
    req["n"] = n;
  }
  return true;
}

bool valid_duration(const Invocation& inv, const std::string& key, int& code) {
  if (!inv.has(key)) {
    return true;
  }
  auto d = parse_duration(inv.get(key));
  if (!d || d->count() <= 0) {
    code = usage(inv, "--" + key + ": " + (d ? std::string("must be more than 0s") : d.error()));
    return false;
  }
  return true;
}

/// Request with a NAME and nothing else to say; prints the daemon's acknowledgement.
int simple(const Invocation& inv, const std::string& cmd) {
  json::object req{{"cmd", cmd}};
  if (inv.has("NAME")) {
    req["name"] = inv.get("NAME");
  }
  int code = exit_ok;
  if (!valid_duration(inv, "for", code)) {
    return code;
  }
  if (inv.has("for")) {
    req["for"] = inv.get("for");
  }
  json::object reply;
  code = send(inv, req, reply);
  if (code == exit_ok) {
    print_ack(std::cout, cmd, reply);
  }
  return code;
}

volatile sig_atomic_t stop_watching = 0;
extern "C" void on_interrupt(int /*signal*/) { stop_watching = 1; }

/// `status --watch`: clear and redraw until Ctrl-C (exit 0). A daemon that goes away is shown,
/// not fatal: the view keeps trying, as `watch tend status` would.
int watch_status(const Invocation& inv, double seconds) {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  const bool tty = ::isatty(STDOUT_FILENO) != 0;
  const bool color = use_color(STDOUT_FILENO);
  bool first = true;
  while (stop_watching == 0) {
    std::ostringstream frame;
    auto r = call(socket_path(inv), json::object{{"cmd", "status"}}, std::chrono::seconds(10));
    if (!r.error.empty() || r.exit != exit_ok) {
      const std::string why = !r.error.empty() ? r.error : member(r.reply, "error");
      frame << paint(printable(why), Color::red, color) << "\n";
    } else {
      StatusStyle style;
      style.tty = tty;
      style.color = color;
      style.width = tty ? terminal_width(STDOUT_FILENO) : 0;
      print_status(frame, r.reply, style);
    }
    // Home, draw each line over the old one (clearing its rest), clear below: no flicker from
    // clearing the whole screen first. The very first frame starts on a clear screen.
    std::string text = frame.str();
    if (tty) {
      std::string drawn;
      for (char c : text) {
        drawn += c == '\n' ? std::string("\033[K\n") : std::string(1, c);
      }
      text = (first ? "\033[H\033[2J" : "\033[H") + drawn + "\033[J";
    } else {
      text += "\n";
    }
    first = false;
    std::cout << text << std::flush;
    if (!std::cout) {
      return exit_failed;  // stdout went away
    }
    // Sleep in slices so Ctrl-C is answered at once.
    for (auto left = static_cast<int>(seconds * 1000); left > 0 && stop_watching == 0; left -= 100) {
      ::poll(nullptr, 0, std::min(left, 100));
    }
  }
  return exit_ok;
}

}  // namespace

std::string socket_path(const Invocation& inv) {
  if (inv.has("socket")) {
    return inv.get("socket");
  }
  if (const char* env = std::getenv("TEND_SOCKET"); env != nullptr && *env != '\0') {
    return env;
  }
  return "/run/tend/tend.sock";
}

int cmd_status(const Invocation& inv) {
  if (inv.has("watch")) {
    double seconds = 2;
    if (!inv.get("watch").empty()) {
      char* end = nullptr;
      const std::string text = inv.get("watch");
      seconds = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(seconds >= 0.1 && seconds <= 86400)) {
        return usage(inv, "--watch takes seconds from 0.1 to 86400 (e.g. --watch 5)");
      }
    }
    if (inv.has("json")) {
      return usage(inv, "--watch and --json do not go together");
    }
    return watch_status(inv, seconds);
  }
  json::object reply;
  const int code = send(inv, json::object{{"cmd", "status"}}, reply);
  if (code == exit_ok) {
    if (inv.has("json")) {
      std::cout << json::serialize(reply) << "\n";
    } else {
      StatusStyle style;
      style.tty = ::isatty(STDOUT_FILENO) != 0;
      style.color = use_color(STDOUT_FILENO);
      style.width = style.tty ? terminal_width(STDOUT_FILENO) : 0;
      print_status(std::cout, reply, style);
    }
  }
  return code;
}

int cmd_history(const Invocation& inv) {
  json::object req{{"cmd", "history"}, {"name", inv.get("NAME")}};
  int code = exit_ok;
  if (!put_count(inv, req, code)) {
    return code;
  }
  return send_and_show(inv, req, print_history);
}

int cmd_output(const Invocation& inv) {
  json::object req{{"cmd", "output"}, {"name", inv.get("NAME")}};
  if (inv.has("RUN_ID")) {
    const std::string text = inv.get("RUN_ID");
    char* end = nullptr;
    const long long id = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || id < 1) {
      return usage(inv, "RUN_ID must be a run number (see tend history " + inv.get("NAME") + ")");
    }
    req["run_id"] = id;
  }
  json::object reply;
  const int code = send(inv, req, reply);
  if (code == exit_ok) {
    print_output(member(reply, "output"));
  }
  return code;
}

int cmd_alerts(const Invocation& inv) {
  json::object req{{"cmd", "alerts"}};
  if (inv.has("NAME")) {
    req["name"] = inv.get("NAME");
  }
  int code = exit_ok;
  if (!put_count(inv, req, code)) {
    return code;
  }
  return send_and_show(inv, req, print_alerts);
}

int cmd_metrics(const Invocation& inv) {
  json::object reply;
  const int code = send(inv, json::object{{"cmd", "metrics"}}, reply);
  if (code == exit_ok) {
    // The exposition text is in "text" (or "metrics"); anything else is shown as it came.
    for (const char* key : {"text", "metrics"}) {
      if (const auto* t = reply.if_contains(key); t != nullptr && t->is_string()) {
        print_output(std::string(t->as_string()));
        return code;
      }
    }
    std::cout << json::serialize(reply) << "\n";
  }
  return code;
}

int cmd_cluster(const Invocation& inv) { return send_and_show(inv, json::object{{"cmd", "cluster"}}, print_cluster); }

int cmd_run(const Invocation& inv) {
  const bool wait = inv.has("wait");
  json::object reply;
  const int code = send(inv, json::object{{"cmd", "run"}, {"name", inv.get("NAME")}, {"wait", wait}}, reply);
  if (code != exit_ok) {
    return code;
  }
  if (!wait) {
    std::cout << "started run " << json::serialize(reply["run_id"]) << "\n";
    return exit_ok;
  }
  print_output(member(reply, "output"));
  const std::string outcome = member(reply, "outcome");
  std::cerr << "run " << json::serialize(reply["run_id"]) << " attempt " << json::serialize(reply["attempt"]) << ": "
            << printable(outcome) << " (" << printable(member(reply, "reason")) << ") in "
            << json::serialize(reply["duration_ms"]) << " ms\n";
  return outcome == "success" ? exit_ok : exit_failed;
}

int cmd_pause(const Invocation& inv) { return simple(inv, "pause"); }
int cmd_resume(const Invocation& inv) { return simple(inv, "resume"); }
int cmd_reload(const Invocation& inv) { return simple(inv, "reload"); }

int cmd_silence(const Invocation& inv) {
  const bool all = inv.has("all");
  if (all == inv.has("NAME")) {
    return usage(inv, all ? "give NAME or --all, not both" : "missing NAME (or --all for every entry)");
  }
  int code = exit_ok;
  if (!valid_duration(inv, "for", code)) {
    return code;
  }
  json::object req{{"cmd", "silence"}, {"for", inv.get("for")}};
  if (all) {
    req["all"] = true;
  } else {
    req["name"] = inv.get("NAME");
  }
  if (inv.has("reason")) {
    req["reason"] = inv.get("reason");
  }
  json::object reply;
  code = send(inv, req, reply);
  if (code == exit_ok) {
    std::cout << "silenced " << printable(member(reply, "target")) << " until " << member(reply, "until") << "\n";
  }
  return code;
}

int cmd_unsilence(const Invocation& inv) {
  const bool all = inv.has("all");
  if (all == inv.has("NAME")) {
    return usage(inv, all ? "give NAME or --all, not both" : "missing NAME (or --all for every silence)");
  }
  json::object req{{"cmd", "unsilence"}};
  if (all) {
    req["all"] = true;
  } else {
    req["name"] = inv.get("NAME");
  }
  json::object reply;
  const int code = send(inv, req, reply);
  if (code == exit_ok) {
    std::cout << "removed " << json::serialize(reply["removed"]) << " silence(s)\n";
  }
  return code;
}

int cmd_test_alert(const Invocation& inv) {
  json::object reply;
  const int code = send(inv, json::object{{"cmd", "test-alert"}, {"notifier", inv.get("NOTIFIER")}}, reply);
  if (code == exit_ok) {
    std::cout << printable(member(reply, "message")) << "\n";
  }
  return code;
}

int cmd_ping(const Invocation& inv) {
  json::object req{{"cmd", "ping"}, {"name", inv.get("NAME")}};
  if (inv.has("WHAT")) {
    req["what"] = inv.get("WHAT");
  }
  if (inv.has("exit")) {
    const std::string text = inv.get("exit");
    char* end = nullptr;
    const long code = std::strtol(text.c_str(), &end, 10);
    if (inv.has("WHAT") || text.empty() || *end != '\0' || code < 0 || code > 255) {
      return usage(inv, "--exit takes an exit code from 0 to 255, instead of start|success|fail");
    }
    req["what"] = "exit";
    req["exit_code"] = code;
  }
  json::object reply;
  // Quiet on success: cron mails whatever a job line prints. A stuck daemon must not hang the job.
  return send(inv, req, reply, std::chrono::seconds(10));
}

int cmd_exec(const Invocation& inv) {
  ExecOptions o;
  o.socket = socket_path(inv);
  o.name = inv.get("NAME");
  o.argv = inv.all("CMD");
  if (inv.has("timeout")) {
    auto d = parse_duration(inv.get("timeout"));
    if (!d || d->count() <= 0) {
      return usage(inv, "--timeout: " + (d ? std::string("must be more than 0s") : d.error()));
    }
    o.timeout = *d;
  }
  return run_exec(o);
}

int cmd_next(const Invocation& inv) {
  const date::time_zone* zone = schedule::system_zone();
  if (inv.has("tz")) {
    auto z = schedule::find_zone(inv.get("tz"));
    if (!z) {
      return usage(inv, "--tz: " + z.error());
    }
    zone = *z;
  }
  auto from = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (inv.has("from")) {
    auto t = parse_iso8601(inv.get("from"));
    if (!t) {
      return usage(inv,
                   "--from: cannot parse '" + printable(inv.get("from")) + "' as ISO-8601 (e.g. 2026-03-29T00:00:00Z)");
    }
    from = std::chrono::floor<std::chrono::seconds>(*t);
  }
  long n = 5;
  if (inv.has("n")) {
    // Up to a year of minutes: `tend next '* * * * *' -n 600000` is how tests compare a year.
    n = parse_count(inv.get("n"), 1'000'000);
    if (n < 1) {
      return usage(inv, "-n must be a number from 1 to 1000000");
    }
  }
  auto sched = schedule::parse_schedule(inv.get("EXPR"), zone);
  if (!sched) {
    print_error(sched.error());
    return exit_failed;
  }
  if (std::holds_alternative<schedule::Reboot>(sched->kind)) {
    print_error("@reboot fires once, when the daemon starts");
    return exit_failed;
  }
  std::string out;
  if (const auto* every = std::get_if<schedule::Every>(&sched->kind)) {
    // Anchored to daemon start; from --from (or now) this shows the spacing.
    for (long i = 1; i <= n; ++i) {
      auto t = from + std::chrono::duration_cast<std::chrono::seconds>(every->interval * i);
      out += schedule::format_local(t, zone) + "\n";
    }
  } else {
    auto t = from;
    for (long i = 0; i < n; ++i) {
      auto next = sched->next_after(t);
      if (!next) {
        break;
      }
      out += schedule::format_local(*next, zone) + "\n";
      t = *next;
    }
  }
  std::cout << out;
  return exit_ok;
}

int cmd_import_crontab(const Invocation& inv) {
  std::string file = inv.get("FILE", "-");
  if (!inv.has("FILE") && ::isatty(STDIN_FILENO) != 0) {
    return usage(inv,
                 "give a FILE, or - to read standard input (e.g. crontab -l | tend import-crontab - --user \"$USER\")");
  }
  if (inv.has("user") && inv.has("system")) {
    return usage(inv, "--user is for a user crontab, --system for a system crontab: give one");
  }
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      print_error("cannot read " + file + ": " + std::strerror(errno));
      return exit_failed;
    }
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  crontab::Options o;
  o.source = file == "-" ? "standard input" : file;
  if (inv.has("user")) {
    o.format = crontab::Format::user;
    o.user = inv.get("user");
  } else if (inv.has("system") || file == "/etc/crontab" || file.rfind("/etc/cron.d/", 0) == 0) {
    o.format = crontab::Format::system;
  }
  o.is_user = [](std::string_view name) {
    // getpwnam_r, not getpwnam: the converter may ask many times.
    passwd pw{};
    passwd* found = nullptr;
    std::string buf(16384, '\0');
    const std::string n(name);
    return ::getpwnam_r(n.c_str(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr;
  };
  const crontab::Result result = crontab::convert(text, o);
  std::cout << result.yaml;
  if (result.unmapped > 0) {
    std::cerr << "tend: " << result.unmapped << " line(s) could not be mapped and were kept as comments"
              << " (look for '# tend: ')\n";
  }
  return exit_ok;
}

int cmd_help(const Invocation& inv) {
  if (!inv.has("COMMAND")) {
    print_help(std::cout, *inv.program, nullptr);
    return exit_ok;
  }
  const std::string name = inv.get("COMMAND");
  const CommandSpec* command = find_command(*inv.program, name);
  if (command == nullptr || command->hidden) {
    std::string message = "unknown command '" + name + "'";
    const auto close = similar_commands(*inv.program, name);
    if (!close.empty()) {
      message += " (did you mean " + close.front() + "?)";
    }
    return usage(inv, message);
  }
  print_help(std::cout, *inv.program, command);
  return exit_ok;
}

int complete_names(const Invocation& inv, const std::string& kind) {
  auto r = call(socket_path(inv), json::object{{"cmd", "status"}}, std::chrono::seconds(1));
  if (!r.error.empty() || r.exit != exit_ok) {
    return exit_ok;  // completion stays quiet
  }
  std::string out;
  auto add = [&](const json::value& v) {
    if (v.is_object()) {
      const std::string name = member(v.as_object(), "name");
      // Only names a shell word can carry as they are.
      if (!name.empty() &&
          name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") ==
              std::string::npos) {
        out += name + "\n";
      }
    }
  };
  if (kind == "notifiers") {
    if (const auto* a = r.reply.if_contains("alerts"); a != nullptr && a->is_object()) {
      if (const auto* n = a->as_object().if_contains("notifiers"); n != nullptr && n->is_array()) {
        for (const auto& v : n->as_array()) {
          add(v);
        }
      }
    }
  } else if (const auto* e = r.reply.if_contains("entries"); e != nullptr && e->is_array()) {
    const std::string want = kind == "jobs" ? "job" : kind == "checks" ? "check" : "";
    for (const auto& v : e->as_array()) {
      if (want.empty() || (v.is_object() && member(v.as_object(), "kind") == want)) {
        add(v);
      }
    }
  }
  std::cout << out;
  return exit_ok;
}

}  // namespace tend::cli
