#include "web/target.hpp"

#include "util/text.hpp"

namespace tend::web {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

Expected<Target> parse_target(std::string_view raw) {
  std::string_view t = raw;
  // Absolute form (RFC 9112 3.2.2), as a proxy-aware client may send: keep the path only.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (t.size() >= scheme.size() && std::equal(scheme.begin(), scheme.end(), t.begin(), [](char a, char b) {
          return a == (b >= 'A' && b <= 'Z' ? static_cast<char>(b - 'A' + 'a') : b);
        })) {
      t.remove_prefix(scheme.size());
      const auto slash = t.find_first_of("/?");
      t = slash == std::string_view::npos ? std::string_view("/") : t.substr(slash);
      if (!t.empty() && t.front() == '?') {
        return Error{"absolute target without a path"};
      }
      break;
    }
  }
  if (t.empty() || t.front() != '/') {
    return Error{"target must start with '/'"};
  }
  Target out;
  if (const auto q = t.find('?'); q != std::string_view::npos) {
    out.query = std::string(t.substr(q + 1));
    t = t.substr(0, q);
  }
  if (const auto f = t.find('#'); f != std::string_view::npos) {
    t = t.substr(0, f);  // a fragment is never sent by browsers; tolerate it from others
  }
  out.path.reserve(t.size());
  for (std::size_t i = 0; i < t.size(); ++i) {
    char c = t[i];
    if (c == '%') {
      const int hi = i + 2 < t.size() ? hex_value(t[i + 1]) : -1;
      const int lo = i + 2 < t.size() ? hex_value(t[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Error{"bad percent escape in path"};
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      return Error{"control character in path"};
    }
    out.path += c;
  }
  if (!is_valid_utf8(out.path)) {
    return Error{"path is not valid UTF-8"};
  }
  // Segments are checked after decoding, so "%2e%2e", ".%2E" and "..%2F" are caught like "..".
  std::string_view p(out.path);
  p.remove_prefix(1);
  while (!p.empty()) {
    const auto slash = p.find('/');
    const auto segment = p.substr(0, slash);
    if (segment == "." || segment == "..") {
      return Error{"'.' and '..' are not allowed in paths"};
    }
    if (slash == std::string_view::npos) {
      break;
    }
    if (segment.empty()) {
      return Error{"empty path segment ('//')"};
    }
    p.remove_prefix(slash + 1);
  }
  return out;
}

std::string encode_segment(std::string_view segment) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(segment.size());
  for (char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 0xF];
    }
  }
  return out;
}

}  // namespace tend::web
