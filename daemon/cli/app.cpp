// The command line from a ProgramSpec: CLI11 parses, and help, man page and completion are
// rendered from the same spec.

#include "cli/app.hpp"

#include <CLI/CLI.hpp>  // the whole header: App needs Config.hpp and Formatter.hpp's definitions
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <iostream>
#include <set>
#include <sstream>

namespace tend::cli {

std::string Invocation::get(const std::string& key, const std::string& fallback) const {
  const auto it = values.find(key);
  return it == values.end() || it->second.empty() ? fallback : it->second.back();
}

std::vector<std::string> Invocation::all(const std::string& key) const {
  const auto it = values.find(key);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

std::vector<std::string> option_names(const std::string& names) {
  std::vector<std::string> out;
  std::stringstream in(names);
  for (std::string name; std::getline(in, name, ',');) {
    out.push_back(name);
  }
  return out;
}

std::string option_key(const std::string& names) {
  std::string best;
  for (const auto& n : option_names(names)) {
    if (n.size() > best.size()) {
      best = n;
    }
  }
  return best.substr(best.find_first_not_of('-'));
}

namespace {

constexpr std::size_t kWidth = 80;  // help and man text are laid out for 80 columns, as man does

// ---- parsing --------------------------------------------------------------------------------

/// One option or positional as given to CLI11, and where its values land.
struct Bound {
  std::string key;
  const CommandSpec* command = nullptr;  // nullptr: a global option
  const OptionSpec* option = nullptr;
  const ArgSpec* arg = nullptr;
  CLI::Option* cli = nullptr;
  std::vector<std::string> store;
};

/// Options that only say "show help"; every command has them.
const OptionSpec kHelpOption{.names = "-h,--help", .help = "show this help"};

std::string display_names(const OptionSpec& o) {
  std::string out;
  for (const auto& n : option_names(o.names)) {
    out += (out.empty() ? "" : ", ") + n;
  }
  return out;
}

/// "--for DURATION", "--watch [SECONDS]", "--json".
std::string option_usage(const OptionSpec& o, bool all_names) {
  std::string s = all_names ? display_names(o) : option_names(o.names).back();
  if (!o.value.empty()) {
    s += o.optional_value ? " [" + o.value + "]" : " " + o.value;
  }
  return s;
}

std::string arg_usage(const ArgSpec& a) {
  std::string s = a.name + (a.many ? "..." : "");
  if (a.after_dashes) {
    s = "-- " + s;
  }
  return a.required ? s : "[" + s + "]";
}

const CommandSpec* command_of(const ProgramSpec& program, const CLI::App& app) {
  const auto selected = app.get_subcommands();
  return selected.empty() ? nullptr : find_command(program, selected.front()->get_name());
}

const OptionSpec* option_named(const ProgramSpec& program, const CommandSpec* command, const std::string& name) {
  auto match = [&](const std::vector<OptionSpec>& options) -> const OptionSpec* {
    for (const auto& o : options) {
      const auto names = option_names(o.names);
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        return &o;
      }
    }
    return nullptr;
  };
  const OptionSpec* found = command != nullptr ? match(command->options) : nullptr;
  return found != nullptr ? found : match(program.options);
}

std::string options_list(const CommandSpec& command) {
  std::string s;
  for (const auto& o : command.options) {
    if (!o.hidden) {
      s += (s.empty() ? "" : ", ") + option_usage(o, false);
    }
  }
  return s.empty() ? "none" : s;
}

/// What one parse attempt found. `retry_without_split` asks for a parse of the unsplit words.
struct Attempt {
  Parsed parsed;
  bool retry_without_split = false;
};

Attempt parse_once(const ProgramSpec& program, std::vector<std::string> words, const std::vector<std::string>& after,
                   bool dashes) {
  Attempt result;
  CLI::App app(program.summary, program.name);
  app.set_help_flag();
  app.allow_extras();
  app.require_subcommand(0, 1);  // `tend help status`: the second word is an argument, not a command
  std::deque<Bound> bound;       // a deque keeps the stores in place while CLI11 holds pointers to them

  auto add_option = [&](CLI::App& target, const CommandSpec* command, const OptionSpec& o) {
    Bound& b = bound.emplace_back();
    b.key = option_key(o.names);
    b.command = command;
    b.option = &o;
    if (o.value.empty()) {
      b.cli = target.add_flag(o.names);
    } else {
      b.cli = target.add_option(o.names, b.store);
      b.cli->expected(o.optional_value ? 0 : 1, 1);
      b.cli->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      b.cli->allow_extra_args(false);  // a value is one word: `-n 5 NAME` leaves NAME alone
    }
  };
  for (const auto& o : program.options) {
    add_option(app, nullptr, o);
  }
  add_option(app, nullptr, kHelpOption);
  for (const auto& c : program.commands) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    sub->set_help_flag();
    sub->allow_extras();
    sub->fallthrough();  // global options (--socket) may come after the command
    for (const auto& o : c.options) {
      add_option(*sub, &c, o);
    }
    add_option(*sub, &c, kHelpOption);
    for (const auto& a : c.args) {
      if (a.after_dashes) {
        continue;  // split off before parsing
      }
      Bound& b = bound.emplace_back();
      b.key = a.name;
      b.command = &c;
      b.arg = &a;
      b.cli = sub->add_option(a.name, b.store);
      b.cli->expected(1);
      b.cli->allow_extra_args(false);
    }
  }

  std::vector<const char*> argv{program.name.c_str()};
  for (const auto& w : words) {
    argv.push_back(w.c_str());
  }
  Parsed& out = result.parsed;
  out.invocation.program = &program;
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::ParseError& e) {
    const CommandSpec* command = command_of(program, app);
    const std::string what = e.what();
    const std::string name = what.substr(0, what.find(':'));
    if (const OptionSpec* o = option_named(program, command, name); o != nullptr && !o->value.empty()) {
      std::string fix = name + " needs a value: " + option_usage(*o, false);
      if (!o->example.empty()) {
        fix += " (e.g. " + name + " " + o->example + ")";
      }
      out.exit = usage_error(program, command, fix);
    } else {
      out.exit = usage_error(program, command, what);
    }
    return result;
  }
  const CommandSpec* command = command_of(program, app);
  out.invocation.command = command;

