#pragma once
// A program's command line as data: commands, their arguments, options and examples. tend and
// tendd each declare one ProgramSpec; the CLI11 parser, `--help`, the man page and the bash
// completion are all generated from it, so none of them can drift from the others.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tend::cli {

/// Exit codes of `tend` and `tendd` (SPEC "Socket and CLI").
enum Exit : int { exit_ok = 0, exit_failed = 1, exit_usage = 2, exit_unreachable = 3 };

/// What the value of an argument or option completes to (bash completion).
enum class Complete {
  none,
  entry,     // any entry name (from the daemon's status)
  job,       // job names
  check,     // check names
  notifier,  // notifier names
  file,      // a path
  zone,      // an IANA time zone
  command,   // one of the program's commands
  program,   // a program on PATH, then its arguments
};

/// An option or flag (`--json`, `-n COUNT`, `--watch [SECONDS]`).
struct OptionSpec {
  std::string names{};          // CLI11 form: "-n,--count" or "--json"
  std::string value{};          // "COUNT"; empty for a flag
  std::string help{};           // one line
  bool optional_value = false;  // `--watch [SECONDS]`: the value may be left out
  std::string example{};        // a sample value, for error messages ("10m")
  bool required = false;        // `silence --for`: a usage error when missing
  Complete complete = Complete::none;
  bool hidden = false;  // generator switches, not for people
};

/// A positional argument (`NAME`, `[RUN_ID]`, `CMD...`).
struct ArgSpec {
  std::string name{};  // "NAME"
  std::string help{};
  bool required = true;
  bool many = false;          // takes the rest of the words
  bool after_dashes = false;  // only after `--` (tend exec's CMD)
  Complete complete = Complete::none;
  std::vector<std::string> choices{};  // fixed words it may be (ping's start|success|fail)
};

struct Invocation;

/// One command (`tend history`), or the whole program for a program without commands (tendd).
struct CommandSpec {
  std::string name{};
  std::string group{};        // heading in `tend help` ("inspect", "control", ...)
  std::string summary{};      // one line, lower case, no full stop
  std::string description{};  // paragraphs separated by blank lines; `code` in backticks
  std::vector<ArgSpec> args{};
  std::vector<OptionSpec> options{};
  std::vector<std::pair<std::string, std::string>> examples{};  // command line, what it does
  std::function<int(const Invocation&)> run{};
  bool hidden = false;
};

/// A man page section of its own (EXIT STATUS, FILES, SIGNALS, ...): title and text.
struct Section {
  std::string title{};
  std::string text{};  // paragraphs; lines "TERM\tmeaning" become a tagged list
};

/// A whole program.
struct ProgramSpec {
  std::string name{};                 // "tend"
  int man_section = 1;                // 1 or 8
  std::string summary{};              // NAME line of the man page
  std::string usage{};                // "[--socket PATH] COMMAND [ARGS...]"
  std::string description{};          // paragraphs
  std::vector<OptionSpec> options{};  // global options
  std::vector<CommandSpec> commands{};
  std::vector<Section> sections{};      // after the commands: EXIT STATUS, ENVIRONMENT, FILES, ...
  std::vector<std::string> see_also{};  // "tendd(8)"
  std::string footer{};                 // last lines of `--help`
};

/// The parsed command line, as the command's `run` sees it.
struct Invocation {
  const ProgramSpec* program = nullptr;
  const CommandSpec* command = nullptr;
  /// Values by key: an option's longest name without dashes ("for", "json", "n"), an argument's
  /// name ("NAME"). Present only when given; a flag or an option given without its optional
  /// value maps to an empty list.
  std::map<std::string, std::vector<std::string>> values{};

  [[nodiscard]] bool has(const std::string& key) const { return values.count(key) > 0; }
  /// The (last) value of `key`, or `fallback` when not given or given without a value.
  [[nodiscard]] std::string get(const std::string& key, const std::string& fallback = "") const;
  /// All values of `key` (the words of a `many` argument).
  [[nodiscard]] std::vector<std::string> all(const std::string& key) const;
};

/// The key under which an option's value is stored: its longest name without dashes.
std::string option_key(const std::string& names);

/// The names of an option as written: "-n, --count".
std::vector<std::string> option_names(const std::string& names);

}  // namespace tend::cli
