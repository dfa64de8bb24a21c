#include "config/interpolate.hpp"

#include <optional>

namespace tend::config {
namespace {

std::string_view trim(std::string_view s) {
  constexpr std::string_view space = " \t\r\n\v\f";
  const auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) {
    return {};
  }
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

Expected<std::string> expand_env(std::string_view arg, const Sources& sources) {
  std::string_view name = arg;
  std::optional<std::string_view> fallback;
  if (const auto sep = arg.find(":-"); sep != std::string_view::npos) {
    name = arg.substr(0, sep);
    fallback = arg.substr(sep + 2);
  }
  if (name.empty()) {
    return Error{"${env:...} needs a variable name"};
  }
  std::optional<std::string> value = sources.getenv ? sources.getenv(std::string(name)) : std::nullopt;
  // Like the shell's ${NAME:-default}: an empty variable also takes the default.
  if (value && (!value->empty() || !fallback)) {
    return std::move(*value);
  }
  if (fallback) {
    return std::string(*fallback);
  }
  return Error{"environment variable '" + std::string(name) + "' is not set"};
}

Expected<std::string> expand_file(std::string_view path, const Sources& sources) {
  if (path.empty()) {
    return Error{"${file:...} needs a path"};
  }
  std::optional<std::string> content = sources.read_file ? sources.read_file(std::string(path)) : std::nullopt;
  if (!content) {
    return Error{"cannot read file '" + std::string(path) + "' (from ${file:" + std::string(path) + "})"};
  }
  // Files written by `echo` end with a newline that is never part of a token or URL.
  return std::string(trim(*content));
}

Expected<std::string> expand_cred(std::string_view name, const Sources& sources) {
  if (name.empty()) {
    return Error{"${cred:...} needs a credential name"};
  }
  // A credential is one file directly in the credentials directory; a path would escape it.
  if (name.find('/') != std::string_view::npos || name == "." || name == "..") {
    return Error{"credential name '" + std::string(name) + "' must not contain '/'"};
  }
  if (sources.credentials_dir.empty()) {
    return Error{"credential '" + std::string(name) +
                 "': no credentials directory ($CREDENTIALS_DIRECTORY is not set; use LoadCredential= in the unit)"};
  }
  const std::string path = sources.credentials_dir + "/" + std::string(name);
  std::optional<std::string> content = sources.read_file ? sources.read_file(path) : std::nullopt;
  if (!content) {
    return Error{"credential '" + std::string(name) + "' not found in " + sources.credentials_dir};
  }
  return std::string(trim(*content));
}

}  // namespace

namespace {

/// The sources `${...}` expands; any other `${` is shell syntax and stays as written.
constexpr std::string_view kSources[] = {"env:", "file:", "cred:"};

/// True when a `${` at `pos` starts an expansion (`${env:`, `${file:`, `${cred:`).
bool expands_at(std::string_view text, std::size_t pos) {
  const std::string_view rest = text.substr(pos + 2);
  for (const auto source : kSources) {
    if (rest.substr(0, source.size()) == source) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool has_interpolation(std::string_view text) {
  for (auto pos = text.find("${"); pos != std::string_view::npos; pos = text.find("${", pos + 1)) {
    if (expands_at(text, pos) || (pos > 0 && text[pos - 1] == '$')) {
      return true;
    }
  }
  return false;
}

std::string escape_interpolation(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    // A `${` that interpolate() would act on gets one more `$`: `$${` reads back as `${`.
    if (text.substr(i, 2) == "${" && (expands_at(text, i) || (i > 0 && text[i - 1] == '$'))) {
      out.push_back('$');
    }
    out.push_back(text[i]);
  }
  return out;
}

Expected<std::string> interpolate(std::string_view text, const Sources& sources, std::vector<Resolved>* resolved) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find('$', i);
    if (start == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, start - i));
    if (text.substr(start, 3) == "$${") {
      out.append("${");  // the escape: a literal `${`, never expanded
      i = start + 3;
      continue;
    }
    if (text.substr(start, 2) != "${" || !expands_at(text, start)) {
      // `$HOME`, `${HOME}`, `${1:-x}`: the shell's business, kept as written.
      out.push_back('$');
      i = start + 1;
      continue;
    }
    const auto end = text.find('}', start + 2);
    if (end == std::string_view::npos) {
      return Error{
          "unterminated '${' (expected ${env:NAME}, ${file:/path} or ${cred:NAME}; write $${ for a literal ${)"};
    }
    const std::string_view inner = text.substr(start + 2, end - start - 2);
    const auto colon = inner.find(':');
    const std::string_view source = inner.substr(0, colon);
    const std::string_view arg = inner.substr(colon + 1);
    Expected<std::string> part = Error{};
    if (source == "env") {
      part = expand_env(arg, sources);
    } else if (source == "file") {
      part = expand_file(arg, sources);
    } else {
      part = expand_cred(arg, sources);
    }
    if (!part) {
      return part;
    }
    out.append(*part);
    if (resolved != nullptr) {
      resolved->push_back(Resolved{*part, std::string(text.substr(start, end - start + 1))});
    }
    i = end + 1;
  }
  return out;
}

}  // namespace tend::config
