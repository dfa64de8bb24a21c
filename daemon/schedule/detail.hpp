#pragma once
// Text helpers shared by cron.cpp and schedule.cpp. Internal to the schedule module.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tend::schedule::detail {

/// True for the bytes cron treats as field separators (space, tab, CR, LF, VT, FF).
constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/// Split on runs of whitespace; leading/trailing whitespace yields no empty words.
inline std::vector<std::string_view> split_words(std::string_view text) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) {
      ++i;
    }
    const std::size_t start = i;
    while (i < text.size() && !is_space(text[i])) {
      ++i;
    }
    if (i > start) {
      words.push_back(text.substr(start, i - start));
    }
  }
  return words;
}

/// Lower-case ASCII copy.
inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

/// `text` made safe to embed in an error message: control and non-ASCII bytes as \xNN, at most
/// 40 bytes of input shown. Schedules come from config files and the control socket, so an error
/// must never carry raw terminal escapes or a megabyte of garbage into a log line.
inline std::string printable(std::string_view text) {
  constexpr std::size_t max_shown = 40;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  const std::size_t n = text.size() < max_shown ? text.size() : max_shown;
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4U]);
      out.push_back(hex[c & 0xfU]);
    }
  }
  if (text.size() > max_shown) {
    out += "...";
  }
  return out;
}

}  // namespace tend::schedule::detail
