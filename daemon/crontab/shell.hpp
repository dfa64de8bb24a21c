#pragma once
// Just enough of the POSIX shell's lexer to tell a simple command (argv, no expansion) from
// shell syntax, and to find words and operators in a command line. Internal to crontab.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tend::crontab::shell {

struct Token {
  bool op = false;        // an operator (`&&`, `|`, `;`, `>`, `2>&1` parts, ...)
  std::string text;       // as written
  std::string value;      // a word with its quotes removed (meaningful when `simple`)
  bool simple = false;    // a word with no expansion: plain characters and quotes only
  std::size_t start = 0;  // offset in the line
};

struct Lexed {
  std::vector<Token> tokens;
  bool complete = true;  // false: an unclosed quote, or a trailing backslash
};

/// Split a command line into words and operators.
Lexed lex(std::string_view line);

/// The argv of `line` when it is one simple command (no operators, expansions, globs,
/// assignments, reserved words or shell builtins without a program); empty otherwise.
std::vector<std::string> simple_argv(std::string_view line);

/// True for words the shell treats as reserved at the start of a command (`if`, `{`, `!`, ...).
bool is_reserved(std::string_view word);

}  // namespace tend::crontab::shell