  for (const auto& b : bound) {
    if (b.key == "help" && b.cli->count() > 0 && (b.command == nullptr || b.command == command)) {
      print_help(std::cout, program, command);
      out.exit = exit_ok;
      return result;
    }
  }

  const ArgSpec* dashed = nullptr;
  if (command != nullptr) {
    for (const auto& a : command->args) {
      dashed = a.after_dashes ? &a : dashed;
    }
  }
  if (dashed != nullptr && (!dashes || (after.empty() && dashed->required))) {
    out.exit = usage_error(program, command,
                           std::string(dashes ? "nothing after --" : "missing --") +
                               ": the command to run goes after " + "--, as in " + synopsis(program, command));
    return result;
  }

  std::vector<std::string> extras;
  for (const auto& word : app.remaining()) {
    if (word != "--") {  // CLI11 leaves the end-of-options marker among the extras
      extras.push_back(word);
    }
  }
  for (const auto* sub : app.get_subcommands()) {
    for (const auto& word : sub->remaining()) {
      if (word != "--") {
        extras.push_back(word);
      }
    }
  }
  if (!extras.empty()) {
    const std::string& word = extras.front();
    const bool is_option = word.size() > 1 && word[0] == '-';
    if (command == nullptr && !is_option && !program.commands.empty()) {
      std::string message = "unknown command '" + word + "'";
      const auto close = similar_commands(program, word);
      for (std::size_t i = 0; i < close.size(); ++i) {
        message += (i == 0 ? " (did you mean " : i + 1 == close.size() ? " or " : ", ") + close[i];
      }
      out.exit = usage_error(program, nullptr, message + (close.empty() ? "" : "?)"));
    } else if (is_option) {
      std::string message = "unknown option '" + word.substr(0, word.find('=')) + "'";
      if (command != nullptr) {
        message += " (options: " + options_list(*command) + ")";
      }
      out.exit = usage_error(program, command, message);
    } else {
      out.exit = usage_error(program, command,
                             "unexpected argument '" + word + "' (usage: " + synopsis(program, command) + ")");
    }
    return result;
  }

  if (dashes && dashed == nullptr) {
    result.retry_without_split = true;  // `--` is an ordinary end-of-options marker here
    return result;
  }

