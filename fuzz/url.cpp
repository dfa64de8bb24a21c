// URLs (config values, redirect targets): tend's one URL type over libcurl's parser, and what it
// may show of a URL. Properties: no crash; an error never echoes the input; redact_url shows the
// origin; a password worth hiding never survives scrub().

#include "http/url.hpp"

#include <curl/curl.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

std::string password_of(const tend::http::Url& url) {
  char* value = nullptr;
  std::string out;
  if (curl_url_get(url.handle(), CURLUPART_PASSWORD, &value, 0) == CURLUE_OK && value != nullptr) {
    out = value;
  }
  curl_free(value);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::string redacted = tend::http::redact_url(text);
  auto url = tend::http::Url::parse(text);
  if (!url) {
    check(redacted == "(redacted)");
    // (Only URL-shaped input: other text may be a piece of the fixed messages themselves.)
    const bool url_shaped = text.starts_with("http://") || text.starts_with("https://");
    check(!url_shaped || url.error().find(text) == std::string::npos);
    return 0;
  }
  (void)url->scheme();
  (void)url->host();
  (void)url->port();
  const std::string origin = url->origin();
  check(redacted == origin);
  const std::string scrubbed = url->scrub("POST " + text + " failed: " + text);
  // Only where no shown part (the origin, the words around it, the replacement marks) holds the
  // same letters: then scrub() could not tell them apart, nor need to.
  const std::string password = password_of(*url);
  if (password.size() >= 4 && password.find('*') == std::string::npos &&
      ("POST " + origin + " failed: " + origin).find(password) == std::string::npos) {
    check(scrubbed.find(password) == std::string::npos);
  }
  tend::http::Url copy = *url;
  copy = *url;
  check(copy.origin() == origin);
  return 0;
}
