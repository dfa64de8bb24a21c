#pragma once
// One URL type, parsed by libcurl's URL API (CURLU), for config validation, redaction and
// transfers alike: a URL config accepts is exactly one the transport accepts, and what a message
// may show of it (scheme://host[:port]) is computed from the same parse.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/expected.hpp"

using CURLU = struct Curl_URL;

namespace tend::http {

class Url {
 public:
  /// Parse an absolute http:// or https:// URL with a host. Errors read like "url has no host"
  /// and never echo the URL (it may hold a token).
  static Expected<Url> parse(std::string_view text);

  Url(const Url& other);
  Url& operator=(const Url& other);
  Url(Url&&) noexcept = default;
  Url& operator=(Url&&) noexcept = default;
  ~Url();

  /// The URL as given.
  [[nodiscard]] const std::string& text() const { return text_; }
  [[nodiscard]] std::string scheme() const;
  [[nodiscard]] std::string host() const;
  /// The port when the URL names one.
  [[nodiscard]] std::optional<int> port() const;
  /// What an HTTP request line carries: the path ("/" when none) and "?query" when there is one.
  [[nodiscard]] std::string target() const;
  /// "scheme://host[:port]": all of the URL that logs, status and alerts may show.
  [[nodiscard]] std::string origin() const;
  /// `text` with this URL's secrets (userinfo, path, query, fragment, each query value) replaced.
  [[nodiscard]] std::string scrub(std::string text) const;
  /// The parsed handle, for CURLOPT_CURLU (owned by this Url).
  [[nodiscard]] CURLU* handle() const { return handle_.get(); }

 private:
  struct Deleter {
    void operator()(CURLU* u) const;
  };
  Url(std::string text, CURLU* handle) : text_(std::move(text)), handle_(handle) {}
  [[nodiscard]] std::string part(int which) const;

  std::string text_;
  std::unique_ptr<CURLU, Deleter> handle_;
};

/// "scheme://host[:port]" of `url`, or "(redacted)" when it is not a URL we accept.
std::string redact_url(const std::string& url);

}  // namespace tend::http