  for (const auto& b : bound) {
    if (b.cli->count() == 0) {
      continue;
    }
    std::vector<std::string> values;
    for (const auto& v : b.store) {
      if (!v.empty() || b.arg != nullptr) {
        values.push_back(v);  // `--watch` without its value stores ""; an argument may be ""
      }
    }
    out.invocation.values[b.key] = std::move(values);
  }
  if (dashed != nullptr) {
    out.invocation.values[dashed->name] = after;
  }
  if (command != nullptr) {
    for (const auto& o : command->options) {
      if (o.required && !out.invocation.has(option_key(o.names))) {
        const std::string name = option_names(o.names).back();
        out.exit = usage_error(
            program, command,
            "missing " + option_usage(o, false) + (o.example.empty() ? "" : " (e.g. " + name + " " + o.example + ")"));
        return result;
      }
    }
    for (const auto& a : command->args) {
      if (a.required && !out.invocation.has(a.name)) {
        out.exit = usage_error(program, command, "missing " + a.name + " (usage: " + synopsis(program, command) + ")");
        return result;
      }
      if (!a.choices.empty() && out.invocation.has(a.name)) {
        const std::string v = out.invocation.get(a.name);
        if (std::find(a.choices.begin(), a.choices.end(), v) == a.choices.end()) {
          std::string list;
          for (const auto& c : a.choices) {
            list += (list.empty() ? "" : ", ") + c;
          }
          out.exit = usage_error(program, command, a.name + " '" + v + "' is not one of " + list);
          return result;
        }
      }
    }
  }
  return result;
}

// ---- text layout ----------------------------------------------------------------------------

/// Backticks are markup in the specs; on a terminal they go.
std::string plain(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '`') {
      out.push_back(c);
    }
  }
  return out;
}

/// Paragraphs of `text` (separated by blank lines).
std::vector<std::string> paragraphs(std::string_view text) {
  std::vector<std::string> out;
  std::string current;
  std::stringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (line.find_first_not_of(' ') == std::string::npos) {
      if (!current.empty()) {
        out.push_back(current);
        current.clear();
      }
      continue;
    }
    current += (current.empty() ? "" : "\n") + line;
  }
  if (!current.empty()) {
    out.push_back(current);
  }
  return out;
}

/// `text` wrapped to `width`, every line starting with `indent`, later lines with `hang` more.
std::string wrap(std::string_view text, std::size_t indent, std::size_t width, std::size_t hang = 0) {
  std::string out;
  std::string line(indent, ' ');
  std::size_t line_start_len = indent;
  std::stringstream in{std::string(text)};
  for (std::string word; in >> word;) {
    if (line.size() > line_start_len && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line = std::string(indent + hang, ' ');
      line_start_len = line.size();
    }
    line += (line.size() > line_start_len ? " " : "") + word;
  }
  return out + line + "\n";
}

/// A paragraph on a terminal: lines that start with two spaces are kept as written (examples),
/// "- " lines are list items, the rest is wrapped.
std::string render_paragraph(const std::string& paragraph, std::size_t indent) {
  const std::string text = plain(paragraph);
  if (text.rfind("  ", 0) == 0 || text.find('\t') != std::string::npos) {
    std::string out;
    std::stringstream in(text);
    for (std::string line; std::getline(in, line);) {
      const auto tab = line.find('\t');
      if (tab != std::string::npos) {
        std::string term = line.substr(0, tab);
        term.resize(std::max<std::size_t>(term.size() + 2, 12), ' ');
        out += wrap(term + line.substr(tab + 1), indent, kWidth, term.size());
      } else {
        out += std::string(indent, ' ') + line + "\n";
      }
    }
    return out;
  }
  if (text.rfind("- ", 0) == 0) {
    std::string out;
    std::stringstream in(text);
    std::string item;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("- ", 0) == 0 && !item.empty()) {
        out += wrap(item, indent, kWidth, 2);
        item.clear();
      }
      item += (item.empty() ? "" : " ") + line;
    }
    return out + wrap(item, indent, kWidth, 2);
  }
  return wrap(text, indent, kWidth);
}

