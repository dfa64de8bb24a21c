// The command-line layer: terminal text (escaping, widths, cutting, relative times) and parsing
// a ProgramSpec with CLI11 (values, help, usage errors that name the command and the fix).

#include <catch.hpp>
#include <chrono>
#include <iostream>
#include <sstream>

#include "cli/app.hpp"
#include "cli/tendd_program.hpp"
#include "cli/text.hpp"

using namespace tend::cli;
using namespace std::chrono_literals;

namespace {

/// Captures std::cout and std::cerr while alive.
struct Capture {
  std::ostringstream out;
  std::ostringstream err;
  std::streambuf* old_out = std::cout.rdbuf(out.rdbuf());
  std::streambuf* old_err = std::cerr.rdbuf(err.rdbuf());
  ~Capture() {
    std::cout.rdbuf(old_out);
    std::cerr.rdbuf(old_err);
  }
};

ProgramSpec toy() {
  ProgramSpec p;
  p.name = "toy";
  p.summary = "a toy";
  p.usage = "COMMAND";
  p.options = {{.names = "--socket", .value = "PATH", .help = "where"}};
  p.commands = {
      {.name = "history",
       .summary = "show history",
       .args = {{.name = "NAME", .help = "an entry"}},
       .options = {{.names = "-n", .value = "COUNT", .help = "how many", .example = "20"},
                   {.names = "--json", .help = "as JSON"}},
       .examples = {{"toy history backup", "the runs of backup"}}},
      {.name = "status",
       .summary = "show status",
       .options = {{.names = "-w,--watch", .value = "SECONDS", .help = "redraw", .optional_value = true}}},
      {.name = "exec",
       .summary = "run",
       .args = {{.name = "NAME", .help = "a check"},
                {.name = "CMD", .help = "the command", .many = true, .after_dashes = true}},
       .options = {{.names = "--timeout", .value = "DURATION", .help = "limit"}}},
      {.name = "silence",
       .summary = "mute",
       .args = {{.name = "NAME", .help = "an entry", .required = false}},
       .options = {{.names = "--for", .value = "DURATION", .help = "how long", .example = "2h", .required = true}}},
      {.name = "ping",
       .summary = "report",
       .args = {{.name = "NAME", .help = "a check"},
                {.name = "WHAT", .help = "what", .required = false, .choices = {"start", "success", "fail"}}}},
  };
  return p;
}

}  // namespace

