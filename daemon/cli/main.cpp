// tend: the command-line client of tendd's status socket (and `tend next`, which needs no daemon).

#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/client.hpp"
#include "cli/exec.hpp"
#include "cli/table.hpp"
#include "schedule/schedule.hpp"
#include "util/duration.hpp"
#include "util/time.hpp"

namespace json = boost::json;
using namespace tend::cli;

namespace {

int usage(std::ostream& out, int code) {
  out << "usage: tend [--socket PATH] COMMAND [ARGS]\n"
         "  status [--json]                       every job, watch and check: state, last result, last/next run\n"
         "  history NAME [-n 20] [--json]          recent runs with durations, exit codes, reasons\n"
         "  output NAME [RUN_ID]                  captured output of a run (default: the last)\n"
         "  run NAME [--wait]                     run a job now; --wait exits 0 on success, 1 otherwise\n"
         "  pause NAME [--for 10m] | resume NAME  suspend or resume scheduling\n"
         "  reload                                re-read the configuration (as SIGHUP)\n"
         "  ping NAME [start|success|fail|--exit CODE]   report in for a passive check (default success)\n"
         "  exec NAME [--timeout 5m] -- CMD...    run CMD, report its start, end, exit code and output tail;\n"
         "                                        exits with CMD's status (124 on timeout), daemon or not\n"
         "  silence NAME|--all --for 2h [--reason TEXT]   mute notifications (alerts are still recorded)\n"
         "  unsilence NAME|--all                  end a silence (--all: every silence)\n"
         "  test-alert NOTIFIER                   send a test notification now and report the result\n"
         "  alerts [NAME] [-n 50] [--json]        the alert log: what fired, resolved, was sent or muted\n"
         "  next 'EXPR' [--tz ZONE] [--from ISO-8601] [-n 5]   next fire times; needs no daemon\n"
         "socket: --socket PATH, else $TEND_SOCKET, else /run/tend/tend.sock\n"
         "exit codes: 0 ok, 1 request failed, 2 usage error, 3 daemon not reachable\n";
  return code;
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --for 10m, -n 5
  std::map<std::string, bool> flags;           // --json, --wait
};

/// Split argv into positionals, options taking a value, and boolean flags.
std::optional<Args> parse(const std::vector<std::string>& argv, const std::vector<std::string>& with_value,
                          const std::vector<std::string>& boolean) {
  Args a;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const auto& s = argv[i];
    if (std::find(with_value.begin(), with_value.end(), s) != with_value.end()) {
      if (i + 1 >= argv.size()) {
        std::cerr << "tend: " << s << " needs a value\n";
        return std::nullopt;
      }
      a.options[s] = argv[++i];
    } else if (std::find(boolean.begin(), boolean.end(), s) != boolean.end()) {
      a.flags[s] = true;
    } else if (s.size() > 1 && s[0] == '-') {
      std::cerr << "tend: unknown option " << s << "\n";
      return std::nullopt;
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

/// Send, print errors; returns the exit code and leaves the reply in `out`.
int send(const std::string& socket, const json::object& req, json::object& out,
         std::optional<std::chrono::milliseconds> timeout = std::nullopt) {
  auto r = call(socket, req, timeout);
  if (!r.error.empty()) {
    std::cerr << "tend: " << r.error << "\n";
    return r.exit;
  }
  out = std::move(r.reply);
  if (r.exit != exit_ok) {
    const auto* e = out.if_contains("error");
    std::cerr << "tend: " << (e != nullptr && e->is_string() ? std::string(e->as_string()) : "request failed") << "\n";
  }
  return r.exit;
}

/// Copy `-n` into the request as "n"; false (after saying why) when it is not a count.
bool put_count(const Args& a, json::object& req);

/// Print the reply as JSON with --json, else with `table`.
template <class Table>
void print_reply(const Args& a, const json::object& reply, Table table) {
  if (a.flags.count("--json") > 0) {
    std::cout << json::serialize(reply) << "\n";
  } else {
    table(reply);
  }
}

/// A count from 1 to 10000, or 0 when `text` is not one.
int parse_count(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(text.c_str(), &end, 10);
  if (errno != 0 || end == text.c_str() || *end != '\0' || v < 1 || v > 10000) {
    return 0;
  }
  return static_cast<int>(v);
}

bool put_count(const Args& a, json::object& req) {
  if (auto it = a.options.find("-n"); it != a.options.end()) {
    const int n = parse_count(it->second);
    if (n < 1) {
      std::cerr << "tend: -n must be a number from 1 to 10000\n";
      return false;
    }
    req["n"] = n;
  }
  return true;
}

int cmd_next(const std::vector<std::string>& argv) {
  auto a = parse(argv, {"--tz", "--from", "-n"}, {});
  if (!a || a->positional.size() != 1) {
    return usage(std::cerr, exit_usage);
  }
  const date::time_zone* zone = tend::schedule::system_zone();
  if (auto it = a->options.find("--tz"); it != a->options.end()) {
    auto z = tend::schedule::find_zone(it->second);
    if (!z) {
      std::cerr << "tend: " << z.error() << "\n";
      return exit_usage;
    }
    zone = *z;
  }
  auto from = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  if (auto it = a->options.find("--from"); it != a->options.end()) {
    auto t = tend::parse_iso8601(it->second);
    if (!t) {
      std::cerr << "tend: --from: cannot parse '" << it->second << "' as ISO-8601\n";
      return exit_usage;
    }
    from = std::chrono::floor<std::chrono::seconds>(*t);
  }
  int n = 5;
  if (auto it = a->options.find("-n"); it != a->options.end()) {
    n = parse_count(it->second);
    if (n < 1 || n > 10000) {
      std::cerr << "tend: -n must be from 1 to 10000\n";
      return exit_usage;
    }
  }
  auto sched = tend::schedule::parse_schedule(a->positional[0], zone);
  if (!sched) {
    std::cerr << "tend: " << sched.error() << "\n";
    return exit_failed;
  }
  if (std::holds_alternative<tend::schedule::Reboot>(sched->kind)) {
    std::cerr << "tend: @reboot fires once, when the daemon starts\n";
    return exit_failed;
  }
  if (const auto* every = std::get_if<tend::schedule::Every>(&sched->kind)) {
    // Anchored to daemon start; from --from (or now) this shows the spacing.
    for (int i = 1; i <= n; ++i) {
      auto t = from + std::chrono::duration_cast<std::chrono::seconds>(every->interval * i);
      std::cout << tend::schedule::format_local(t, zone) << "\n";
    }
    return exit_ok;
  }
  auto t = from;
  for (int i = 0; i < n; ++i) {
    auto next = sched->next_after(t);
    if (!next) {
      break;
    }
    std::cout << tend::schedule::format_local(*next, zone) << "\n";
    t = *next;
  }
  return exit_ok;
}

int cmd_status(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {}, {"--json"});
  if (!a || !a->positional.empty()) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", "status"}};
  json::object reply;
  int code = send(socket, req, reply);
  if (code == exit_ok) {
    if (a->flags.count("--json") > 0) {
      std::cout << json::serialize(reply) << "\n";
    } else {
      print_status(std::cout, reply, isatty(STDOUT_FILENO) != 0);
    }
  }
  return code;
}

int cmd_history(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {"-n"}, {"--json"});
  if (!a || a->positional.size() != 1) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", "history"}, {"name", a->positional[0]}};
  if (!put_count(*a, req)) {
    return exit_usage;
  }
  json::object reply;
  int code = send(socket, req, reply);
  if (code == exit_ok) {
    print_reply(*a, reply, [](const json::object& r) { print_history(std::cout, r); });
  }
  return code;
}

int cmd_output(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {}, {});
  if (!a || a->positional.empty() || a->positional.size() > 2) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", "output"}, {"name", a->positional[0]}};
  if (a->positional.size() == 2) {
    char* end = nullptr;
    long long id = std::strtoll(a->positional[1].c_str(), &end, 10);
    if (end == nullptr || *end != '\0') {
      std::cerr << "tend: RUN_ID must be a number\n";
      return exit_usage;
    }
    req["run_id"] = id;
  }
  json::object reply;
  int code = send(socket, req, reply);
  if (code == exit_ok) {
    std::cout << std::string_view(reply["output"].as_string());
  }
  return code;
}