/// "  NAME        help", wrapped with the help aligned.
std::string two_columns(const std::string& left, const std::string& right, std::size_t column) {
  std::string head = "  " + left;
  if (head.size() + 2 > column) {
    return head + "\n" + wrap(right, column, kWidth);
  }
  head.resize(column, ' ');
  std::string body = wrap(right, 0, kWidth - column);
  std::string out;
  std::stringstream in(body);
  bool first = true;
  for (std::string line; std::getline(in, line);) {
    out += (first ? head : std::string(column, ' ')) + line + "\n";
    first = false;
  }
  return out;
}

// ---- roff -----------------------------------------------------------------------------------

/// Text for roff: `\` escaped, `-` as \- (copy-pasteable options), non-ASCII as \[uXXXX], and
/// `code` in backticks in bold.
std::string roff(std::string_view text, bool markup = true) {
  std::string out;
  bool in_code = false;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '`' && markup) {
      out += in_code ? "\\fR" : "\\fB";
      in_code = !in_code;
      ++i;
      continue;
    }
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      // Decode one UTF-8 sequence (the specs are ours, so it is valid) into \[uXXXX].
      std::size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      unsigned code = c & (len == 2 ? 0x1FU : len == 3 ? 0x0FU : 0x07U);
      for (std::size_t k = 1; k < len && i + k < text.size(); ++k) {
        code = (code << 6U) | (static_cast<unsigned char>(text[i + k]) & 0x3FU);
      }
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\[u%04X]", code);
      out += buf;
      i += len;
      continue;
    }
    ++i;
  }
  if (in_code) {
    out += "\\fR";
  }
  return out;
}

/// One roff text line: a leading `.` or `'` would be a request, so it gets `\&`.
std::string roff_line(std::string_view text) {
  std::string s = roff(text);
  if (!s.empty() && (s[0] == '.' || s[0] == '\'')) {
    s = "\\&" + s;
  }
  return s;
}

void man_paragraphs(std::ostream& out, std::string_view text) {
  for (const auto& p : paragraphs(text)) {
    if (p.find('\t') != std::string::npos) {
      std::stringstream in(p);
      for (std::string line; std::getline(in, line);) {
        const auto tab = line.find('\t');
        out << ".TP\n"
            << (tab == std::string::npos ? "" : "\\fB" + roff(line.substr(0, tab)) + "\\fR\n")
            << roff_line(tab == std::string::npos ? line : line.substr(tab + 1)) << "\n";
      }
      out << ".PP\n";
    } else if (p.rfind("  ", 0) == 0) {
      out << ".PP\n.in +4n\n.EX\n";
      std::stringstream in(p);
      for (std::string line; std::getline(in, line);) {
        out << roff_line(plain(line.substr(std::min<std::size_t>(2, line.size())))) << "\n";
      }
      out << ".EE\n.in\n";
    } else if (p.rfind("- ", 0) == 0) {
      std::stringstream in(p);
      std::string item;
      auto flush = [&] {
        if (!item.empty()) {
          out << ".IP \\(bu 2\n" << roff_line(item) << "\n";
        }
        item.clear();
      };
      for (std::string line; std::getline(in, line);) {
        if (line.rfind("- ", 0) == 0) {
          flush();
          item = line.substr(2);
        } else {
          item += " " + line.substr(line.find_first_not_of(' '));
        }
      }
      flush();
      out << ".PP\n";
    } else {
      std::string joined;
      std::stringstream in(p);
      for (std::string line; std::getline(in, line);) {
        joined += (joined.empty() ? "" : " ") + line;
      }
      out << ".PP\n" << roff_line(joined) << "\n";
    }
  }
}

/// "\fB\-\-for\fR \fIDURATION\fR".
std::string man_option(const OptionSpec& o) {
  std::string s;
  for (const auto& n : option_names(o.names)) {
    s += (s.empty() ? "" : ", ") + ("\\fB" + roff(n, false) + "\\fR");
  }
  if (!o.value.empty()) {
    s += o.optional_value ? " [\\fI" + roff(o.value, false) + "\\fR]" : " \\fI" + roff(o.value, false) + "\\fR";
  }
  return s;
}

