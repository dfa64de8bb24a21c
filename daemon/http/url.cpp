#include "http/url.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <vector>

namespace tend::http {
namespace {

void replace_all(std::string& text, const std::string& from, std::string_view to) {
  if (from.empty()) {
    return;
  }
  for (std::size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

}  // namespace

void Url::Deleter::operator()(CURLU* u) const { curl_url_cleanup(u); }

Expected<Url> Url::parse(std::string_view text) {
  if (!text.starts_with("http://") && !text.starts_with("https://")) {
    return Error{"url must start with http:// or https://"};
  }
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return Error{"url must not contain spaces or control characters"};
  }
  const std::string s(text);
  std::unique_ptr<CURLU, Deleter> u(curl_url());
  if (!u) {
    return Error{"url: out of memory"};
  }
  // The same flags the transfer relies on: no guessing of schemes, no rewriting of what was given.
  const CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, s.c_str(), 0);
  switch (rc) {
    case CURLUE_OK:
      break;
    case CURLUE_BAD_PORT_NUMBER:
      return Error{"url port must be a number from 1 to 65535"};
    case CURLUE_NO_HOST:
    case CURLUE_BAD_HOSTNAME:
      return Error{rc == CURLUE_NO_HOST ? "url has no host" : "url has an invalid host"};
    default:
      return Error{std::string("url is not valid (") + curl_url_strerror(rc) + ")"};
  }
  Url url(s, u.release());
  if (url.host().empty()) {
    return Error{"url has no host"};
  }
  if (auto p = url.port(); p && (*p < 1 || *p > 65535)) {
    return Error{"url port must be a number from 1 to 65535"};
  }
  return url;
}

Url::Url(const Url& other) : text_(other.text_), handle_(curl_url_dup(other.handle_.get())) {}

Url& Url::operator=(const Url& other) {
  if (this != &other) {
    text_ = other.text_;
    handle_.reset(curl_url_dup(other.handle_.get()));
  }
  return *this;
}

Url::~Url() = default;

std::string Url::part(int which) const {
  char* value = nullptr;
  if (!handle_ || curl_url_get(handle_.get(), static_cast<CURLUPart>(which), &value, 0) != CURLUE_OK ||
      value == nullptr) {
    return {};
  }
  std::string out(value);
  curl_free(value);
  return out;
}

std::string Url::scheme() const { return part(CURLUPART_SCHEME); }
std::string Url::host() const { return part(CURLUPART_HOST); }

std::optional<int> Url::port() const {
  const std::string p = part(CURLUPART_PORT);  // only when the URL names one
  if (p.empty()) {
    return std::nullopt;
  }
  try {
    return std::stoi(p);
  } catch (const std::exception&) {
    return 0;
  }
}

std::string Url::target() const {
  const std::string path = part(CURLUPART_PATH);
  const std::string query = part(CURLUPART_QUERY);
  if (query.empty()) {
    return path.empty() ? std::string("/") : path;
  }
  return (path.empty() ? std::string("/") : path) + "?" + query;
}

std::string Url::origin() const {
  const auto p = part(CURLUPART_PORT);
  return scheme() + "://" + host() + (p.empty() ? "" : ":" + p);
}

std::string Url::scrub(std::string text) const {
  // Errors come from curl and from receivers' replies; servers echo what they got ("Cannot POST
  // /hook/TOKEN", "invalid token TOKEN"): neither the userinfo, the path, the query nor the
  // fragment may survive, whole or in pieces. Short pieces stay: replacing a one-letter password
  // would mangle the whole message and protect nothing.
  replace_all(text, text_, origin());
  const std::string user = part(CURLUPART_USER);
  const std::string password = part(CURLUPART_PASSWORD);
  const std::string path = part(CURLUPART_PATH);
  const std::string query = part(CURLUPART_QUERY);
  const std::string fragment = part(CURLUPART_FRAGMENT);
  if (!user.empty()) {
    replace_all(text, user + ":" + password + "@", "");
    replace_all(text, user + "@", "");
  }
  if (!query.empty()) {
    replace_all(text, "?" + query, "?***");
  }
  if (!fragment.empty()) {
    replace_all(text, "#" + fragment, "#***");
  }
  if (path.size() > 4) {
    replace_all(text, path, "/***");
  }
  std::vector<std::string> secrets;  // replaced longest first
  auto pieces = [&secrets](const std::string& s, std::string_view separators, std::size_t min) {
    for (std::size_t b = 0; b < s.size();) {
      const auto e = std::min(s.find_first_of(separators, b), s.size());
      if (e - b >= min) {
        secrets.push_back(s.substr(b, e - b));
      }
      b = e + 1;
    }
  };
  if (password.size() >= 4) {
    secrets.push_back(password);
  }
  pieces(user, ":", 6);
  pieces(path, "/;", 6);
  pieces(query, "&", 4);                                // each "name=value" whole...
  for (std::size_t start = 0; start < query.size();) {  // ...and each value on its own
    const std::size_t end = std::min(query.find('&', start), query.size());
    const std::size_t eq = query.find('=', start);
    if (eq != std::string::npos && eq < end && end - eq - 1 >= 4) {
      secrets.push_back(query.substr(eq + 1, end - eq - 1));
    }
    start = end + 1;
  }
  pieces(fragment, "&=", 6);
  std::sort(secrets.begin(), secrets.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
  for (const std::string& secret : secrets) {
    replace_all(text, secret, "***");
  }
  return text;
}

std::string redact_url(const std::string& url) {
  auto u = Url::parse(url);
  return u ? u->origin() : std::string("(redacted)");
}

}  // namespace tend::http
