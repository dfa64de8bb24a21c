// crontab(5) as Vixie/Debian cron reads it, written out as tend jobs.

#include "crontab/convert.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "config/interpolate.hpp"
#include "config/values.hpp"
#include "crontab/shell.hpp"
#include "schedule/schedule.hpp"
#include "util/duration.hpp"
#include "util/text.hpp"

namespace tend::crontab {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (is_space(s.front()) || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

/// The next whitespace-separated word of `s` from `pos`; `pos` moves past it.
std::string_view next_word(std::string_view s, std::size_t& pos) {
  while (pos < s.size() && is_space(s[pos])) {
    ++pos;
  }
  const std::size_t start = pos;
  while (pos < s.size() && !is_space(s[pos])) {
    ++pos;
  }
  return s.substr(start, pos - start);
}

/// Valid UTF-8 with YAML's printable set: invalid bytes become U+FFFD. Returns whether anything
/// had to be replaced.
bool clean_utf8(std::string_view s, std::string& out) {
  bool replaced = false;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = utf8_length(s, i);
    if (len > 0) {
      out.append(s.substr(i, len));
      i += len;
    } else {
      out.append(kReplacement);
      replaced = true;
      ++i;
    }
  }
  return replaced;
}

/// A YAML double-quoted scalar of `s` (which interpolates back to `s` in tend's config).
std::string yaml_string(std::string_view s) {
  std::string clean;
  clean_utf8(config::escape_interpolation(s), clean);
  std::string out = "\"";
  for (std::size_t i = 0; i < clean.size(); ++i) {
    const auto c = static_cast<unsigned char>(clean[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else if (c == 0xC2 && i + 1 < clean.size() && static_cast<unsigned char>(clean[i + 1]) <= 0x9F) {
      char buf[8];  // C1 controls are not printable in YAML
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned char>(clean[i + 1]));
      out += buf;
      ++i;
    } else if (c == 0xEF && clean.substr(i, 3) == "\xEF\xBB\xBF") {
      out += "\\uFEFF";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

/// Text for a YAML comment: one line, valid UTF-8, control characters shown as \xNN.
std::string comment_text(std::string_view s) {
  std::string clean;
  clean_utf8(s, clean);
  std::string out;
  for (char ch : clean) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out;
}

/// A mapping key: plain when YAML reads it back as that string, else quoted.
std::string yaml_key(const std::string& key) {
  static const std::set<std::string> special = {"y",  "Y",    "yes",  "Yes",  "YES",   "n",     "N",     "no", "No",
                                                "NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
                                                "ON", "off",  "Off",  "OFF",  "null",  "Null",  "NULL",  "~"};
  const bool plain =
      !key.empty() && ((key[0] >= 'a' && key[0] <= 'z') || (key[0] >= 'A' && key[0] <= 'Z')) &&
      special.count(key) == 0 &&
      key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos;
  return plain ? key : yaml_string(key);
}

// ---- cron's % -------------------------------------------------------------------------------

/// A crontab command split as cron does: the first unescaped `%` ends the command and starts
/// standard input, whose other `%` are newlines; `\%` is a literal `%` in both.
struct Split {
  std::string command;
  std::optional<std::string> input;  // the bytes cron writes to the command's stdin
};

Split split_percent(std::string_view line) {
  Split out;
  std::size_t i = 0;
  for (; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '%') {
      out.command.push_back('%');
      ++i;
    } else if (line[i] == '%') {
      break;
    } else {
      out.command.push_back(line[i]);
    }
  }
  if (i >= line.size()) {
    return out;
  }
  // do_command.c: `\%` -> `%`, `%` -> newline, `\x` kept; a newline ends the data unless it
  // already does. Empty data writes nothing (stdin is at its end at once, as with /dev/null).
  std::string data;
  for (std::size_t j = i + 1; j < line.size(); ++j) {
    if (line[j] == '\\' && j + 1 < line.size() && line[j + 1] == '%') {
      data.push_back('%');
      ++j;
    } else {
      data.push_back(line[j] == '%' ? '\n' : line[j]);
    }
  }
  if (!data.empty() && data.back() != '\n') {
    data.push_back('\n');
  }
  out.input = data;
  return out;
}

// ---- prefixes -------------------------------------------------------------------------------

/// timeout(1)'s DURATION ("10", "2.5m", "1h") in milliseconds; nullopt when it is not one.
std::optional<Duration> parse_timeout_duration(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  double factor = 1000;
  std::string_view number = text;
  switch (text.back()) {
    case 's':
      number.remove_suffix(1);
      break;
    case 'm':
      factor = 60'000;
      number.remove_suffix(1);
      break;
    case 'h':
      factor = 3'600'000;
      number.remove_suffix(1);
      break;
    case 'd':
      factor = 86'400'000;
      number.remove_suffix(1);
      break;
    default:
      break;
  }
  if (number.empty() || number.find_first_not_of("0123456789.") != std::string_view::npos ||
      std::count(number.begin(), number.end(), '.') > 1 || number == ".") {
    return std::nullopt;
  }
  const double value = std::stod(std::string(number)) * factor;
  if (!(value >= 0 && value < 1e13)) {
    return std::nullopt;
  }
  return Duration(static_cast<Duration::rep>(std::llround(value)));
}

/// The top-level operators of a command line allow moving a prefix's effect to the whole job:
/// only pipes and redirections (`a | b > log`), not lists (`;`, `&&`, `||`, `&`).
bool single_pipeline(const std::vector<shell::Token>& tokens, std::size_t from) {
  for (std::size_t i = from; i < tokens.size(); ++i) {
    const auto& t = tokens[i];
    if (t.op && (t.text == ";" || t.text == "&&" || t.text == "||" || t.text == "&" || t.text == "\n" ||
                 t.text == ";;" || t.text == "(" || t.text == ")")) {
      return false;
    }
    if (!t.op && i == from && shell::is_reserved(t.text)) {
      return false;
    }
  }
  return true;
}

std::string base_program(const std::string& word) { return word.substr(word.rfind('/') + 1); }

struct Job {
  std::string command;  // the command line after the prefixes that became settings
  std::string workdir;
  std::optional<Duration> timeout;
  std::optional<Duration> kill_grace;
  bool forbid = false;
  std::vector<std::string> notes;  // comments above the job
};

/// `timeout [-k D] [--kill-after=D] [-s TERM] DURATION CMD`: the settings, and the offset of CMD.
bool take_timeout(const std::vector<shell::Token>& t, Job& job) {
  std::size_t i = 1;
  std::optional<Duration> grace;
  while (i < t.size() && !t[i].op && t[i].simple && t[i].value.rfind('-', 0) == 0) {
    const std::string& o = t[i].value;
    if ((o == "-k" || o == "--kill-after") && i + 1 < t.size() && t[i + 1].simple) {
      grace = parse_timeout_duration(t[i + 1].value);
      i += 2;
    } else if (o.rfind("--kill-after=", 0) == 0) {
      grace = parse_timeout_duration(o.substr(13));
      ++i;
    } else if (o.rfind("-k", 0) == 0 && o.size() > 2) {
      grace = parse_timeout_duration(o.substr(2));
      ++i;
    } else if ((o == "-s" || o == "--signal") && i + 1 < t.size() &&
               (t[i + 1].value == "TERM" || t[i + 1].value == "SIGTERM" || t[i + 1].value == "15")) {
      i += 2;  // the default signal: nothing to map
    } else if (o == "--signal=TERM" || o == "--signal=SIGTERM" || o == "-sTERM") {
      ++i;
    } else {
      return false;  // --foreground, --preserve-status, another signal: timeout(1) stays
    }
    if (!grace && (o == "-k" || o == "--kill-after" || o.rfind("-k", 0) == 0 || o.rfind("--kill-after", 0) == 0)) {
      return false;
    }
  }
  if (i + 1 >= t.size() || t[i].op || !t[i].simple || t[i + 1].op) {
    return false;
  }
  const auto d = parse_timeout_duration(t[i].value);
  if (!d || !single_pipeline(t, i + 1)) {
    return false;
  }
  if (d->count() > 0) {
    job.timeout = *d;
    if (grace && grace->count() > 0) {
      job.kill_grace = *grace;
    }
  }
  job.command = job.command.substr(t[i + 1].start);
  return true;
}

/// `flock -n FILE CMD` / `flock -n FILE -c 'CMD'`: concurrency: forbid. Blocking or shared locks,
/// and lock files that other lines use too, stay in the command.
bool take_flock(const std::vector<shell::Token>& t, Job& job, const std::map<std::string, int>& lock_uses) {
  std::size_t i = 1;
  bool nonblocking = false;
  while (i < t.size() && !t[i].op && t[i].simple && t[i].value.size() > 1 && t[i].value[0] == '-') {
    const std::string& o = t[i].value;
    // --exclusive, --close, --no-fork and --conflict-exit-code=N change nothing tend would do.
    const bool neutral =
        o == "--exclusive" || o == "--close" || o == "--no-fork" || o.rfind("--conflict-exit-code=", 0) == 0;
    if (o == "--nonblock" || o == "--nb") {
      nonblocking = true;
    } else if (o == "-E" || o == "--conflict-exit-code") {
      ++i;  // the exit code of a skipped run: tend records a skip instead
    } else if (neutral) {
      // nothing to map
    } else if (o[1] != '-' && o.find_first_not_of("nxeoF", 1) == std::string::npos) {
      nonblocking = nonblocking || o.find('n') != std::string::npos;
    } else {
      return false;  // -s (shared), -u, -w (wait), --verbose, ...: not a plain "skip if running"
    }
    ++i;
  }
  if (!nonblocking || i + 1 >= t.size() || t[i].op || !t[i].simple || t[i + 1].op) {
    return false;
  }
  const std::string& lock = t[i].value;
  if (const auto it = lock_uses.find(lock); it != lock_uses.end() && it->second > 1) {
    job.notes.push_back("flock kept: the lock " + lock + " is also taken by other lines");
    return false;
  }
  std::string rest;
  if ((t[i + 1].value == "-c" || t[i + 1].value == "--command") && t[i + 1].simple) {
    if (i + 3 != t.size() || !t[i + 2].simple || t[i + 2].op) {
      return false;
    }
    rest = t[i + 2].value;  // the shell command flock would have run
  } else {
    if (!single_pipeline(t, i + 1)) {
      return false;
    }
    rest = job.command.substr(t[i + 1].start);
  }
  job.forbid = true;
  job.notes.push_back("was under `flock -n " + lock + "`: concurrency: forbid skips a run while the last still runs");
  job.command = rest;
  return true;
}

/// `cd DIR && CMD` with an absolute, plain DIR: workdir.
bool take_cd(const std::vector<shell::Token>& t, Job& job) {
  if (t.size() < 4 || t[0].op || t[0].text != "cd" || t[1].op || !t[1].simple ||
      config::check_absolute_path(t[1].value, t[1].value) || !t[2].op || t[2].text != "&&" || t[3].op ||
      !job.workdir.empty() || !single_pipeline(t, 3)) {
    return false;
  }
  job.workdir = t[1].value;
  job.command = job.command.substr(t[3].start);
  return true;
}

/// The lock file of a `flock` prefix (for counting which lines share one), or "".
std::string flock_file(std::string_view command) {
  const auto lexed = shell::lex(command);
  const auto& t = lexed.tokens;
  std::size_t i = 0;
  while (
      i < t.size() && !t[i].op &&
      (base_program(t[i].value) == "timeout" || t[i].value.rfind('-', 0) == 0 || parse_timeout_duration(t[i].value))) {
    ++i;  // past a timeout prefix
  }
  if (i >= t.size() || t[i].op || base_program(t[i].value) != "flock") {
    return "";
  }
  for (++i; i < t.size() && !t[i].op; ++i) {
    if (t[i].value.rfind('-', 0) != 0) {
      return t[i].value;
    }
    if (t[i].value == "-E" || t[i].value == "-w" || t[i].value == "--timeout" || t[i].value == "--wait" ||
        t[i].value == "--conflict-exit-code") {
      ++i;
    }
  }
  return "";
}

// ---- names ----------------------------------------------------------------------------------

/// Programs that run something else named by their first argument.
bool is_runner(const std::string& program) {
  static const std::set<std::string> runners = {"sh",   "bash",    "dash",  "zsh",    "python", "python2",   "python3",
                                                "perl", "php",     "ruby",  "node",   "nodejs", "run-parts", "java",
                                                "lua",  "Rscript", "tclsh", "awk",    "make",   "docker",    "npm",
                                                "npx",  "yarn",    "pnpm",  "bundle", "rake",   "uv",        "poetry"};
  return runners.count(program) > 0;
}

/// Scripts that run one of many tasks named by their next argument (Django, Laravel, Symfony, Rails).
bool is_dispatcher(const std::string& script) {
  static const std::set<std::string> dispatchers = {"manage", "artisan", "console", "rails", "rake", "cli"};
  return dispatchers.count(script) > 0;
}

/// Commands that are never the interesting part of a line.
bool is_plumbing(const std::string& program) {
  static const std::set<std::string> plumbing = {
      "test", "[",      "[[", "cd",  "true",   "false", ":",   "exit",   "sleep", "echo",  "printf", "builtin",
      "eval", "source", ".",  "set", "export", "cat",   "tee", "logger", "date",  "mkdir", "xargs"};
  return plumbing.count(program) > 0;
}

std::string sanitize_name(std::string_view word) {
  std::string name;
  for (char c : word) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (ok) {
      name.push_back(c);
    } else if (!name.empty() && name.back() != '-') {
      name.push_back('-');
    }
  }
  while (!name.empty() && (name.back() == '-' || name.back() == '.')) {
    name.pop_back();
  }
  while (!name.empty() && (name.front() == '-' || name.front() == '.')) {
    name.erase(0, 1);
  }
  if (name.size() > 40) {
    name.resize(40);
    while (!name.empty() && (name.back() == '-' || name.back() == '.')) {
      name.pop_back();
    }
  }
  return name;
}

/// "backup" from "/usr/local/bin/backup.sh --full".
std::string name_from_word(const std::string& word) {
  std::string base = base_program(word);
  for (const char* ext : {".sh", ".bash", ".py", ".pl", ".rb", ".php", ".js", ".ts"}) {
    const std::string e(ext);
    if (base.size() > e.size() && base.compare(base.size() - e.size(), e.size(), e) == 0) {
      base.resize(base.size() - e.size());
      break;
    }
  }
  return sanitize_name(base);
}

/// Wrappers whose command comes after their options (and a value or two).
bool is_wrapper(const std::string& program) {
  static const std::set<std::string> wrappers = {"nice",   "ionice",  "nohup", "sudo", "env",     "chronic", "setsid",
                                                 "stdbuf", "timeout", "flock", "exec", "command", "time",    "su"};
  return wrappers.count(program) > 0;
}

/// Whether `option` of the wrapper `program` takes the next word as its value (`nice -n 10`).
bool takes_value(const std::string& program, const std::string& option) {
  static const std::map<std::string, std::set<std::string>> options = {
      {"nice", {"-n", "--adjustment"}},
      {"ionice", {"-c", "-n", "-p", "--class", "--classdata"}},
      {"sudo", {"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "--user", "--group"}},
      {"su", {"-c", "-s", "-g", "-G", "--command", "--shell"}},
      {"stdbuf", {"-i", "-o", "-e"}},
      {"flock", {"-w", "-E", "--wait", "--timeout", "--conflict-exit-code"}},
      {"timeout", {"-k", "-s", "--kill-after", "--signal"}},
      {"env", {"-u", "-C", "-S", "--unset", "--chdir", "--split-string"}},
      {"chronic", {}},
  };
  const auto it = options.find(program);
  return it != options.end() && it->second.count(option) > 0;
}

/// A name for the job from its command: the first program at a command position that is not
/// plumbing (test, cd, nice, ...); for a runner (python3, sh, run-parts) its script.
std::string derive_name(const std::string& command) {
  const auto lexed = shell::lex(command);
  const auto& t = lexed.tokens;
  const auto word_at = [&](std::size_t i) {
    const std::string w = t[i].simple ? t[i].value : t[i].text;
    return w.substr(0, w.find(' '));  // `sh -c 'a b'`: a
  };
  bool at_command = true;
  std::string fallback;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i].op) {
      const std::string& op = t[i].text;
      at_command = op == "&&" || op == "||" || op == "|" || op == ";" || op == "&" || op == "\n" || op == "(";
      if (op == ">" || op == ">>" || op == "<" || op == ">&" || op == "<&" || op == ">|" || op == "<>") {
        ++i;  // the redirection's target is not a command
      }
      continue;
    }
    const std::string word = word_at(i);
    if (!at_command || word.empty()) {
      continue;
    }
    if (shell::is_reserved(t[i].text) || t[i].text == "then" || t[i].text.find('=') != std::string::npos) {
      continue;  // `if`, `{`, `VAR=x`: the command comes after
    }
    const std::string program = base_program(word);
    if (fallback.empty()) {
      fallback = name_from_word(word);
    }
    if (is_runner(program)) {
      for (std::size_t j = i + 1; j < t.size() && !t[j].op; ++j) {
        const std::string arg = word_at(j);
        if (arg.empty() || arg[0] == '-' || arg == "exec" || arg == "run" || arg == "run-script") {
          continue;
        }
        const std::string name = name_from_word(arg);
        if (name.empty() || is_dispatcher(name)) {
          continue;  // `python3 manage.py send_report`: the name is the subcommand
        }
        return name;
      }
    }
    if (is_wrapper(program)) {
      // Skip the wrapper's options and values; the word after them is the next command.
      bool lock_skipped = program != "flock";
      std::size_t j = i + 1;
      for (; j < t.size() && !t[j].op; ++j) {
        const std::string arg = word_at(j);
        const bool value = (program == "timeout" && parse_timeout_duration(arg)) ||
                           (program == "env" && arg.find('=') != std::string::npos) ||
                           takes_value(program, t[j - 1].value);
        if (arg.empty() || arg[0] == '-' || value) {
          continue;
        }
        if (!lock_skipped) {
          lock_skipped = true;
          continue;
        }
        break;
      }
      i = j - 1;
      continue;  // still at a command position
    }
    if (!is_plumbing(program)) {
      if (const std::string name = name_from_word(word); !name.empty()) {
        return name;
      }
    }
    at_command = false;
  }
  return fallback.empty() ? "job" : fallback;
}

// ---- the converter --------------------------------------------------------------------------

struct Env {
  std::vector<std::pair<std::string, std::string>> vars;  // in the order they were set
  void set(const std::string& name, const std::string& value) {
    for (auto& [n, v] : vars) {
      if (n == name) {
        v = value;
        return;
      }
    }
    vars.emplace_back(name, value);
  }
};

/// `NAME = value` as cron's load_env reads it (quotes around the value are removed), or nullopt.
std::optional<std::pair<std::string, std::string>> parse_env(std::string_view line) {
  std::string_view s = trim(line);
  std::size_t i = 0;
  while (i < s.size() && !is_space(s[i]) && s[i] != '=') {
    ++i;
  }
  if (i == 0) {
    return std::nullopt;
  }
  const std::string name(s.substr(0, i));
  while (i < s.size() && is_space(s[i])) {
    ++i;
  }
  if (i >= s.size() || s[i] != '=') {
    return std::nullopt;
  }
  std::string_view value = trim(s.substr(i + 1));
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);
  }
  return std::make_pair(name, std::string(value));
}

