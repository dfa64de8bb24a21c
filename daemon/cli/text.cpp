#include "cli/text.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

namespace tend::cli {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
constexpr std::string_view kEllipsis = "\xE2\x80\xA6";     // U+2026

struct Decoded {
  char32_t code = 0;
  std::size_t length = 0;  // bytes taken; 0 = invalid byte at this position
};

/// One UTF-8 sequence at the start of `s`; strict (no overlongs, surrogates, or > U+10FFFF).
Decoded decode(std::string_view s) {
  const auto c = static_cast<unsigned char>(s[0]);
  if (c < 0x80) {
    return {c, 1};
  }
  std::size_t len = 0;
  char32_t code = 0;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    code = c & 0x1FU;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    code = c & 0x0FU;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    code = c & 0x07U;
  } else {
    return {};
  }
  if (s.size() < len) {
    return {};
  }
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[k]);
    if ((b & 0xC0U) != 0x80U) {
      return {};
    }
    code = (code << 6U) | (b & 0x3FU);
  }
  if ((len == 3 && (code < 0x800 || (code >= 0xD800 && code <= 0xDFFF))) ||
      (len == 4 && (code < 0x10000 || code > 0x10FFFF))) {
    return {};
  }
  return {code, len};
}

/// Code points a terminal acts on instead of showing: C0, DEL, C1, and the bidi controls that can
/// reorder what is shown (the "Trojan Source" set).
bool is_control(char32_t c) {
  return c < 0x20 || (c >= 0x7F && c <= 0x9F) || (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) ||
         c == 0x200E || c == 0x200F || c == 0x061C;
}

std::string escaped(char32_t c) {
  switch (c) {
    case '\n':
      return "\\n";
    case '\t':
      return "\\t";
    case '\r':
      return "\\r";
    default:
      break;
  }
  char buf[16];
  if (c < 0x100) {
    std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
  } else {
    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
  }
  return buf;
}

/// Columns of one printable code point (a compact wcwidth: no locale needed, same everywhere).
std::size_t width_of(char32_t c) {
  if ((c >= 0x300 && c <= 0x36F) || (c >= 0x200B && c <= 0x200D) || (c >= 0xFE00 && c <= 0xFE0F) ||
      (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x20D0 && c <= 0x20FF)) {
    return 0;  // combining marks, zero-width joiners, variation selectors
  }
  if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
      (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
      (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
      (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
      (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD)) {
    return 2;
  }
  return 1;
}

}  // namespace

std::string printable(std::string_view text, Keep keep) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const Decoded d = decode(text.substr(i));
    if (d.length == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    const bool kept_line_end = keep == Keep::line_ends &&
                               (d.code == '\n' || d.code == '\t' || (d.code == '\r' && text.substr(i + 1, 1) == "\n"));
    if (is_control(d.code) && !kept_line_end) {
      out.append(escaped(d.code));
    } else {
      out.append(text.substr(i, d.length));
    }
    i += d.length;
  }
  return out;
}

std::size_t display_width(std::string_view text) {
  std::size_t width = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const Decoded d = decode(text.substr(i));
    width += d.length == 0 ? 1 : (is_control(d.code) ? 0 : width_of(d.code));
    i += d.length == 0 ? 1 : d.length;
  }
  return width;
}

std::string fit_width(std::string_view text, std::size_t width) {
  if (display_width(text) <= width) {
    return std::string(text);
  }
  if (width == 0) {
    return "";
  }
  std::string out;
  std::size_t used = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    const Decoded d = decode(text.substr(i));
    const std::size_t len = d.length == 0 ? 1 : d.length;
    const std::size_t w = d.length == 0 ? 1 : width_of(d.code);
    if (used + w > width - 1) {
      break;  // one column stays for the ellipsis
    }
    out.append(text.substr(i, len));
    used += w;
    i += len;
  }
  return out.append(kEllipsis);
}

std::string pad(std::string_view text, std::size_t width) {
  std::string out(text);
  const std::size_t w = display_width(text);
  if (w < width) {
    out.append(width - w, ' ');
  }
  return out;
}

std::string paint(std::string_view text, Color color, bool enabled) {
  if (!enabled || color == Color::none || text.empty()) {
    return std::string(text);
  }
  const char* code = "";
  switch (color) {
    case Color::red:
      code = "31";
      break;
    case Color::green:
      code = "32";
      break;
    case Color::yellow:
      code = "33";
      break;
    case Color::blue:
      code = "34";
      break;
    case Color::magenta:
      code = "35";
      break;
    case Color::cyan:
      code = "36";
      break;
    case Color::grey:
      code = "2";
      break;
    case Color::bold:
      code = "1";
      break;
    case Color::none:
      break;
  }
  return std::string("\033[") + code + "m" + std::string(text) + "\033[0m";
}

std::string relative_time(std::chrono::system_clock::time_point t, std::chrono::system_clock::time_point now) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  const auto delta = duration_cast<seconds>(t - now).count();
  const long long magnitude = delta < 0 ? -delta : delta;
  if (magnitude < 1) {
    return "now";
  }
  std::string amount;
  if (magnitude < 60) {
    amount = std::to_string(magnitude) + "s";
  } else if (magnitude < 3600) {
    amount = std::to_string(magnitude / 60) + "m";
  } else if (magnitude < 86400) {
    amount = std::to_string(magnitude / 3600) + "h";
  } else {
    amount = std::to_string(magnitude / 86400) + "d";
  }
  return delta < 0 ? amount + " ago" : "in " + amount;
}

bool use_color(int fd) {
  if (::isatty(fd) == 0) {
    return false;
  }
  if (const char* no = std::getenv("NO_COLOR"); no != nullptr && *no != '\0') {
    return false;
  }
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

std::size_t terminal_width(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    return ws.ws_col;
  }
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(columns, &end, 10);
    if (end != columns && *end == '\0' && n >= 20 && n <= 1000) {
      return static_cast<std::size_t>(n);
    }
  }
  return 80;
}

}  // namespace tend::cli
