// URLs (config values, redirect targets): tend's one URL type, and what it may show of a URL.
// Properties: no crash; an error never echoes the input; redact_url shows the origin; a password
// worth hiding never survives scrub(); and what tend accepts, libcurl's parser (CURLU, which reads
// the URL again for every https transfer) accepts with the same parts.

#include "http/url.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <strings.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string>
#include <string_view>

namespace {

void check(bool ok) {
  if (!ok) {
    std::abort();
  }
}

/// One part as libcurl's parser has it ("" when it has none).
std::string curl_part(CURLU* u, CURLUPart which) {
  char* value = nullptr;
  std::string out;
  if (curl_url_get(u, which, &value, 0) == CURLUE_OK && value != nullptr) {
    out = value;
  }
  curl_free(value);
  return out;
}

/// One host: names without regard to case, IPv6 addresses by value (libcurl keeps some spellings
/// as written, "[::9:1]", where tend writes inet_ntop's "[::0.9.0.1]").
bool same_host(const std::string& a, const std::string& b) {
  if (a.starts_with('[') && b.starts_with('[')) {
    in6_addr x{};
    in6_addr y{};
    return inet_pton(AF_INET6, a.substr(1, a.size() - 2).c_str(), &x) == 1 &&
           inet_pton(AF_INET6, b.substr(1, b.size() - 2).c_str(), &y) == 1 && std::memcmp(&x, &y, sizeof x) == 0;
  }
  return strcasecmp(a.c_str(), b.c_str()) == 0;
}

/// tend's parse of an accepted URL against libcurl's: libcurl accepts it, and every part a
/// transfer or a message uses is the same. Returns the password as libcurl reads it.
std::string same_as_curl(const std::string& text, const tend::http::Url& url) {
  CURLU* u = curl_url();
  check(u != nullptr);
  const CURLUcode rc = curl_url_set(u, CURLUPART_URL, text.c_str(), 0);
  const std::string query = curl_part(u, CURLUPART_QUERY);
  const std::string ours[] = {url.scheme(), url.host(), url.port() ? std::to_string(*url.port()) : std::string(),
                              url.target()};
  const std::string theirs[] = {curl_part(u, CURLUPART_SCHEME), curl_part(u, CURLUPART_HOST),
                                curl_part(u, CURLUPART_PORT),
                                curl_part(u, CURLUPART_PATH) + (query.empty() ? "" : "?" + query)};
  for (std::size_t i = 0; i < std::size(ours); ++i) {
    const bool same = i == 1 ? same_host(ours[i], theirs[i]) : ours[i] == theirs[i];
    if (rc != CURLUE_OK || !same) {
      std::fprintf(stderr, "tend and libcurl read [%s] apart: curl says %s; part %zu: [%s] vs [%s]\n", text.c_str(),
                   curl_url_strerror(rc), i, ours[i].c_str(), theirs[i].c_str());
      std::abort();
    }
  }
  std::string password = curl_part(u, CURLUPART_PASSWORD);
  curl_url_cleanup(u);
  return password;
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
  const std::string password = same_as_curl(text, *url);
  if (password.size() >= 4 && password.find('*') == std::string::npos &&
      ("POST " + origin + " failed: " + origin).find(password) == std::string::npos) {
    check(scrubbed.find(password) == std::string::npos);
  }
  tend::http::Url copy = *url;
  copy = *url;
  check(copy.origin() == origin);
  return 0;
}
