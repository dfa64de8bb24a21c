#include "http/url.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <charconv>
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

// Every byte libcurl refuses in a host name (its hostname_check), and '%': curl would decode it,
// tend refuses it (no host needs one).
constexpr std::string_view kBadHostBytes = " \r\n\t/:#?!@{}[]\\$'\"^`*<>=;,+&()%";

/// RFC 3986, 5.2.4 (as libcurl does to every path): "/a/./b/../c" -> "/a/c".
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./") || in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../") || in == "/..") {
      in = in == "/.." ? std::string_view("/") : in.substr(3);
      const auto slash = out.rfind('/');
      out.erase(slash == std::string::npos ? 0 : slash);
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const auto next = in.find('/', 1);
      const auto n = next == std::string_view::npos ? in.size() : next;
      out.append(in.substr(0, n));
      in.remove_prefix(n);
    }
  }
  return out;
}

/// The host of an authority ("[v6]" or a name or an IPv4 address in any form inet_aton reads, as
/// libcurl reads them), or why not.
Expected<std::string> parse_host(std::string_view host) {
  if (host.empty()) {
    return Error{"url has no host"};
  }
  if (host.front() == '[') {
    const std::string inside(host.substr(1, host.size() - 2));
    in6_addr v6{};
    if (host.back() != ']' || inet_pton(AF_INET6, inside.c_str(), &v6) != 1) {
      return Error{"url has an invalid host"};
    }
    std::array<char, INET6_ADDRSTRLEN> text{};  // one spelling per address: [::0] is [::]
    inet_ntop(AF_INET6, &v6, text.data(), text.size());
    return "[" + std::string(text.data()) + "]";
  }
  if (host.find_first_of(kBadHostBytes) != std::string_view::npos) {
    return Error{"url has an invalid host"};
  }
  const std::string name(host);
  in_addr v4{};
  if (name.find_first_not_of("0123456789abcdefABCDEFxX.") == std::string::npos && inet_aton(name.c_str(), &v4) != 0) {
    std::array<char, INET_ADDRSTRLEN> dotted{};
    inet_ntop(AF_INET, &v4, dotted.data(), dotted.size());
    return std::string(dotted.data());
  }
  return name;
}

}  // namespace

Expected<Url> Url::parse(std::string_view text) {
  Url url;
  if (text.starts_with("http://")) {
    url.scheme_ = "http";
  } else if (text.starts_with("https://")) {
    url.scheme_ = "https";
  } else {
    return Error{"url must start with http:// or https://"};
  }
  if (std::any_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; })) {
    return Error{"url must not contain spaces or control characters"};
  }
  url.text_ = std::string(text);
  std::string_view rest = text.substr(url.scheme_.size() + 3);
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  std::string_view authority = rest.substr(0, authority_end);
  rest.remove_prefix(authority_end);
  if (const auto at = authority.find('@'); at != std::string_view::npos) {  // the first, as libcurl
    const std::string_view userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    url.user_ = std::string(userinfo.substr(0, colon));
    url.password_ = colon == std::string_view::npos ? std::string() : std::string(userinfo.substr(colon + 1));
    authority.remove_prefix(at + 1);
  }
  std::size_t host_end = authority.find(':');
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) {
      return Error{"url has an invalid host"};
    }
    host_end = close + 1;
    if (host_end < authority.size() && authority[host_end] != ':') {
      return Error{"url has an invalid host"};
    }
  }
  host_end = std::min(host_end, authority.size());
  auto host = parse_host(authority.substr(0, host_end));
  if (!host) {
    return Error{host.error()};
  }
  url.host_ = std::move(*host);
  if (host_end < authority.size()) {
    const std::string_view digits = authority.substr(host_end + 1);  // "h:" names no port
    if (!digits.empty()) {
      int port = 0;
      const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
      if (ec != std::errc() || end != digits.data() + digits.size() || digits.front() == '+' || port < 1 ||
          port > 65535) {
        return Error{"url port must be a number from 1 to 65535"};
      }
      url.port_ = port;
    }
  }
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) {
    url.fragment_ = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
  }
  if (const auto question = rest.find('?'); question != std::string_view::npos) {
    url.query_ = std::string(rest.substr(question + 1));
    rest = rest.substr(0, question);
  }
  url.path_ = rest.empty() ? std::string("/") : remove_dot_segments(rest);
  if (url.path_.empty()) {
    url.path_ = "/";
  }
  return url;
}

std::string Url::target() const { return query_.empty() ? path_ : path_ + "?" + query_; }

std::string Url::origin() const {
  return scheme_ + "://" + host_ + (port_ ? ":" + std::to_string(*port_) : std::string());
}

std::string Url::scrub(std::string text) const {
  // Errors come from curl and from receivers' replies; servers echo what they got ("Cannot POST
  // /hook/TOKEN", "invalid token TOKEN"): neither the userinfo, the path, the query nor the
  // fragment may survive, whole or in pieces. Short pieces stay: replacing a one-letter password
  // would mangle the whole message and protect nothing.
  replace_all(text, text_, origin());
  const std::string& user = user_;
  const std::string& password = password_;
  const std::string& path = path_;
  const std::string& query = query_;
  const std::string& fragment = fragment_;
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
