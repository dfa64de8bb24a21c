#pragma once
// Parsing a command line against a ProgramSpec (with CLI11), and what is generated from the spec:
// `--help` text, the man page, the bash completion script.

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "cli/spec.hpp"

namespace tend::cli {

/// The outcome of parsing: an invocation to run, or an exit code when parsing already answered
/// (help shown, usage error reported).
struct Parsed {
  std::optional<int> exit;
  Invocation invocation;
};

/// Parse `words` (argv without argv[0]). Help requests print to stdout (exit 0); usage errors
/// print to stderr naming the command and the fix (exit 2). Words after the first `--` go to the
/// command's `after_dashes` argument; for other commands they are ordinary arguments.
Parsed parse(const ProgramSpec& program, const std::vector<std::string>& words);

/// A usage error: "tend history: MESSAGE" and the pointer to help, on stderr; returns exit_usage.
int usage_error(const ProgramSpec& program, const CommandSpec* command, const std::string& message);

/// `tend COMMAND --help` (or the program's help when `command` is nullptr).
void print_help(std::ostream& out, const ProgramSpec& program, const CommandSpec* command);

/// The synopsis of a command: "tend history NAME [-n COUNT] [--json]".
std::string synopsis(const ProgramSpec& program, const CommandSpec* command);

/// The man page in roff (man(7) macros, ASCII only, so `groff -ww` and lintian stay quiet).
/// `date` goes into the header (empty: none, for reproducible builds without SOURCE_DATE_EPOCH).
void print_man(std::ostream& out, const ProgramSpec& program, const std::string& version, const std::string& date);

/// The date for man page headers: $SOURCE_DATE_EPOCH (reproducible builds) as YYYY-MM-DD, else "".
std::string man_date();

/// The bash completion script: commands, options per command, and names from the daemon through
/// `PROGRAM --complete KIND` (quietly nothing when it does not answer).
void print_bash_completion(std::ostream& out, const ProgramSpec& program);

/// The command named `name` (hidden ones included), or nullptr.
const CommandSpec* find_command(const ProgramSpec& program, const std::string& name);

/// Up to three command names close to `name` (edit distance), for "did you mean".
std::vector<std::string> similar_commands(const ProgramSpec& program, const std::string& name);

}  // namespace tend::cli