int cmd_run(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {}, {"--wait"});
  if (!a || a->positional.size() != 1) {
    return usage(std::cerr, exit_usage);
  }
  const bool wait = a->flags.count("--wait") > 0;
  json::object req{{"cmd", "run"}, {"name", a->positional[0]}, {"wait", wait}};
  json::object reply;
  int code = send(socket, req, reply);
  if (code != exit_ok) {
    return code;
  }
  if (!wait) {
    std::cout << "started run " << json::serialize(reply["run_id"]) << "\n";
    return exit_ok;
  }
  std::cout << std::string_view(reply["output"].as_string());
  const std::string outcome(reply["outcome"].as_string());
  std::cerr << "run " << json::serialize(reply["run_id"]) << " attempt " << json::serialize(reply["attempt"]) << ": "
            << outcome << " (" << std::string_view(reply["reason"].as_string()) << ") in "
            << json::serialize(reply["duration_ms"]) << " ms\n";
  return outcome == "success" ? exit_ok : exit_failed;
}

int cmd_simple(const std::string& socket, const std::string& cmd, const std::vector<std::string>& argv) {
  auto a = parse(argv, {"--for"}, {});
  const bool needs_name = cmd != "reload";
  if (!a || a->positional.size() != (needs_name ? 1U : 0U) || (cmd != "pause" && !a->options.empty())) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", cmd}};
  if (needs_name) {
    req["name"] = a->positional[0];
  }
  if (auto it = a->options.find("--for"); it != a->options.end()) {
    if (auto d = tend::parse_duration(it->second); !d) {
      std::cerr << "tend: --for: " << d.error() << "\n";
      return exit_usage;
    }
    req["for"] = it->second;
  }
  json::object reply;
  int code = send(socket, req, reply);
  if (code == exit_ok) {
    print_ack(std::cout, cmd, reply);
  }
  return code;
}