/// The schedule words and the rest of a job line (user field included in `rest`).
struct Fields {
  std::string schedule;  // "17 * * * *" or "@daily"
  std::string rest;
};

std::optional<Fields> split_fields(std::string_view line) {
  std::size_t pos = 0;
  const std::string_view first = next_word(line, pos);
  if (first.empty()) {
    return std::nullopt;
  }
  Fields f;
  if (first.front() == '@') {
    f.schedule = std::string(first);
    for (char& c : f.schedule) {
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
  } else {
    f.schedule = std::string(first);
    for (int k = 0; k < 4; ++k) {
      const std::string_view w = next_word(line, pos);
      if (w.empty()) {
        return std::nullopt;
      }
      f.schedule += " " + std::string(w);
    }
  }
  while (pos < line.size() && is_space(line[pos])) {
    ++pos;
  }
  f.rest = std::string(line.substr(pos));
  return f;
}

class Converter {
 public:
  explicit Converter(const Options& options) : options_(options) {}

  Result run(std::string_view text) {
    std::vector<std::string> lines;
    std::stringstream in{std::string(text)};
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') {
        line.pop_back();
      }
      lines.push_back(line);
    }
    result_.format = options_.format == Format::detect ? detect(lines) : options_.format;
    count_locks(lines);
    header();
    bool last_blank = true;
    for (const auto& line : lines) {
      const std::string_view t = trim(line);
      if (t.empty()) {
        if (!last_blank) {
          out_ << "\n";
        }
        last_blank = true;
        continue;
      }
      last_blank = false;
      if (t.front() == '#') {
        out_ << "  " << comment_text(t) << "\n";
      } else if (t.find('\0') != std::string_view::npos) {
        // Found by fuzz_crontab: `cd /sr\0v/app && ...` became a workdir the loader refused.
        unmapped("the line contains a NUL byte, which no command, path or variable can carry", t);
      } else if (auto env = parse_env(t)) {
        setting(env->first, env->second, t);
      } else {
        job_line(t);
      }
    }
    if (result_.jobs == 0) {
      out_ << "  {}\n";  // nothing mapped: `jobs:` stays a (valid, empty) mapping
    }
    result_.yaml = head_.str() + out_.str();
    return result_;
  }

 private:
  const Options& options_;
  Result result_;
  std::ostringstream head_;
  std::ostringstream out_;
  Env env_;
  std::string zone_;
  std::string shell_ = "/bin/sh";
  std::set<std::string> names_;
  std::map<std::string, int> lock_uses_;

  bool system() const { return result_.format == Format::system; }

  /// Job lines whose sixth field (second after a macro) is a user of this system, with a command
  /// after it: all of them, and at least one, means a system crontab.
  Format detect(const std::vector<std::string>& lines) const {
    if (!options_.is_user) {
      return Format::user;
    }
    int jobs = 0;
    for (const auto& line : lines) {
      const std::string_view t = trim(line);
      if (t.empty() || t.front() == '#' || parse_env(t)) {
        continue;
      }
      const auto f = split_fields(t);
      if (!f) {
        continue;
      }
      std::size_t pos = 0;
      const std::string_view user = next_word(f->rest, pos);
      const std::string_view command = next_word(f->rest, pos);
      if (user.empty() || command.empty() || !options_.is_user(user)) {
        return Format::user;
      }
      ++jobs;
    }
    return jobs > 0 ? Format::system : Format::user;
  }

  void count_locks(const std::vector<std::string>& lines) {
    for (const auto& line : lines) {
      const std::string_view t = trim(line);
      if (t.empty() || t.front() == '#' || parse_env(t)) {
        continue;
      }
      if (const auto f = split_fields(t)) {
        std::string command = f->rest;
        if (system()) {
          std::size_t pos = 0;
          next_word(command, pos);
          command = std::string(trim(std::string_view(command).substr(pos)));
        }
        if (const std::string lock = flock_file(split_percent(command).command); !lock.empty()) {
          ++lock_uses_[lock];
        }
      }
    }
  }

  void header() {
    head_ << "# tend jobs imported by `tend import-crontab` from " << comment_text(options_.source) << "\n"
          << "# (" << (system() ? "system crontab: the sixth field is the user" : "user crontab")
          << (options_.user.empty() ? "" : ", run as " + comment_text(options_.user)) << ").\n"
          << "# Review before use. As under cron, runs of a job may overlap (concurrency: allow); tend's\n"
          << "# default, forbid, skips a tick while the last run still runs and raises `missed`.\n"
          << "jobs:\n";
  }

  void unmapped(const std::string& why, std::string_view line) {
    ++result_.unmapped;
    out_ << "  # tend: not imported: " << comment_text(why) << "\n  #   " << comment_text(line) << "\n";
  }

  void setting(const std::string& name, const std::string& value, std::string_view line) {
    if (name == "MAILTO") {
      if (value.empty()) {
        out_ << "  # MAILTO=\"\": cron mailed nothing. tend keeps each run's output (tend output NAME).\n";
      } else {
        out_ << "  # MAILTO=" << comment_text(value)
             << ": cron mailed job output there. tend alerts through notifiers instead,\n"
             << "  # e.g. notifiers: {ops: {type: webhook, url: \"https://...\"}} and alerts: {routes: [{notify: "
                "[ops]}]}\n";
      }
      return;
    }
    if (name == "CRON_TZ" || name == "TZ") {
      if (!schedule::find_zone(value)) {
        unmapped(
            "unknown time zone '" + value + "'; the jobs below keep " + (zone_.empty() ? "the default zone" : zone_),
            line);
        return;
      }
      zone_ = value;
      out_ << "  # " << comment_text(line) << ": schedules below are in timezone " << comment_text(value) << "\n";
      if (name == "TZ") {
        env_.set(name, value);  // cron also passes TZ to the job
      }
      return;
    }
    // cron passes any name; tend's env: takes only variable names (found by fuzz_crontab: a name
    // with bytes outside [A-Za-z0-9_] made the whole imported file fail `tendd --check`).
    if (auto bad = config::check_env_name(name, "'" + name + "'")) {
      unmapped(*bad, line);
      return;
    }
    if (name == "SHELL") {
      shell_ = value.empty() ? "/bin/sh" : value;
    }
    env_.set(name, value);
    out_ << "  # " << comment_text(line) << " (env: of the jobs below)\n";
  }

  std::string unique_name(const std::string& base) {
    std::string name = base.empty() ? "job" : base;
    if (names_.count(name) > 0) {
      for (int n = 2;; ++n) {
        const std::string candidate = name + "-" + std::to_string(n);
        if (names_.count(candidate) == 0) {
          name = candidate;
          break;
        }
      }
    }
    names_.insert(name);
    return name;
  }

  void job_line(std::string_view line) {
    auto fields = split_fields(line);
    const char first = line.front();
    if (!fields || !((first >= '0' && first <= '9') || first == '*' || first == '@')) {
      unmapped("not a job, a comment or a NAME=value line", line);
      return;
    }
    const date::time_zone* zone = nullptr;
    if (!zone_.empty()) {
      zone = *schedule::find_zone(zone_);
    }
    const auto parsed = schedule::parse_schedule(fields->schedule, zone);
    if (!parsed) {
      unmapped("schedule '" + fields->schedule + "': " + parsed.error(), line);
      return;
    }
    if (std::holds_alternative<schedule::Every>(parsed->kind)) {
      unmapped("@every is not cron syntax", line);
      return;
    }
    std::string rest = fields->rest;
    std::string user = options_.user;
    if (system()) {
      std::size_t pos = 0;
      user = std::string(next_word(rest, pos));
      rest = std::string(trim(std::string_view(rest).substr(pos)));
    }
    if (trim(rest).empty()) {
      unmapped("no command", line);
      return;
    }
    const Split split = split_percent(rest);
    Job job;
    job.command = std::string(trim(split.command));
    // Prefixes that become settings, in any order.
    for (bool changed = true; changed;) {
      const auto lexed = shell::lex(job.command);
      const auto& t = lexed.tokens;
      changed = false;
      if (!lexed.complete || t.empty() || t[0].op || !t[0].simple) {
        break;
      }
      const std::string program = base_program(t[0].value);
      if (program == "timeout" && !job.timeout) {
        changed = take_timeout(t, job);
      } else if (program == "flock" && !job.forbid) {
        changed = take_flock(t, job, lock_uses_);
      } else if (t[0].value == "cd") {
        changed = take_cd(t, job);
      }
    }
    if (trim(job.command).empty()) {
      unmapped("no command after the prefixes", line);
      return;
    }
    const bool has_input = split.input && !split.input->empty();
    std::vector<std::string> argv = has_input ? std::vector<std::string>{} : shell::simple_argv(job.command);
    std::string shell_text = job.command;
    if (split.input) {
      // cron feeds the text after `%` to the command's stdin: a here-document does the same.
      const auto lexed = shell::lex(job.command);
      if (!lexed.complete) {
        unmapped("the command has an unclosed quote or ends in a backslash, so its % input cannot follow it", line);
        return;
      }
      if (!split.input->empty()) {
        std::string delimiter = "TEND_STDIN";
        for (int n = 2; ("\n" + *split.input).find("\n" + delimiter + "\n") != std::string::npos; ++n) {
          delimiter = "TEND_STDIN_" + std::to_string(n);
        }
        shell_text = "{ " + job.command + "\n} <<'" + delimiter + "'\n" + *split.input + delimiter;
        job.notes.push_back("cron's % input is the here-document");
      }
    }
    if (std::string clean; clean_utf8(line, clean)) {
      job.notes.push_back("invalid UTF-8 in the line was replaced with U+FFFD");
    }
    const std::string name = unique_name(derive_name(job.command));
    write_job(name, fields->schedule, line, user, job, argv, shell_text);
  }

  void write_job(const std::string& name, const std::string& schedule, std::string_view line, const std::string& user,
                 const Job& job, const std::vector<std::string>& argv, const std::string& shell_text) {
    ++result_.jobs;
    out_ << "  # " << comment_text(line) << "\n";
    if (schedule == "@reboot") {
      out_ << "  # @reboot: tend runs it when tendd starts (also after a restart of tendd, not only at boot)\n";
    }
    for (const auto& note : job.notes) {
      out_ << "  # " << comment_text(note) << "\n";
    }
    out_ << "  " << yaml_key(name) << ":\n"
         << "    schedule: " << yaml_string(schedule) << "\n";
    if (!zone_.empty()) {
      out_ << "    timezone: " << yaml_string(zone_) << "\n";
    }
    if (!user.empty()) {
      out_ << "    user: " << yaml_string(user) << "\n";
    }
    if (!job.workdir.empty()) {
      out_ << "    workdir: " << yaml_string(job.workdir) << "\n";
    }
    if (!env_.vars.empty()) {
      out_ << "    env:\n";
      for (const auto& [n, v] : env_.vars) {
        out_ << "      " << yaml_key(n) << ": " << yaml_string(v) << "\n";
      }
    }
    if (!argv.empty()) {
      out_ << "    command: [";
      for (std::size_t i = 0; i < argv.size(); ++i) {
        out_ << (i == 0 ? "" : ", ") << yaml_string(argv[i]);
      }
      out_ << "]\n";
    } else if (shell_ == "/bin/sh") {
      out_ << "    shell: " << yaml_string(shell_text) << "\n";
    } else {
      // SHELL= in the crontab: the command runs under that shell, as cron does.
      out_ << "    command: [" << yaml_string(shell_) << ", \"-c\", " << yaml_string(shell_text) << "]\n";
    }
    if (job.timeout) {
      out_ << "    timeout: " << format_duration(*job.timeout) << "\n";
    }
    if (job.kill_grace) {
      out_ << "    kill_grace: " << format_duration(*job.kill_grace) << "\n";
    }
    out_ << "    concurrency: " << (job.forbid ? "forbid" : "allow") << "\n";
  }
};

}  // namespace

Result convert(std::string_view text, const Options& options) { return Converter(options).run(text); }

}  // namespace tend::crontab
