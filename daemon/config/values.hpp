#pragma once
// Checks for the string values config accepts: URLs, paths, user/unit/app names, listen addresses,
// HTTP statuses. Each returns nullopt when the value is fine, else a message; a message never
// echoes a URL or header (they may hold tokens).

#include <optional>
#include <string>
#include <string_view>

#include "config/model.hpp"
#include "util/expected.hpp"

namespace tend::config {

/// Any non-empty string.
std::optional<std::string> check_not_empty(const std::string& value, const std::string& shown);
/// http:// or https:// with a host, no whitespace.
std::optional<std::string> check_http_url(const std::string& url, const std::string& shown);
/// Starts with '/'.
std::optional<std::string> check_absolute_path(const std::string& path, const std::string& shown);
/// A login name: [a-z_][a-z0-9_-]*[$]?, at most 32 characters.
std::optional<std::string> check_user_name(const std::string& name, const std::string& shown);
/// A group name, same rule as user names.
std::optional<std::string> check_group_name(const std::string& name, const std::string& shown);
/// An environment variable name: [A-Za-z_][A-Za-z0-9_]*.
std::optional<std::string> check_env_name(const std::string& name, const std::string& shown);
/// An `env_inherit` name: a valid name, and not one of systemd's channels to the daemon.
std::optional<std::string> check_inherited_env_name(const std::string& name, const std::string& shown);
/// An HTTP header name (RFC 9110 token).
std::optional<std::string> check_header_name(const std::string& name, const std::string& shown);
/// A header value without line breaks (no header injection).
std::optional<std::string> check_header_value(const std::string& value, const std::string& shown);
/// HOST:PORT, port 1-65535; IPv6 hosts in brackets.
std::optional<std::string> check_listen(const std::string& address, const std::string& shown);
/// A JSON pointer: empty or starting with '/'.
std::optional<std::string> check_json_pointer(const std::string& path, const std::string& shown);
/// Compiles as a POSIX extended regex (regcomp), as the probe engine matches it.
std::optional<std::string> check_regex(const std::string& pattern, const std::string& shown);

}  // namespace tend::config