/// The synopsis in roff: literal words bold, placeholders italic.
std::string man_synopsis(const std::string& text) {
  std::string out;
  std::stringstream in(text);
  for (std::string word; in >> word;) {
    std::string inner = word;
    std::string before;
    std::string after;
    while (!inner.empty() && (inner.front() == '[' || inner.front() == '(')) {
      before += inner.front();
      inner.erase(0, 1);
    }
    while (!inner.empty() && (inner.back() == ']' || inner.back() == ')' || inner.back() == '.')) {
      after.insert(after.begin(), inner.back());
      inner.pop_back();
    }
    const bool placeholder =
        !inner.empty() &&
        std::all_of(inner.begin(), inner.end(),
                    [](char c) {
                      return (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '|' || (c >= '0' && c <= '9');
                    }) &&
        inner != "-" && inner != "--" && inner != "|";
    out += (out.empty() ? "" : " ") + roff(before, false) +
           (inner.empty() ? "" : (placeholder ? "\\fI" : "\\fB") + roff(inner, false) + "\\fR") + roff(after, false);
  }
  return out;
}

/// "run a job now" -> "Run a job now."
std::string sentence(std::string s) {
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') {
    s[0] = static_cast<char>(s[0] - 'a' + 'A');
  }
  return s.empty() ? s : s + ".";
}

