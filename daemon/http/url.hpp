#pragma once
// One URL type for config validation, redaction and transfers alike: a URL config accepts is one
// every transport accepts (libcurl's parser included: fuzz/url.cpp holds the two side by side), and
// what a message may show of it (scheme://host[:port]) is computed from the same parse. Parsing
// needs no library, so a config of plain-http probes never loads libcurl (http/curl_api.hpp).

#include <optional>
#include <string>
#include <string_view>

#include "util/expected.hpp"

namespace tend::http {

class Url {
 public:
  /// Parse an absolute http:// or https:// URL with a host. Errors read like "url has no host"
  /// and never echo the URL (it may hold a token).
  static Expected<Url> parse(std::string_view text);

  /// The URL as given.
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] const std::string& scheme() const { return scheme_; }
  /// The host as a transfer addresses it: an IPv4 address in dotted form (as libcurl writes
  /// "127.1"), an IPv6 address in brackets.
  [[nodiscard]] const std::string& host() const { return host_; }
  /// The port when the URL names one.
  [[nodiscard]] std::optional<int> port() const { return port_; }
  /// What an HTTP request line carries: the path ("/" when none, dot segments removed) and
  /// "?query" when there is one.
  [[nodiscard]] std::string target() const;
  /// "scheme://host[:port]": all of the URL that logs, status and alerts may show.
  [[nodiscard]] std::string origin() const;
  /// `text` with this URL's secrets (userinfo, path, query, fragment, each query value) replaced.
  [[nodiscard]] std::string scrub(std::string text) const;

 private:
  Url() = default;

  std::string text_;
  std::string scheme_;
  std::string user_;
  std::string password_;
  std::string host_;
  std::optional<int> port_;
  std::string path_;
  std::string query_;
  std::string fragment_;
};

/// "scheme://host[:port]" of `url`, or "(redacted)" when it is not a URL we accept.
std::string redact_url(const std::string& url);

}  // namespace tend::http