int cmd_silence(const std::string& socket, const std::string& cmd, const std::vector<std::string>& argv) {
  const bool on = cmd == "silence";
  auto a = on ? parse(argv, {"--for", "--reason"}, {"--all"}) : parse(argv, {}, {"--all"});
  const bool all = a && a->flags.count("--all") > 0;
  if (!a || a->positional.size() != (all ? 0U : 1U)) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", cmd}};
  if (all) {
    req["all"] = true;
  } else {
    req["name"] = a->positional[0];
  }
  if (on) {
    auto it = a->options.find("--for");
    if (it == a->options.end()) {
      std::cerr << "tend: silence needs --for DURATION (e.g. --for 2h): a silence always ends by itself\n";
      return exit_usage;
    }
    if (auto d = tend::parse_duration(it->second); !d) {
      std::cerr << "tend: --for: " << d.error() << "\n";
      return exit_usage;
    }
    req["for"] = it->second;
    if (auto r = a->options.find("--reason"); r != a->options.end()) {
      req["reason"] = r->second;
    }
  }
  json::object reply;
  int code = send(socket, req, reply);
  if (code == exit_ok) {
    if (on) {
      std::cout << "silenced " << std::string_view(reply["target"].as_string()) << " until "
                << std::string_view(reply["until"].as_string()) << "\n";
    } else {
      std::cout << "removed " << json::serialize(reply["removed"]) << " silence(s)\n";
    }
  }
  return code;
}

int cmd_test_alert(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {}, {});
  if (!a || a->positional.size() != 1) {
    return usage(std::cerr, exit_usage);
  }
  json::object reply;
  int code = send(socket, {{"cmd", "test-alert"}, {"notifier", a->positional[0]}}, reply);
  if (code == exit_ok) {
    std::cout << std::string_view(reply["message"].as_string()) << "\n";
  }
  return code;
}

int cmd_alerts(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {"-n"}, {"--json"});
  if (!a || a->positional.size() > 1) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", "alerts"}};
  if (!a->positional.empty()) {
    req["name"] = a->positional[0];
  }
  if (!put_count(*a, req)) {
    return exit_usage;
  }
  json::object reply;
  int code = send(socket, req, reply);
  if (code == exit_ok) {
    print_reply(*a, reply, [](const json::object& r) { print_alerts(std::cout, r); });
  }
  return code;
}