std::string upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return s;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) {
    row[j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// ---- bash -----------------------------------------------------------------------------------

std::string kind_word(Complete c) {
  switch (c) {
    case Complete::entry:
      return "entries";
    case Complete::job:
      return "jobs";
    case Complete::check:
      return "checks";
    case Complete::notifier:
      return "notifiers";
    default:
      return "";
  }
}

/// The completion action for a value of kind `c` (the word being completed is in $cur).
std::string bash_action(Complete c, const std::vector<std::string>& choices, const ProgramSpec& program) {
  if (!choices.empty()) {
    std::string words;
    for (const auto& w : choices) {
      words += (words.empty() ? "" : " ") + w;
    }
    return "COMPREPLY=($(compgen -W \"" + words + "\" -- \"$cur\"))";
  }
  switch (c) {
    case Complete::entry:
    case Complete::job:
    case Complete::check:
    case Complete::notifier:
      return "COMPREPLY=($(compgen -W \"$(_" + program.name + "_names " + kind_word(c) + ")\" -- \"$cur\"))";
    case Complete::file:
      return "compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))";
    case Complete::zone:
      return "_" + program.name + "_zones";
    case Complete::command: {
      std::string words;
      for (const auto& cmd : program.commands) {
        if (!cmd.hidden) {
          words += (words.empty() ? "" : " ") + cmd.name;
        }
      }
      return "COMPREPLY=($(compgen -W \"" + words + "\" -- \"$cur\"))";
    }
    case Complete::program:
      return "COMPREPLY=($(compgen -c -- \"$cur\"))";
    case Complete::none:
      break;
  }
  return "return 0";
}

std::string option_words(const std::vector<OptionSpec>& options, bool with_help) {
  std::string words;
  for (const auto& o : options) {
    if (o.hidden) {
      continue;
    }
    for (const auto& n : option_names(o.names)) {
      words += (words.empty() ? "" : " ") + n;
    }
  }
  return with_help ? words + (words.empty() ? "" : " ") + "--help" : words;
}

}  // namespace

const CommandSpec* find_command(const ProgramSpec& program, const std::string& name) {
  for (const auto& c : program.commands) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

std::vector<std::string> similar_commands(const ProgramSpec& program, const std::string& name) {
  std::vector<std::pair<std::size_t, std::string>> scored;
  for (const auto& c : program.commands) {
    if (c.hidden) {
      continue;
    }
    const std::size_t d = edit_distance(name, c.name);
    const bool prefix = !name.empty() && c.name.rfind(name, 0) == 0;
    if (prefix || d <= std::max<std::size_t>(1, std::min(name.size(), c.name.size()) / 3)) {
      scored.emplace_back(prefix ? 0 : d, c.name);
    }
  }
  std::sort(scored.begin(), scored.end());
  std::vector<std::string> out;
  for (std::size_t i = 0; i < scored.size() && i < 3; ++i) {
    out.push_back(scored[i].second);
  }
  return out;
}

Parsed parse(const ProgramSpec& program, const std::vector<std::string>& words) {
  const auto dashes = std::find(words.begin(), words.end(), "--");
  if (dashes != words.end()) {
    Attempt split = parse_once(program, std::vector<std::string>(words.begin(), dashes),
                               std::vector<std::string>(dashes + 1, words.end()), true);
    if (!split.retry_without_split) {
      return split.parsed;
    }
  }
  return parse_once(program, words, {}, false).parsed;
}

int usage_error(const ProgramSpec& program, const CommandSpec* command, const std::string& message) {
  const std::string who = program.name + (command != nullptr ? " " + command->name : "");
  std::cerr << who << ": " << message << "\n"
            << "Try '" << who << " --help'"
            << (command == nullptr && !program.commands.empty() ? " or '" + program.name + " help'" : "")
            << " for more information.\n";
  return exit_usage;
}

std::string synopsis(const ProgramSpec& program, const CommandSpec* command) {
  if (command == nullptr) {
    return program.name + (program.usage.empty() ? "" : " " + program.usage);
  }
  std::string s = program.name + " " + command->name;
  for (const auto& a : command->args) {
    if (!a.after_dashes) {
      s += " " + arg_usage(a);
    }
  }
  for (const auto& o : command->options) {
    if (!o.hidden) {
      s += o.required ? " " + option_usage(o, false) : " [" + option_usage(o, false) + "]";
    }
  }
  for (const auto& a : command->args) {
    if (a.after_dashes) {
      s += " " + arg_usage(a);
    }
  }
  return s;
}

void print_help(std::ostream& out, const ProgramSpec& program, const CommandSpec* command) {
  if (command == nullptr) {
    out << wrap(program.name + ": " + program.summary, 0, kWidth, 2) << "\nusage: " << synopsis(program, nullptr)
        << "\n\n";
    for (const auto& p : paragraphs(program.description)) {
      out << render_paragraph(p, 0) << "\n";
    }
    std::vector<std::string> groups;
    for (const auto& c : program.commands) {
      if (!c.hidden && std::find(groups.begin(), groups.end(), c.group) == groups.end()) {
        groups.push_back(c.group);
      }
    }
    for (const auto& g : groups) {
      out << (g.empty() ? "commands" : g) << ":\n";
      for (const auto& c : program.commands) {
        if (!c.hidden && c.group == g) {
          out << two_columns(c.name, plain(c.summary), 18);
        }
      }
      out << "\n";
    }
    out << (program.commands.empty() ? "options:\n" : "global options:\n");
    for (const auto& o : program.options) {
      if (!o.hidden) {
        out << two_columns(option_usage(o, true), plain(o.help), 22);
      }
    }
    out << two_columns(option_usage(kHelpOption, true), kHelpOption.help, 22);
    if (!program.footer.empty()) {
      out << "\n";
      for (const auto& p : paragraphs(program.footer)) {
        out << render_paragraph(p, 0);
      }
    }
    return;
  }
  out << wrap(program.name + " " + command->name + ": " + plain(command->summary), 0, kWidth, 2) << "\n"
      << "usage: " << synopsis(program, command) << "\n";
  for (const auto& p : paragraphs(command->description)) {
    out << "\n" << render_paragraph(p, 0);
  }
  if (!command->args.empty()) {
    out << "\narguments:\n";
    for (const auto& a : command->args) {
      out << two_columns(a.name + (a.many ? "..." : ""), plain(a.help), 22);
    }
  }
  out << "\noptions:\n";
  for (const auto& o : command->options) {
    if (!o.hidden) {
      out << two_columns(option_usage(o, true), plain(o.help), 22);
    }
  }
  out << two_columns(option_usage(kHelpOption, true), kHelpOption.help, 22);
  if (!command->examples.empty()) {
    out << "\nexamples:\n";
    for (const auto& [line, what] : command->examples) {
      out << "  # " << plain(what) << "\n  " << line << "\n";
    }
  }
}

std::string man_date() {
  const char* epoch = std::getenv("SOURCE_DATE_EPOCH");
  if (epoch == nullptr || *epoch == '\0') {
    return "";
  }
  const auto t = static_cast<std::time_t>(std::strtoll(epoch, nullptr, 10));
  std::tm tm{};
  char buf[32];
  return ::gmtime_r(&t, &tm) != nullptr && std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm) > 0 ? buf : "";
}

void print_man(std::ostream& out, const ProgramSpec& program, const std::string& version, const std::string& date) {
  const bool daemon = program.man_section == 8;
  out << ".\\\" Generated from " << program.name << "'s command table by `" << program.name
      << " --generate man`: do not edit.\n"
      << ".TH " << upper(program.name) << " " << program.man_section << " \"" << date << "\" \"tend " << version
      << "\" \"" << (daemon ? "System Administration" : "User Commands") << "\"\n"
      << ".SH NAME\n"
      << roff(program.name) << " \\- " << roff(program.summary) << "\n"
      << ".SH SYNOPSIS\n";
  if (program.commands.empty()) {
    out << man_synopsis(synopsis(program, nullptr)) << "\n";
  } else {
    out << man_synopsis(synopsis(program, nullptr)) << "\n";
    for (const auto& c : program.commands) {
      if (!c.hidden) {
        out << ".br\n" << man_synopsis(synopsis(program, &c)) << "\n";
      }
    }
  }
  out << ".SH DESCRIPTION\n";
  man_paragraphs(out, program.description);
  out << ".SH OPTIONS\n";
  for (const auto& o : program.options) {
    if (!o.hidden) {
      out << ".TP\n" << man_option(o) << "\n" << roff_line(o.help) << "\n";
    }
  }
  out << ".TP\n" << man_option(kHelpOption) << "\n" << roff_line(kHelpOption.help) << "\n";
  if (!program.commands.empty()) {
    out << ".SH COMMANDS\n";
    for (const auto& c : program.commands) {
      if (c.hidden) {
        continue;
      }
      out << ".SS \"" << program.name << " " << roff(c.name) << "\"\n"
          << man_synopsis(synopsis(program, &c)) << "\n.PP\n"
          << roff_line(sentence(c.summary)) << "\n";
      man_paragraphs(out, c.description);
      for (const auto& a : c.args) {
        out << ".TP\n\\fI" << roff(a.name, false) << "\\fR" << (a.many ? "..." : "") << "\n"
            << roff_line(a.help) << "\n";
      }
      for (const auto& o : c.options) {
        if (!o.hidden) {
          out << ".TP\n" << man_option(o) << "\n" << roff_line(o.help) << "\n";
        }
      }
      if (!c.examples.empty()) {
        out << ".PP\nExamples:\n.PP\n.in +4n\n.EX\n";
        for (const auto& [line, what] : c.examples) {
          out << roff("# " + plain(what), false) << "\n" << roff(line, false) << "\n";
        }
        out << ".EE\n.in\n";
      }
    }
  }
  for (const auto& s : program.sections) {
    out << ".SH " << upper(s.title) << "\n";
    man_paragraphs(out, s.text);
  }
  if (!program.see_also.empty()) {
    out << ".SH SEE ALSO\n";
    for (std::size_t i = 0; i < program.see_also.size(); ++i) {
      const auto& ref = program.see_also[i];
      const auto paren = ref.find('(');
      out << ".BR " << roff(ref.substr(0, paren), false) << " " << ref.substr(paren)
          << (i + 1 < program.see_also.size() ? "," : "") << "\n";
    }
  }
}

void print_bash_completion(std::ostream& out, const ProgramSpec& program) {
  const std::string& p = program.name;
  std::string commands;
  for (const auto& c : program.commands) {
    if (!c.hidden) {
      commands += (commands.empty() ? "" : " ") + c.name;
    }
  }
  // Options that take a value, as "command option" pairs, so their values are skipped when
  // counting arguments, and completed by kind when they have one.
  std::string valued;
  std::string value_actions;
  for (const auto& c : program.commands) {
    for (const auto& o : c.options) {
      if (o.value.empty() || o.optional_value) {
        continue;
      }
      for (const auto& n : option_names(o.names)) {
        valued += (valued.empty() ? "" : "|") + ("\"" + c.name + " " + n + "\"");
        value_actions +=
            "        \"" + c.name + " " + n + "\") " + bash_action(o.complete, {}, program) + "; return 0 ;;\n";
      }
    }
  }
  std::string option_cases;
  std::string arg_cases;
  for (const auto& c : program.commands) {
    if (c.hidden) {
      continue;
    }
    option_cases += "        " + c.name + ") words=\"" + option_words(c.options, true) + "\" ;;\n";
    std::size_t index = 0;
    for (const auto& a : c.args) {
      if (a.after_dashes) {
        continue;
      }
      const std::string pattern = a.many ? "\"" + c.name + " \"*" : "\"" + c.name + " " + std::to_string(index) + "\"";
      if (a.complete != Complete::none || !a.choices.empty()) {
        arg_cases += "        " + pattern + ") " + bash_action(a.complete, a.choices, program) + " ;;\n";
      }
      ++index;
    }
  }
  out << "# bash completion for " << p << "                                  -*- shell-script -*-\n"
      << "# Generated from " << p << "'s command table by `" << p << " --generate bash-completion`: do not edit.\n"
      << "\n"
      << "# Names of one kind (entries, jobs, checks, notifiers) from the daemon; nothing when it does not answer.\n"
      << "_" << p << "_names() {\n"
      << "    \"${_" << p << "_cmd[@]}\" --complete \"$1\" 2>/dev/null\n"
      << "}\n"
      << "\n"
      << "# IANA time zones, one folder level at a time.\n"
      << "_" << p << "_zones() {\n"
      << "    local z dir=/usr/share/zoneinfo\n"
      << "    COMPREPLY=()\n"
      << "    while IFS= read -r z; do\n"
      << "        [[ -d $dir/$z ]] && z+=/\n"
      << "        COMPREPLY+=(\"$z\")\n"
      << "    done < <(cd \"$dir\" 2>/dev/null && compgen -f -- \"$cur\")\n"
      << "    [[ ${COMPREPLY[*]} == */* ]] && compopt -o nospace 2>/dev/null\n"
      << "    return 0\n"
      << "}\n"
      << "\n"
      << "_" << p << "() {\n"
      << "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
      << "    local -a _" << p << "_cmd=(\"${COMP_WORDS[0]}\")\n"
      << "    local cmd=\"\" word words i nargs=0 dashes=0 after=0\n"
      << "    COMPREPLY=()\n"
      << "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
      << "        word=${COMP_WORDS[i]}\n"
      << "        if ((dashes)); then\n"
      << "            ((after++))\n"
      << "            continue\n"
      << "        fi\n"
      << "        case $word in\n"
      << "            --) [[ -n $cmd ]] && dashes=1; continue ;;\n"
      << "            --socket) _" << p << "_cmd+=(--socket \"${COMP_WORDS[i+1]}\"); ((i++)); continue ;;\n"
      << "        esac\n"
      << "        if [[ -z $cmd ]]; then\n"
      << "            [[ $word == -* ]] || cmd=$word\n"
      << "            continue\n"
      << "        fi\n"
      << "        case \"$cmd $word\" in\n"
      << "            " << (valued.empty() ? "\"\"" : valued) << ") ((i++)) ;;\n"
      << "            *) [[ $word == -* ]] || ((nargs++)) ;;\n"
      << "        esac\n"
      << "    done\n"
      << "    if [[ $prev == --socket ]]; then\n"
      << "        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))\n"
      << "        return 0\n"
      << "    fi\n"
      << "    if [[ -z $cmd ]]; then\n"
      << "        if [[ $cur == -* ]]; then\n"
      << "            COMPREPLY=($(compgen -W \"" << option_words(program.options, true) << "\" -- \"$cur\"))\n"
      << "        else\n"
      << "            COMPREPLY=($(compgen -W \"" << commands << "\" -- \"$cur\"))\n"
      << "        fi\n"
      << "        return 0\n"
      << "    fi\n"
      << "    if ((dashes)); then\n"
      << "        if ((after == 0)); then COMPREPLY=($(compgen -c -- \"$cur\")); else compopt -o default 2>/dev/null; "
         "fi\n"
      << "        return 0\n"
      << "    fi\n"
      << "    case \"$cmd $prev\" in\n"
      << value_actions << "    esac\n"
      << "    if [[ $cur == -* ]]; then\n"
      << "        case $cmd in\n"
      << option_cases << "            *) words=\"--help\" ;;\n"
      << "        esac\n"
      << "        COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      << "        return 0\n"
      << "    fi\n"
      << "    case \"$cmd $nargs\" in\n"
      << arg_cases << "    esac\n"
      << "    return 0\n"
      << "}\n"
      << "complete -F _" << p << " " << p << "\n";
}

}  // namespace tend::cli
