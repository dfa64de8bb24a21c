#pragma once
// Internal: the pure parts of the curl client (request checks, failure text, URL redaction,
// certificate dates), apart so the unit tests reach cases a loopback server cannot produce.

#include <curl/curl.h>

#include <optional>
#include <string>
#include <string_view>

#include "http/client.hpp"
#include "http/url.hpp"
#include "util/expected.hpp"
#include "util/time.hpp"

namespace tend::http::detail {

/// The parsed URL of `req`, or why it cannot be sent ("invalid request: header X-A"). Upper-cases
/// the method in place ("get" → "GET").
Expected<Url> check_request(Request& req);

/// The failure kind of a transfer that ended with `code` (never Failure::none).
Failure classify(CURLcode code);

/// The one-line error of a transfer that ended with `code`; `error_buffer` is curl's
/// CURLOPT_ERRORBUFFER. Never contains the URL's userinfo or query.
std::string describe(CURLcode code, std::string_view error_buffer, const Request& req);

/// "scheme://host[:port]" of `url`, without userinfo, path or query; "" when it does not parse.
std::string origin_of(const std::string& url);

/// `text` on one line (at most 300 characters) with `url` and its secrets scrubbed (Url::scrub).
std::string redact(std::string text, const std::string& url);

/// A certificate date as OpenSSL prints it ("Jan  1 00:00:00 2027 GMT"), as curl's CERTINFO
/// "Expire date" carries it.
std::optional<WallTime> parse_cert_time(std::string_view text);

}  // namespace tend::http::detail
