// A small POSIX sh lexer: words (with quoting), operators, and whether a word expands.

#include "crontab/shell.hpp"

#include <algorithm>
#include <array>

namespace tend::crontab::shell {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

/// Characters that start an operator outside quotes.
bool is_op_char(char c) { return c == '|' || c == '&' || c == ';' || c == '<' || c == '>' || c == '(' || c == ')'; }

/// Characters that make a word expand (or glob) when unquoted.
bool expands(char c) { return c == '$' || c == '`' || c == '*' || c == '?' || c == '[' || c == '{' || c == '}'; }

/// Builtins with no program of the same name on Debian: as argv they could not be run.
constexpr std::array<std::string_view, 26> kBuiltinsOnly = {
    "cd",       ".",        "source", "exit",  "export", "set",     "unset", "alias",  "read",
    "eval",     "exec",     "ulimit", "umask", "trap",   "wait",    "shift", "return", "break",
    "continue", "readonly", "times",  "type",  "hash",   "getopts", "local", "time"};

}  // namespace

bool is_reserved(std::string_view word) {
  static constexpr std::array<std::string_view, 19> reserved = {
      "if",    "then", "else", "elif", "fi", "do", "done", "case", "esac",    "while",
      "until", "for",  "in",   "!",    "{",  "}",  "[[",   "]]",   "function"};
  return std::find(reserved.begin(), reserved.end(), word) != reserved.end();
}

Lexed lex(std::string_view s) {
  Lexed out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_blank(s[i])) {
      ++i;
      continue;
    }
    if (s[i] == '\n') {
      out.tokens.push_back({true, "\n", "", false, i});
      ++i;
      continue;
    }
    if (is_op_char(s[i])) {
      // Longest operator first: && || ;; >> << <& >& <> >|
      std::size_t len = 1;
      if (i + 1 < s.size()) {
        const std::string_view two = s.substr(i, 2);
        for (std::string_view op : {"&&", "||", ";;", ">>", "<<", "<&", ">&", "<>", ">|"}) {
          len = two == op ? 2 : len;
        }
      }
      out.tokens.push_back({true, std::string(s.substr(i, len)), "", false, i});
      i += len;
      continue;
    }
    if (s[i] == '#') {
      // A comment runs to the end of the line; it is shell syntax, never an argument.
      out.tokens.push_back({true, std::string(s.substr(i)), "", false, i});
      break;
    }
    Token t;
    t.start = i;
    t.simple = true;
    if (s[i] == '~') {
      t.simple = false;  // tilde expansion
    }
    while (i < s.size() && !is_blank(s[i]) && s[i] != '\n' && !is_op_char(s[i])) {
      const char c = s[i];
      if (c == '\\') {
        if (i + 1 >= s.size()) {
          out.complete = false;
          ++i;
          break;
        }
        if (s[i + 1] == '\n') {
          t.simple = false;  // a line continuation
        }
        t.value.push_back(s[i + 1]);
        i += 2;
      } else if (c == '\'') {
        const auto end = s.find('\'', i + 1);
        if (end == std::string_view::npos) {
          out.complete = false;
          t.simple = false;
          i = s.size();
          break;
        }
        t.value.append(s.substr(i + 1, end - i - 1));
        i = end + 1;
      } else if (c == '"') {
        std::size_t j = i + 1;
        bool closed = false;
        while (j < s.size()) {
          if (s[j] == '"') {
            closed = true;
            break;
          }
          if (s[j] == '$' || s[j] == '`') {
            t.simple = false;
          }
          if (s[j] == '\\' && j + 1 < s.size() &&
              (s[j + 1] == '$' || s[j + 1] == '`' || s[j + 1] == '"' || s[j + 1] == '\\')) {
            t.value.push_back(s[j + 1]);
            j += 2;
            continue;
          }
          if (s[j] == '\\' && j + 1 < s.size() && s[j + 1] == '\n') {
            t.simple = false;
          }
          t.value.push_back(s[j]);
          ++j;
        }
        if (!closed) {
          out.complete = false;
          t.simple = false;
          i = s.size();
          break;
        }
        i = j + 1;
      } else {
        if (expands(c)) {
          t.simple = false;
        }
        t.value.push_back(c);
        ++i;
      }
    }
    t.text = std::string(s.substr(t.start, i - t.start));
    out.tokens.push_back(std::move(t));
  }
  return out;
}

std::vector<std::string> simple_argv(std::string_view line) {
  const Lexed lexed = lex(line);
  if (!lexed.complete || lexed.tokens.empty()) {
    return {};
  }
  std::vector<std::string> argv;
  for (const auto& t : lexed.tokens) {
    if (t.op || !t.simple) {
      return {};
    }
    argv.push_back(t.value);
  }
  const std::string& first = lexed.tokens.front().text;
  // `VAR=x cmd` is an assignment; a reserved word or a builtin needs the shell.
  if (argv.front().empty() || first.find('=') != std::string::npos || is_reserved(first) ||
      std::find(kBuiltinsOnly.begin(), kBuiltinsOnly.end(), argv.front()) != kBuiltinsOnly.end()) {
    return {};
  }
  return argv;
}

}  // namespace tend::crontab::shell