int cmd_ping(const std::string& socket, const std::vector<std::string>& argv) {
  auto a = parse(argv, {"--exit"}, {});
  if (!a || a->positional.empty() || a->positional.size() > 2) {
    return usage(std::cerr, exit_usage);
  }
  json::object req{{"cmd", "ping"}, {"name", a->positional[0]}};
  if (a->positional.size() == 2) {
    const auto& what = a->positional[1];
    if (what != "start" && what != "success" && what != "fail") {
      std::cerr << "tend: ping: '" << what << "' is not start, success or fail\n";
      return exit_usage;
    }
    req["what"] = what;
  }
  if (auto it = a->options.find("--exit"); it != a->options.end()) {
    char* end = nullptr;
    const long code = std::strtol(it->second.c_str(), &end, 10);
    if (a->positional.size() == 2 || it->second.empty() || *end != '\0' || code < 0 || code > 255) {
      std::cerr << "tend: ping: --exit takes an exit code from 0 to 255, instead of start|success|fail\n";
      return exit_usage;
    }
    req["what"] = "exit";
    req["exit_code"] = code;
  }
  json::object reply;
  // Quiet on success: cron mails whatever a job line prints. A stuck daemon must not hang the job.
  return send(socket, req, reply, std::chrono::seconds(10));
}

int cmd_exec(const std::string& socket, const std::vector<std::string>& argv) {
  const auto dashes = std::find(argv.begin(), argv.end(), "--");
  if (dashes == argv.end() || dashes + 1 == argv.end()) {
    std::cerr << "tend: exec needs -- and then the command: tend exec NAME [--timeout 5m] -- CMD...\n";
    return exit_usage;
  }
  auto a = parse(std::vector<std::string>(argv.begin(), dashes), {"--timeout"}, {});
  if (!a || a->positional.size() != 1) {
    return usage(std::cerr, exit_usage);
  }
  ExecOptions o;
  o.socket = socket;
  o.name = a->positional[0];
  o.argv.assign(dashes + 1, argv.end());
  if (auto it = a->options.find("--timeout"); it != a->options.end()) {
    auto d = tend::parse_duration(it->second);
    if (!d || d->count() <= 0) {
      std::cerr << "tend: --timeout: " << (d ? "must be more than 0s" : d.error()) << "\n";
      return exit_usage;
    }
    o.timeout = *d;
  }
  return run_exec(o);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string socket = "/run/tend/tend.sock";
  if (const char* env = std::getenv("TEND_SOCKET"); env != nullptr && *env != '\0') {
    socket = env;
  }
  while (!args.empty() && args[0].rfind("--socket", 0) == 0) {
    if (args[0] == "--socket" && args.size() >= 2) {
      socket = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (args[0].rfind("--socket=", 0) == 0) {
      socket = args[0].substr(9);
      args.erase(args.begin());
    } else {
      return usage(std::cerr, exit_usage);
    }
  }
  if (args.empty()) {
    return usage(std::cerr, exit_usage);
  }
  const std::string cmd = args[0];
  std::vector<std::string> rest(args.begin() + 1, args.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    return usage(std::cout, exit_ok);
  }
  if (cmd == "next") {
    return cmd_next(rest);
  }
  if (cmd == "status") {
    return cmd_status(socket, rest);
  }
  if (cmd == "history") {
    return cmd_history(socket, rest);
  }
  if (cmd == "output") {
    return cmd_output(socket, rest);
  }
  if (cmd == "run") {
    return cmd_run(socket, rest);
  }
  if (cmd == "ping") {
    return cmd_ping(socket, rest);
  }
  if (cmd == "exec") {
    return cmd_exec(socket, rest);
  }
  if (cmd == "pause" || cmd == "resume" || cmd == "reload") {
    return cmd_simple(socket, cmd, rest);
  }
  if (cmd == "silence" || cmd == "unsilence") {
    return cmd_silence(socket, cmd, rest);
  }
  if (cmd == "test-alert") {
    return cmd_test_alert(socket, rest);
  }
  if (cmd == "alerts") {
    return cmd_alerts(socket, rest);
  }
  std::cerr << "tend: unknown command '" << cmd << "'\n";
  return usage(std::cerr, exit_usage);
}
