#include "http/curl_detail.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <memory>
#include <vector>

#include "http/curl_api.hpp"
#include "http/url.hpp"
#include "util/duration.hpp"

namespace tend::http::detail {
namespace {

constexpr std::size_t kMaxErrorLength = 300;

bool is_token_char(char c) {
  // RFC 9110 tchar: what a method or header name may contain; anything else (CR, LF, ':', space)
  // would let a config value smuggle a second header or request line.
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || extra.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char); }

std::string one_line(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxErrorLength));
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    const bool space = u < 0x20 || u == 0x7f || c == ' ';
    if (space) {
      if (!out.empty() && out.back() != ' ') {
        out.push_back(' ');
      }
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && out.back() == ' ') {
    out.pop_back();
  }
  if (out.size() > kMaxErrorLength) {
    out.resize(kMaxErrorLength);
    // Do not leave half a UTF-8 sequence at the cut.
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) {
      out.pop_back();
    }
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80) != 0) {
      out.pop_back();
    }
  }
  return out;
}

std::string_view strip_prefix(std::string_view text, std::string_view prefix) {
  if (text.substr(0, prefix.size()) == prefix) {
    text.remove_prefix(prefix.size());
  }
  return text;
}

bool is_tls_error(CURLcode code) {
  switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
      return true;
    default:
      return false;
  }
}

}  // namespace

Expected<Url> check_request(Request& req) {
  if (req.url.empty()) {
    return Error{"invalid request: no url"};
  }
  // The parse config validation used: a URL it accepted is one the transfer accepts.
  auto url = Url::parse(req.url);
  if (!url) {
    return Error{"invalid request: " + url.error()};
  }
  std::transform(req.method.begin(), req.method.end(), req.method.begin(),
                 [](char c) { return static_cast<char>(std::toupper(static_cast<unsigned char>(c))); });
  if (!is_token(req.method)) {
    return Error{"invalid request: method"};
  }
  if (req.timeout <= std::chrono::milliseconds::zero()) {
    // curl reads a zero timeout as "none": a probe would then wait forever on a hung target.
    return Error{"invalid request: timeout must be positive"};
  }
  for (const auto& [name, value] : req.headers) {
    if (!is_token(name)) {
      return Error{"invalid request: header name"};  // the name itself may be garbage; do not echo it
    }
    if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
      return Error{"invalid request: header " + name};  // never the value: it is often a secret
    }
  }
  return url;
}

Failure classify(CURLcode code) {
  switch (code) {
    case CURLE_OK:
      return Failure::none;
    case CURLE_COULDNT_CONNECT:
      return Failure::connect_refused;
    case CURLE_OPERATION_TIMEDOUT:
      return Failure::timeout;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return Failure::dns;
    case CURLE_TOO_MANY_REDIRECTS:
      return Failure::too_many_redirects;
    default:
      return is_tls_error(code) ? Failure::tls : Failure::other;
  }
}

std::string describe(CURLcode code, std::string_view error_buffer, const Request& req) {
  // curl leaves the buffer empty for some codes; its generic text is better than nothing. (A
  // code comes from a transfer curl made, so libcurl is loaded.)
  const curl::Api* api = curl::library().loaded();
  const std::string generic = api != nullptr ? api->easy_strerror(code) : "curl error " + std::to_string(code);
  const std::string_view curl_text = error_buffer.empty() ? std::string_view(generic) : error_buffer;
  switch (classify(code)) {
    case Failure::none:
      return {};
    case Failure::connect_refused:
      return "connect refused";
    case Failure::timeout:
      return "timeout after " + format_duration(req.timeout);
    case Failure::dns: {
      if (code == CURLE_COULDNT_RESOLVE_PROXY) {
        return "dns: cannot resolve proxy";
      }
      std::string host;
      if (auto u = Url::parse(req.url)) {
        host = u->host();
      }
      return redact("dns: cannot resolve " + (host.empty() ? std::string("host") : host), req.url);
    }
    case Failure::tls: {
      // "SSL certificate problem: certificate has expired" → "tls: certificate has expired".
      std::string_view text = strip_prefix(curl_text, "SSL certificate problem: ");
      text = strip_prefix(text, "SSL: ");
      return redact("tls: " + std::string(text), req.url);
    }
    case Failure::too_many_redirects:
      return "too many redirects (more than 5)";
    case Failure::other:
      break;
  }
  return redact(std::string(curl_text), req.url);
}

std::string origin_of(const std::string& url) {
  auto u = Url::parse(url);
  return u ? u->origin() : std::string();
}

std::string redact(std::string text, const std::string& url) {
  if (auto u = Url::parse(url)) {
    text = u->scrub(std::move(text));
  } else if (!url.empty()) {
    // Not a URL we accept, yet it may still hold a secret: never show it.
    for (std::size_t pos = text.find(url); pos != std::string::npos; pos = text.find(url, pos + 5)) {
      text.replace(pos, url.size(), "(url)");
    }
  }
  return one_line(text);
}

std::optional<WallTime> parse_cert_time(std::string_view text) {
  // ASN1_TIME_print: "%s %2d %02d:%02d:%02d[.frac] %d GMT" → five words.
  std::vector<std::string_view> words;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t start = text.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) {
      break;
    }
    const std::size_t end = std::min(text.find_first_of(" \t", start), text.size());
    words.push_back(text.substr(start, end - start));
    pos = end;
  }
  if (words.size() != 5 || words[4] != "GMT" || words[2].size() < 8) {
    return std::nullopt;
  }
  static constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto month_it = std::find(months.begin(), months.end(), words[0]);
  if (month_it == months.end()) {
    return std::nullopt;
  }
  auto number = [](std::string_view s, int& out) {
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && ptr == s.data() + s.size();
  };
  int day = 0;
  int year = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  const std::string_view hms = words[2];
  if (!number(words[1], day) || !number(words[3], year) || hms[2] != ':' || hms[5] != ':' ||
      !number(hms.substr(0, 2), hour) || !number(hms.substr(3, 2), minute) || !number(hms.substr(6, 2), second)) {
    return std::nullopt;
  }
  if (hms.size() > 8 && hms[8] != '.') {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day date{std::chrono::year{year}, month{static_cast<unsigned>(month_it - months.begin() + 1)},
                            std::chrono::day{static_cast<unsigned>(day)}};
  if (!date.ok() || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  return time_point_cast<WallTime::duration>(sys_days{date} + hours{hour} + minutes{minute} + seconds{second});
}

}  // namespace tend::http::detail