TEST_CASE("printable: outside text cannot drive the terminal", "[cli][text]") {
  CHECK(printable("ok \xE2\x9C\x93 done") == "ok \xE2\x9C\x93 done");  // UTF-8 stays
  CHECK(printable("\x1b[2J\x1b]0;pwned\x07") == "\\x1b[2J\\x1b]0;pwned\\x07");
  CHECK(printable("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(printable("a\nb\tc\r\nd\re", Keep::line_ends) == "a\nb\tc\r\nd\\re");
  CHECK(printable("\xC2\x9B"
                  "31m") == "\\x9b31m");                                       // C1 CSI
  CHECK(printable("x\xE2\x80\xAEy") == "x\\u202ey");                           // right-to-left override
  CHECK(printable("bad \xFF\xC3 end") == "bad \xEF\xBF\xBD\xEF\xBF\xBD end");  // U+FFFD
  CHECK(printable("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate is invalid
  CHECK(printable(std::string("nul\0x", 5)) == "nul\\x00x");
}

TEST_CASE("display width, truncate and pad", "[cli][text]") {
  CHECK(display_width("abc") == 3);
  CHECK(display_width("\xE2\x9C\x93") == 1);              // ✓
  CHECK(display_width("\xE4\xB8\xAD\xE6\x96\x87") == 4);  // 中文: wide
  CHECK(display_width("e\xCC\x81") == 1);                 // e + combining acute
  CHECK(fit_width("backup-database", 8) == "backup-\xE2\x80\xA6");
  CHECK(display_width(fit_width("backup-database", 8)) == 8);
  CHECK(fit_width("short", 8) == "short");
  CHECK(display_width(fit_width("\xE4\xB8\xAD\xE6\x96\x87\xE4\xB8\xAD", 4)) <= 4);
  CHECK(pad("ab", 4) == "ab  ");
  CHECK(pad("abcdef", 4) == "abcdef");
}

TEST_CASE("paint and relative times", "[cli][text]") {
  CHECK(paint("up", Color::green, false) == "up");
  CHECK(paint("up", Color::green, true) == "\x1b[32mup\x1b[0m");
  const auto now = std::chrono::system_clock::now();
  CHECK(relative_time(now + 3min + 2s, now) == "in 3m");
  CHECK(relative_time(now - 2h - 5min, now) == "2h ago");
  CHECK(relative_time(now + 45s, now) == "in 45s");
  CHECK(relative_time(now - 50h, now) == "2d ago");
  CHECK(relative_time(now, now) == "now");
}

TEST_CASE("parse: values, optional values, global options anywhere", "[cli][parse]") {
  const ProgramSpec p = toy();
  Capture c;
  auto r = parse(p, {"history", "backup", "-n", "5", "--json", "--socket", "/x.sock"});
  REQUIRE_FALSE(r.exit);
  CHECK(r.invocation.command->name == "history");
  CHECK(r.invocation.get("NAME") == "backup");
  CHECK(r.invocation.get("n") == "5");
  CHECK(r.invocation.has("json"));
  CHECK(r.invocation.get("socket") == "/x.sock");

  r = parse(p, {"status", "--watch"});
  REQUIRE_FALSE(r.exit);
  CHECK(r.invocation.has("watch"));
  CHECK(r.invocation.get("watch", "2") == "2");
  r = parse(p, {"status", "-w", "5"});
  CHECK(r.invocation.get("watch") == "5");

  r = parse(p, {"exec", "nightly", "--timeout", "5m", "--", "sh", "-c", "echo --json"});
  REQUIRE_FALSE(r.exit);
  CHECK(r.invocation.get("timeout") == "5m");
  CHECK(r.invocation.all("CMD") == std::vector<std::string>{"sh", "-c", "echo --json"});

  // `--` elsewhere only ends the options: a name may start with a dash.
  r = parse(p, {"history", "--", "-odd"});
  REQUIRE_FALSE(r.exit);
  CHECK(r.invocation.get("NAME") == "-odd");
}

TEST_CASE("parse: usage errors name the command and the fix", "[cli][parse]") {
  const ProgramSpec p = toy();
  const auto error_of = [&](std::vector<std::string> words) {
    Capture c;
    const auto r = parse(p, words);
    CHECK(r.exit == std::optional<int>(exit_usage));
    return c.err.str();
  };
  CHECK(error_of({"history", "x", "--frob"}) ==
        "toy history: unknown option '--frob' (options: -n COUNT, --json)\nTry 'toy history --help' for more "
        "information.\n");
  CHECK(error_of({"history", "x", "-n"}).rfind("toy history: -n needs a value: -n COUNT (e.g. -n 20)\n", 0) == 0);
  CHECK(error_of({"history"}).rfind("toy history: missing NAME (usage: toy history NAME [-n COUNT] [--json])", 0) == 0);
  CHECK(error_of({"history", "a", "b"}).rfind("toy history: unexpected argument 'b'", 0) == 0);
  CHECK(error_of({"histroy"}).rfind("toy: unknown command 'histroy' (did you mean history?)", 0) == 0);
  CHECK(error_of({"exec", "n", "sh"}).rfind("toy exec: missing --: the command to run goes after --", 0) == 0);
  CHECK(error_of({"exec", "n", "--"}).rfind("toy exec: nothing after --", 0) == 0);
  CHECK(error_of({"silence", "x"}).rfind("toy silence: missing --for DURATION (e.g. --for 2h)", 0) == 0);
  CHECK(error_of({"ping", "x", "maybe"}).rfind("toy ping: WHAT 'maybe' is not one of start, success, fail", 0) == 0);
}

TEST_CASE("help: from the spec, for the program and each command", "[cli][help]") {
  const ProgramSpec p = toy();
  {
    Capture c;
    const auto r = parse(p, {"history", "--help"});  // NAME is missing, help still wins
    CHECK(r.exit == std::optional<int>(exit_ok));
    CHECK(c.out.str().rfind("toy history: show history\n\nusage: toy history NAME [-n COUNT] [--json]\n", 0) == 0);
    CHECK(c.out.str().find("  # the runs of backup\n  toy history backup\n") != std::string::npos);
  }
  std::ostringstream out;
  print_help(out, p, nullptr);
  CHECK(out.str().find("  history         show history\n") != std::string::npos);
  CHECK(out.str().find("--socket PATH") != std::string::npos);
}

TEST_CASE("man page: roff escaping, every command, ASCII only", "[cli][man]") {
  const ProgramSpec p = toy();
  std::ostringstream out;
  print_man(out, p, "1.2.3", "2026-01-02");
  const std::string man = out.str();
  CHECK(man.find(".TH TOY 1 \"2026-01-02\" \"tend 1.2.3\" \"User Commands\"\n") != std::string::npos);
  CHECK(man.find(".SS \"toy history\"\n") != std::string::npos);
  CHECK(man.find("\\fB\\-n\\fR \\fICOUNT\\fR") != std::string::npos);
  CHECK(std::all_of(man.begin(), man.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x80; }));

  std::ostringstream daemon;
  print_man(daemon, tendd_program(), "1.2.3", "");
  CHECK(daemon.str().find(".TH TENDD 8") != std::string::npos);
  CHECK(daemon.str().find(".SH SIGNALS") != std::string::npos);
}

TEST_CASE("tendd flags", "[cli][tendd]") {
  Capture c;
  const char* check[] = {"tendd", "--check", "/tmp/x.yaml"};
  auto r = parse_daemon_flags(3, check, "9.9");
  REQUIRE_FALSE(r.exit);
  CHECK(r.flags.check);
  CHECK(r.flags.config == "/tmp/x.yaml");
  const char* config[] = {"tendd", "-c", "/etc/y.yaml", "--check"};
  r = parse_daemon_flags(4, config, "9.9");
  REQUIRE_FALSE(r.exit);
  CHECK(r.flags.check);
  CHECK(r.flags.config == "/etc/y.yaml");  // --check without FILE checks the --config file
  const char* bad[] = {"tendd", "--frob"};
  CHECK(parse_daemon_flags(2, bad, "9.9").exit == std::optional<int>(exit_usage));
  CHECK(c.err.str().find("tendd: unknown option '--frob'") != std::string::npos);
  const char* version[] = {"tendd", "--version"};
  CHECK(parse_daemon_flags(2, version, "9.9").exit == std::optional<int>(exit_ok));
  CHECK(c.out.str() == "tendd 9.9\n");
}
