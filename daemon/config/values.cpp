#include "config/values.hpp"

#include <regex.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "http/url.hpp"
#include "util/env_names.hpp"
#include "util/listen.hpp"

namespace tend::config {
namespace {

bool all_of(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::optional<std::string> check_login(const std::string& name, const std::string& shown, const char* what) {
  // useradd's default NAME_REGEX (plus the trailing '$' of Samba machine accounts); no shell ever sees
  // the name, but garbage here is always a mistake.
  const auto lower_ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'; };
  std::string_view body = name;
  if (!body.empty() && body.back() == '$') {
    body.remove_suffix(1);
  }
  const bool ok = !body.empty() && name.size() <= 32 && ((body[0] >= 'a' && body[0] <= 'z') || body[0] == '_') &&
                  std::all_of(body.begin(), body.end(), lower_ok);
  if (ok) {
    return std::nullopt;
  }
  return std::string("invalid ") + what + " name " + shown + " (expected [a-z_][a-z0-9_-]*, at most 32 characters)";
}

}  // namespace

std::optional<std::string> check_not_empty(const std::string& value, const std::string& /*shown*/) {
  return value.empty() ? std::optional<std::string>("must not be empty") : std::nullopt;
}

std::optional<std::string> check_http_url(const std::string& url, const std::string& /*shown*/) {
  // The parse the transfer uses (http::Url, libcurl's URL API): accepted here = sendable there.
  auto parsed = http::Url::parse(url);
  if (!parsed) {
    return parsed.error();
  }
  return std::nullopt;
}

std::optional<std::string> check_absolute_path(const std::string& path, const std::string& shown) {
  if (path.empty() || path.front() != '/') {
    return "expected an absolute path, got " + shown;
  }
  return std::nullopt;
}

std::optional<std::string> check_user_name(const std::string& name, const std::string& shown) {
  return check_login(name, shown, "user");
}

std::optional<std::string> check_group_name(const std::string& name, const std::string& shown) {
  return check_login(name, shown, "group");
}

std::optional<std::string> check_env_name(const std::string& name, const std::string& shown) {
  const bool ok = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) == 0 &&
                  all_of(name, [](char c) { return is_alnum(c) || c == '_'; });
  if (ok) {
    return std::nullopt;
  }
  return "invalid environment variable name " + shown + " (expected [A-Za-z_][A-Za-z0-9_]*)";
}

std::optional<std::string> check_inherited_env_name(const std::string& name, const std::string& shown) {
  if (auto why = check_env_name(name, shown)) {
    return why;
  }
  if (is_daemon_only_env(name)) {
    return shown + " is systemd's channel to tendd itself and is never passed to a child";
  }
  return std::nullopt;
}

std::optional<std::string> check_header_name(const std::string& name, const std::string& shown) {
  const bool ok = !name.empty() && all_of(name, [](char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
  if (ok) {
    return std::nullopt;
  }
  return "invalid header name " + shown;
}

std::optional<std::string> check_header_value(const std::string& value, const std::string& /*shown*/) {
  if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
    return "header values must not contain line breaks or NUL";
  }
  return std::nullopt;
}

std::optional<std::string> check_listen(const std::string& address, const std::string& /*shown*/) {
  // The daemon binds what parse_listen returns: what passes here is what it will use.
  auto parsed = parse_listen(address);
  // Port 0 (any free port) is for tests of the listener; a configured one is chosen.
  if (parsed ? parsed->second == 0 : parsed.error().starts_with("listen port")) {
    return "listen port must be 1-65535";
  }
  if (!parsed) {
    return parsed.error();
  }
  return std::nullopt;
}

std::optional<std::string> check_json_pointer(const std::string& path, const std::string& shown) {
  if (!path.empty() && path.front() != '/') {
    return "expected a JSON pointer starting with '/' (e.g. /status), got " + shown;
  }
  return std::nullopt;
}

std::optional<std::string> check_regex(const std::string& pattern, const std::string& /*shown*/) {
  // POSIX extended, as the probe engine matches it (regcomp: no recursion a body can overflow).
  if (pattern.size() > 1000) {
    return "regex is too long (at most 1000 characters)";
  }
  regex_t re;
  int rc = ::regcomp(&re, pattern.c_str(), REG_EXTENDED | REG_NOSUB);
  if (rc != 0) {
    char buf[256];
    ::regerror(rc, &re, buf, sizeof buf);
    return std::string("invalid regex (POSIX extended): ") + buf;
  }
  ::regfree(&re);
  return std::nullopt;
}

}  // namespace tend::config
