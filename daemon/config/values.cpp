#include "config/values.hpp"

#include <regex.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

namespace tend::config::detail {
namespace {

bool all_of(std::string_view s, bool (*pred)(char)) { return std::all_of(s.begin(), s.end(), pred); }

bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

std::optional<int> to_int(std::string_view s) {
  int n = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return n;
}

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
  std::string_view rest = url;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else {
    return "url must start with http:// or https://";
  }
  if (std::any_of(url.begin(), url.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return "url must not contain spaces or control characters";
  }
  if (rest.empty() || rest.front() == '/' || rest.front() == '?' || rest.front() == '#') {
    return "url has no host";
  }
  // The port, if any: after the last ':' of the host part (not inside an [IPv6] literal).
  std::string_view authority = rest.substr(0, std::min(rest.find_first_of("/?#"), rest.size()));
  if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    const std::string_view port = authority.substr(colon + 1);
    int value = 0;
    const bool digits = !port.empty() && port.size() <= 5 &&
                        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits) {
      for (char c : port) {
        value = value * 10 + (c - '0');
      }
    }
    if (!digits || value < 1 || value > 65535) {
      return "url port must be a number from 1 to 65535";
    }
  }
  return std::nullopt;
}

std::optional<std::string> check_absolute_path(const std::string& path, const std::string& shown) {
  if (path.empty() || path.front() != '/') {
    return "expected an absolute path, got " + shown;
  }
  if (path.find('\0') != std::string::npos) {
    return "path must not contain NUL";
  }
  return std::nullopt;
}

std::optional<std::string> check_user_name(const std::string& name, const std::string& shown) {
  return check_login(name, shown, "user");
}

std::optional<std::string> check_group_name(const std::string& name, const std::string& shown) {
  return check_login(name, shown, "group");
}

std::optional<std::string> check_pm2_name(const std::string& name, const std::string& shown) {
  const bool ok = !name.empty() && name.size() <= 128 && all_of(name, [](char c) {
    return is_alnum(c) || c == '_' || c == '.' || c == '@' || c == ':' || c == '-';
  });
  if (ok) {
    return std::nullopt;
  }
  return "invalid pm2 app name " + shown + " (letters, digits and _ . @ : - only)";
}

std::optional<std::string> check_systemd_unit(const std::string& name, const std::string& shown) {
  const bool chars_ok = !name.empty() && name.size() <= 255 && name.front() != '-' && all_of(name, [](char c) {
    return is_alnum(c) || c == ':' || c == '_' || c == '.' || c == '\\' || c == '@' || c == '-';
  });
  if (!chars_ok) {
    return "invalid systemd unit name " + shown + " (letters, digits and : _ . \\ @ - only)";
  }
  static constexpr std::array<std::string_view, 8> suffixes = {".service", ".socket", ".target", ".timer",
                                                               ".mount",   ".path",   ".slice",  ".scope"};
  for (auto suffix : suffixes) {
    if (name.size() > suffix.size() && name.ends_with(suffix)) {
      return std::nullopt;
    }
  }
  return "systemd unit " + shown + " needs a unit suffix (e.g. .service, .socket, .target, .timer)";
}

std::optional<std::string> check_env_name(const std::string& name, const std::string& shown) {
  const bool ok = !name.empty() && std::isdigit(static_cast<unsigned char>(name[0])) == 0 &&
                  all_of(name, [](char c) { return is_alnum(c) || c == '_'; });
  if (ok) {
    return std::nullopt;
  }
  return "invalid environment variable name " + shown + " (expected [A-Za-z_][A-Za-z0-9_]*)";
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
  const auto colon = address.rfind(':');
  const std::string message = "listen must be HOST:PORT (e.g. 127.0.0.1:9717 or [::1]:9717)";
  if (colon == std::string::npos || colon == 0) {
    return message;
  }
  const std::string_view host = std::string_view(address).substr(0, colon);
  const auto port = to_int(std::string_view(address).substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) {
    return "listen port must be 1-65535";
  }
  // An unbracketed IPv6 address has colons in the host part.
  const bool bracketed = host.front() == '[' && host.back() == ']' && host.size() > 2;
  if (!bracketed && host.find_first_of(":[] ") != std::string_view::npos) {
    return message;
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

Expected<StatusRange> parse_status(std::string_view text) {
  const Error error{"expected a status code 100-599 or a class like 2xx, got '" + std::string(text) + "'"};
  const auto in_range = [](int n) { return n >= 100 && n <= 599; };
  if (text.size() == 3 && (text.substr(1) == "xx" || text.substr(1) == "XX") && text[0] >= '1' && text[0] <= '5') {
    const int low = (text[0] - '0') * 100;
    return StatusRange{low, low + 99};
  }
  if (const auto dash = text.find('-'); dash != std::string_view::npos) {
    const auto low = to_int(text.substr(0, dash));
    const auto high = to_int(text.substr(dash + 1));
    if (!low || !high || !in_range(*low) || !in_range(*high) || *low > *high) {
      return error;
    }
    return StatusRange{*low, *high};
  }
  const auto code = to_int(text);
  if (!code || !in_range(*code)) {
    return error;
  }
  return StatusRange{*code, *code};
}

}  // namespace tend::config::detail
